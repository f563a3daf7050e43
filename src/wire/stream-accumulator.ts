import type { CanonicalResponse, FinishReason, StreamPart, ToolCall, Usage } from './canonical.js';
import { mergeUsage } from './server-common.js';

interface PendingToolCall {
  id?: string;
  name?: string;
  argumentsText: string;
}

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
  private reasoningSignature = '';
  private readonly toolCalls = new Map<number, PendingToolCall>();
  private readonly usage: Partial<Usage> = {};
  private finishReason: FinishReason | undefined;
  private rawFinishReason: string | null = null;
  private readonly observations = new Set<string>();
  private endSeen = false;
  private failure: StreamFailure | undefined;

  add(part: StreamPart): void {
    switch (part.type) {
      case 'response-metadata':
        if (this.id === '' && part.id !== undefined) this.id = part.id;
        if (this.model === '' && part.model !== undefined) this.model = part.model;
        return;
      case 'text-delta':
        this.textChunks.push(part.text);
        return;
      case 'reasoning-delta':
        this.reasoningChunks.push(part.text);
        return;
      case 'reasoning-signature':
        this.reasoningSignature += part.signature;
        return;
      case 'tool-call-delta': {
        const pending = this.toolCalls.get(part.index) ?? { argumentsText: '' };
        if (part.id !== undefined && pending.id === undefined) pending.id = part.id;
        if (part.name !== undefined && part.name !== '' && pending.name === undefined) pending.name = part.name;
        pending.argumentsText += part.argumentsDelta;
        this.toolCalls.set(part.index, pending);
        for (const observation of part.observations ?? []) this.observations.add(observation);
        return;
      }
      case 'usage':
        mergeUsage(this.usage, part.usage);
        return;
      case 'finish':
        this.finishReason = part.finishReason;
        this.rawFinishReason = part.rawFinishReason;
        return;
      case 'stream-end':
        this.endSeen = true;
        return;
      case 'error':
        this.failure = { message: part.message, ...(part.errorType === undefined ? {} : { errorType: part.errorType }) };
        return;
    }
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

  /** The response as far as it was received; `finishReason` is `other` when none arrived. */
  toResponse(): CanonicalResponse {
    const toolCalls: ToolCall[] = [...this.toolCalls.entries()]
      .sort(([left], [right]) => left - right)
      .map(([, pending], position) => ({
        id: pending.id ?? `call_${position}`,
        name: pending.name ?? '',
        arguments: pending.argumentsText.trim() === '' ? '{}' : pending.argumentsText,
      }));
    const usage =
      this.usage.inputTokens !== undefined && this.usage.outputTokens !== undefined ? (this.usage as Usage) : undefined;
    return {
      id: this.id,
      model: this.model,
      text: this.text,
      ...(this.reasoningChunks.length === 0 ? {} : { reasoning: this.reasoningChunks.join('') }),
      ...(this.reasoningSignature === '' ? {} : { reasoningSignature: this.reasoningSignature }),
      toolCalls,
      finishReason: this.finishReason ?? (this.failure === undefined ? 'other' : 'error'),
      rawFinishReason: this.rawFinishReason,
      ...(usage === undefined ? {} : { usage: { ...usage } }),
      ...(this.observations.size === 0 ? {} : { observations: [...this.observations] }),
    };
  }
}
