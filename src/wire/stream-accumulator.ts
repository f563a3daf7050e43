import { appendLogprobs, type CanonicalResponse, type FinishReason, type JsonObject, type ReasoningPart, type RedactedReasoningPart, type StreamPart, type TextPart, type ToolCall, type Usage } from './canonical.js';
import { customCallArguments } from './openai/custom-tools.js';
import { mergeUsage } from './server-common.js';

interface PendingToolCall {
  id?: string;
  name?: string;
  argumentsText: string;
  /** The text is a custom call's raw input (see the `freeform` of a tool-call delta), not JSON. */
  freeform?: true;
}

/**
 * Where a block of the answer began, in arrival order: text and reasoning at an offset in their
 * chunks, a tool call by its index, a redacted reasoning block whole. Kept so that an answer with
 * several reasoning blocks or a redacted one can give them in order, each with its own signature
 * (`CanonicalResponse.parts`).
 */
type Segment =
  | { type: 'text'; from: number }
  | { type: 'reasoning'; from: number; signature: string; signed: boolean }
  | { type: 'redacted'; data: string }
  | { type: 'tool'; index: number };

/** Why a stream ended without a usable answer, as the last `error` part said. */
export interface StreamFailure {
  message: string;
  errorType?: string;
}

/**
 * Reassembles decoded stream parts into the response they add up to: text and reasoning in order, tool
 * calls by index (arguments concatenated, empty arguments read as `{}`), cumulative usage,
 * the finish reason and the observations. Used by the invoker for streams and by the
 * contract suite to check that decoding a whole stream loses nothing.
 */
export class StreamAccumulator {
  private id = '';
  private model = '';
  private readonly textChunks: string[] = [];
  private readonly reasoningChunks: string[] = [];
  private readonly refusalChunks: string[] = [];
  private reasoningSignature = '';
  private readonly segments: Segment[] = [];
  private reasoningBlocks = 0;
  private redactedBlocks = 0;
  private readonly toolCalls = new Map<number, PendingToolCall>();
  private readonly usage: Partial<Usage> = {};
  private finishReason: FinishReason | undefined;
  private rawFinishReason: string | null = null;
  private stopSequence: string | undefined;
  private engineLoadMs: number | undefined;
  private readonly observations = new Set<string>();
  private endSeen = false;
  private failure: StreamFailure | undefined;
  private logprobs: JsonObject | undefined;

  add(part: StreamPart): void {
    switch (part.type) {
      case 'response-metadata':
        if (this.id === '' && part.id !== undefined) this.id = part.id;
        if (this.model === '' && part.model !== undefined) this.model = part.model;
        return;
      case 'text-delta':
        if (this.segments[this.segments.length - 1]?.type !== 'text') this.segments.push({ type: 'text', from: this.textChunks.length });
        this.textChunks.push(part.text);
        return;
      case 'reasoning-delta':
        this.openReasoning();
        this.reasoningChunks.push(part.text);
        return;
      case 'refusal-delta':
        this.refusalChunks.push(part.text);
        return;
      case 'reasoning-signature': {
        // A signature ends its reasoning block: reasoning after it is another block.
        const segment = this.openReasoning();
        segment.signature += part.signature;
        segment.signed = true;
        this.reasoningSignature += part.signature;
        return;
      }
      case 'redacted-reasoning':
        this.segments.push({ type: 'redacted', data: part.data });
        this.redactedBlocks += 1;
        return;
      case 'tool-call-delta': {
        if (!this.toolCalls.has(part.index)) this.segments.push({ type: 'tool', index: part.index });
        const pending = this.toolCalls.get(part.index) ?? { argumentsText: '' };
        if (part.id !== undefined && pending.id === undefined) pending.id = part.id;
        if (part.name !== undefined && part.name !== '' && pending.name === undefined) pending.name = part.name;
        pending.argumentsText += part.argumentsDelta;
        if (part.freeform === true) pending.freeform = true;
        this.toolCalls.set(part.index, pending);
        for (const observation of part.observations ?? []) this.observations.add(observation);
        return;
      }
      case 'logprobs':
        this.logprobs ??= {};
        appendLogprobs(this.logprobs, part.logprobs);
        return;
      case 'usage':
        mergeUsage(this.usage, part.usage);
        return;
      case 'finish':
        this.finishReason = part.finishReason;
        this.rawFinishReason = part.rawFinishReason;
        this.stopSequence = part.stopSequence;
        this.engineLoadMs = part.engineLoadMs;
        return;
      case 'stream-end':
        this.endSeen = true;
        return;
      case 'error':
        this.failure = { message: part.message, ...(part.errorType === undefined ? {} : { errorType: part.errorType }) };
        return;
    }
  }

  /** The reasoning block still open (not yet signed), or a new one. */
  private openReasoning(): Extract<Segment, { type: 'reasoning' }> {
    const last = this.segments[this.segments.length - 1];
    if (last?.type === 'reasoning' && !last.signed) return last;
    const segment: Extract<Segment, { type: 'reasoning' }> = { type: 'reasoning', from: this.reasoningChunks.length, signature: '', signed: false };
    this.segments.push(segment);
    this.reasoningBlocks += 1;
    return segment;
  }

  addAll(parts: Iterable<StreamPart>): this {
    for (const part of parts) this.add(part);
    return this;
  }

  /** True once the wire's terminal marker (`[DONE]`, `message_stop`) was seen. */
  get ended(): boolean {
    return this.endSeen;
  }

  /** True once a finish reason arrived: the model said its answer is over, whatever follows. */
  get finished(): boolean {
    return this.finishReason !== undefined;
  }

  /** The in-stream error, when the upstream reported one. */
  get error(): StreamFailure | undefined {
    return this.failure;
  }

  /** The text received so far. */
  get text(): string {
    return this.textChunks.join('');
  }

  /** The usage the upstream reported so far, however partial (Anthropic's `message_start` counts only the input). */
  get reportedUsage(): Partial<Usage> {
    return { ...this.usage };
  }

  /** The response as far as it was received; `finishReason` is `other` when none arrived. */
  toResponse(): CanonicalResponse {
    const ordered = this.reasoningBlocks > 1 || this.redactedBlocks > 0 ? this.orderedParts() : undefined;
    const toolCalls: ToolCall[] = [...this.toolCalls.entries()]
      .sort(([left], [right]) => left - right)
      .map(([index, pending], position) => ({
        id: pending.id ?? `call_${position}`,
        name: pending.name ?? '',
        arguments: pending.freeform === true ? customCallArguments(pending.argumentsText) : pending.argumentsText.trim() === '' ? '{}' : pending.argumentsText,
        ...(ordered === undefined ? {} : { position: ordered.positions.get(index) ?? ordered.parts.length }),
      }));
    const usage =
      this.usage.inputTokens !== undefined && this.usage.outputTokens !== undefined ? (this.usage as Usage) : undefined;
    return {
      id: this.id,
      model: this.model,
      text: this.text,
      ...(this.reasoningChunks.length === 0 ? {} : { reasoning: this.reasoningChunks.join('') }),
      ...(this.refusalChunks.length === 0 ? {} : { refusal: this.refusalChunks.join('') }),
      ...(ordered !== undefined ? { parts: ordered.parts } : this.reasoningSignature === '' ? {} : { reasoningSignature: this.reasoningSignature }),
      toolCalls,
      finishReason: this.finishReason ?? (this.failure === undefined ? 'other' : 'error'),
      rawFinishReason: this.rawFinishReason,
      ...(this.stopSequence === undefined ? {} : { stopSequence: this.stopSequence }),
      ...(this.engineLoadMs === undefined ? {} : { engineLoadMs: this.engineLoadMs }),
      ...(usage === undefined ? {} : { usage: { ...usage } }),
      ...(this.observations.size === 0 ? {} : { observations: [...this.observations] }),
      ...(this.logprobs === undefined ? {} : { logprobs: this.logprobs }),
    };
  }

  /** The text and reasoning blocks in arrival order, and how many came before each tool call (by its index). */
  private orderedParts(): { parts: Array<TextPart | ReasoningPart | RedactedReasoningPart>; positions: Map<number, number> } {
    const parts: Array<TextPart | ReasoningPart | RedactedReasoningPart> = [];
    const positions = new Map<number, number>();
    this.segments.forEach((segment, at) => {
      if (segment.type === 'tool') {
        positions.set(segment.index, parts.length);
        return;
      }
      if (segment.type === 'redacted') {
        parts.push({ type: 'redacted-reasoning', data: segment.data });
        return;
      }
      const next = this.segments.slice(at + 1).find((later) => later.type === segment.type) as { from: number } | undefined;
      if (segment.type === 'text') {
        const text = this.textChunks.slice(segment.from, next?.from).join('');
        if (text !== '') parts.push({ type: 'text', text });
        return;
      }
      const text = this.reasoningChunks.slice(segment.from, next?.from).join('');
      parts.push({ type: 'reasoning', text, ...(segment.signature === '' ? {} : { signature: segment.signature }) });
    });
    return { parts, positions };
  }
}
