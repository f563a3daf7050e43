import { counted } from '../common/counted.js';
import type { CanonicalMessage, CanonicalRequest, ContentPart } from '../wire/canonical.js';
import { inlineImageParts } from './image-bytes.js';

/** A piece of a request the detectors scan, named by where it sits in the request. */
export type RequestPart =
  /**
   * `joins`: the text is adjacent text parts joined, meeting at these offsets; only what spans a
   * join is reported (each part is scanned on its own too).
   */
  | { kind: 'text'; location: string; text: string; joins?: number[] }
  | { kind: 'image'; location: string; description: string }
  /** Something the classifier cannot read: it fails closed on it. */
  | { kind: 'unscannable'; location: string; description: string };

/**
 * Every part of a request that carries content or any other string the client controls that
 * leaves with it: the system prompt, every message's content parts (tool results, replayed
 * reasoning with its signature and replayed encrypted reasoning's data included; an inline
 * image's media type and the text among its bytes, its bytes failing closed when they are no
 * image), the tool calls' ids, names and arguments, the tool definitions (name, description,
 * JSON schema, a custom tool's own declaration), the tool a choice forces, the thinking setting,
 * the response schema and its name, the stop sequences, the Anthropic beta names, an embeddings
 * request's input and a text completion's prompt and suffix.
 */
export function requestParts(request: CanonicalRequest): RequestPart[] {
  const parts: RequestPart[] = [];
  if (typeof request.system === 'string' && request.system.length > 0) parts.push({ kind: 'text', location: 'system', text: request.system });
  request.messages.forEach((message, messageIndex) => {
    const base = `messages[${messageIndex}]`;
    const suffix = message.role === 'tool' ? ' (tool result)' : '';
    if (message.role === 'tool') parts.push({ kind: 'text', location: `${base}.toolCallId`, text: String(message.toolCallId) });
    const content: unknown = message.content;
    if (typeof content === 'string') {
      parts.push({ kind: 'text', location: `${base}.content${suffix}`, text: content });
    } else if (Array.isArray(content)) {
      content.forEach((part: ContentPart, partIndex) => {
        const location = `${base}.content[${partIndex}]${suffix}`;
        parts.push(contentPart(part, location));
        // Opaque strings the client controls leave with the request too: scanned like the rest.
        if (part.type === 'reasoning' && typeof part.signature === 'string') parts.push({ kind: 'text', location: `${location}.signature`, text: part.signature });
        // A signed image URL can carry a credential of its own.
        if (part.type === 'image' && typeof part.url === 'string') parts.push({ kind: 'text', location: `${location}.url`, text: part.url });
        // An inline image's media type and any text among its bytes leave with it too.
        if (part.type === 'image' && typeof part.data === 'string') parts.push(...inlineImageParts({ ...part, data: part.data }, location));
      });
    } else if (content !== undefined && content !== null) {
      parts.push({ kind: 'unscannable', location: `${base}.content`, description: `content of type ${typeof content}` });
    }
    if (message.role === 'assistant' && message.toolCalls !== undefined) {
      message.toolCalls.forEach((call, callIndex) => {
        parts.push({ kind: 'text', location: `${base}.toolCalls[${callIndex}].id`, text: String(call.id) });
        parts.push({ kind: 'text', location: `${base}.toolCalls[${callIndex}].name`, text: String(call.name) });
        parts.push({ kind: 'text', location: `${base}.toolCalls[${callIndex}].arguments`, text: String(call.arguments) });
      });
    }
  });
  parts.push(...joinedTextRuns(request.messages));
  request.tools?.forEach((tool, toolIndex) => {
    const base = `tools[${toolIndex}]`;
    parts.push({ kind: 'text', location: `${base}.name`, text: String(tool.name) });
    if (tool.description !== undefined) parts.push({ kind: 'text', location: `${base}.description`, text: String(tool.description) });
    if (tool.inputSchema !== undefined) parts.push({ kind: 'text', location: `${base}.inputSchema`, text: JSON.stringify(tool.inputSchema) });
    // A custom tool as its client declared it goes to OpenAI's own API in place of the description above.
    const declaration = tool.freeformDeclaration;
    if (declaration?.description !== undefined) parts.push({ kind: 'text', location: `${base}.freeformDeclaration.description`, text: String(declaration.description) });
    if (declaration?.format?.type === 'grammar') parts.push({ kind: 'text', location: `${base}.freeformDeclaration.format`, text: `${declaration.format.syntax ?? ''}\n${declaration.format.definition}` });
  });
  // The tool a choice forces leaves by name: every face checks it names a declared tool (scanned
  // above), but the classifier does not count on that.
  if (typeof request.toolChoice === 'object') parts.push({ kind: 'text', location: 'toolChoice.name', text: String(request.toolChoice.name) });
  // The client's thinking setting goes to the anthropic wire as given: scanned as the JSON it is sent as.
  if (request.thinking !== undefined) parts.push({ kind: 'text', location: 'thinking', text: JSON.stringify(request.thinking) });
  if (request.responseFormat?.type === 'json_schema') {
    if (request.responseFormat.name !== undefined) parts.push({ kind: 'text', location: 'responseFormat.name', text: String(request.responseFormat.name) });
    parts.push({ kind: 'text', location: 'responseFormat.schema', text: JSON.stringify(request.responseFormat.schema) });
  }
  request.stop?.forEach((stop, stopIndex) => parts.push({ kind: 'text', location: `stop[${stopIndex}]`, text: String(stop) }));
  // Beta names leave as a request header, verbatim: a token the client made up is scanned too.
  if (request.anthropicBeta !== undefined && request.anthropicBeta.length > 0) parts.push({ kind: 'text', location: 'anthropicBeta', text: request.anthropicBeta.join(',') });
  parts.push(...embeddingParts(request));
  // A text completion's prompt and fill-in-the-middle suffix: both data (code around the cursor).
  if (request.completion !== undefined) {
    parts.push({ kind: 'text', location: 'prompt', text: request.completion.prompt });
    if (request.completion.suffix !== undefined) parts.push({ kind: 'text', location: 'suffix', text: request.completion.suffix });
  }
  return parts;
}

/**
 * Each run of two or more adjacent text parts, joined: the model reads them one after the other,
 * so a key, card number or connection string split between two parts (`AKIAIOSF` +
 * `ODNN7EXAMPLE`) is one value to it, and to the detectors that scan the join. A run goes on into
 * the next message when both are the user's or both the assistant's (the anthropic wire sends
 * consecutive turns of one role as one message); a tool call, an image or any other part ends it,
 * and a tool result's or system message's parts are joined only among themselves.
 */
function joinedTextRuns(messages: readonly CanonicalMessage[]): RequestPart[] {
  const joined: RequestPart[] = [];
  /** `part`: the index in the message's content array (undefined: the content is one string). */
  let run: { message: number; part?: number; text: string }[] = [];
  const locationOf = ({ message, part }: { message: number; part?: number }): string => `messages[${message}].content${part === undefined ? '' : `[${part}]`}`;
  let runRole: string | undefined;
  const close = (): void => {
    const first = run[0];
    const last = run.at(-1);
    if (first !== undefined && last !== undefined && run.length >= 2) {
      const joins: number[] = [];
      let offset = 0;
      for (const { text } of run.slice(0, -1)) joins.push((offset += text.length));
      const suffix = messages[first.message]?.role === 'tool' ? ' (tool result)' : '';
      const location = first.message === last.message ? `messages[${first.message}].content[${String(first.part)}..${String(last.part)}]` : `${locationOf(first)}..${locationOf(last)}`;
      joined.push({ kind: 'text', location: `${location} (joined)${suffix}`, text: run.map(({ text }) => text).join(''), joins });
    }
    run = [];
  };
  messages.forEach((message, messageIndex) => {
    const joinable = message.role === 'user' || message.role === 'assistant';
    if (!joinable || message.role !== runRole) close();
    runRole = joinable ? message.role : undefined;
    const content: unknown = message.content;
    if (typeof content === 'string') run.push({ message: messageIndex, text: content });
    else if (Array.isArray(content)) {
      content.forEach((part: { type?: unknown; text?: unknown }, partIndex) => {
        if (part.type === 'text' && typeof part.text === 'string') run.push({ message: messageIndex, part: partIndex, text: part.text });
        else close();
      });
    } else close();
    if (!joinable || (message.role === 'assistant' && (message.toolCalls?.length ?? 0) > 0)) close();
  });
  close();
  return joined;
}

/**
 * How much of each side of the boundary between two embeddings inputs is scanned joined: far more
 * than any value a detector reads is long.
 */
const INPUT_JOIN_CONTEXT = 512;

/**
 * An embeddings request's input: each text as a part, and each two adjacent texts joined at their
 * boundary (the end of one, the start of the next): a RAG tool's chunker cuts a document where its
 * size says, not between values, and a key or card number cut between two chunks of one request
 * reaches the provider whole, in one body. Token ids are one part no detector can read (the
 * model's tokenizer, not ours, gives them a meaning), so the request fails closed.
 */
function embeddingParts(request: CanonicalRequest): RequestPart[] {
  const input = request.embedding?.input;
  if (input === undefined) return [];
  if (input.kind === 'texts') {
    const parts: RequestPart[] = input.texts.map((text, index) => ({ kind: 'text', location: `input[${index}]`, text }));
    for (let index = 1; index < input.texts.length; index += 1) {
      const before = (input.texts[index - 1] as string).slice(-INPUT_JOIN_CONTEXT);
      const after = (input.texts[index] as string).slice(0, INPUT_JOIN_CONTEXT);
      parts.push({ kind: 'text', location: `input[${index - 1}..${index}] (joined)`, text: before + after, joins: [before.length] });
    }
    return parts;
  }
  const count = input.tokens.reduce((total, tokens) => total + tokens.length, 0);
  return [{ kind: 'unscannable', location: 'input', description: `token ids (${count} in ${counted(input.tokens.length, 'input')}; only the model's tokenizer can read them)` }];
}

function contentPart(part: ContentPart, location: string): RequestPart {
  const untyped = part as { type?: unknown; text?: unknown };
  if (untyped.type === 'text' && typeof untyped.text === 'string') return { kind: 'text', location, text: untyped.text };
  // Replayed reasoning is conversation content like any other: scanned before it can leave.
  if (part.type === 'reasoning' && typeof part.text === 'string') return { kind: 'text', location: `${location} (reasoning)`, text: part.text };
  // Encrypted reasoning is opaque to us, but its data is a string the client sent: scanned as given.
  if (part.type === 'redacted-reasoning' && typeof part.data === 'string') return { kind: 'text', location: `${location} (redacted reasoning)`, text: part.data };
  if (part.type === 'image') {
    const media = part.mediaType ?? 'unknown type';
    const source = part.data !== undefined ? `inline, ${Math.round((part.data.length * 3) / 4 / 1024)} KB` : part.url !== undefined ? 'by URL' : 'no data';
    return { kind: 'image', location, description: `${media}, ${source}` };
  }
  return { kind: 'unscannable', location, description: `content part of type '${String(untyped.type)}'` };
}
