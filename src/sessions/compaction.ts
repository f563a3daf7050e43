import { firstHolding } from '../common/binary-search.js';
import { SessionContextTooLongError } from '../errors.js';
import { fitContext, minimumOutputTokens, templateAllowance } from '../router/context-fit.js';
import { estimatePromptTokens } from '../router/route-request.js';
import { promptMessage, type CanonicalMessage, type CanonicalRequest, type ImagePart } from '../wire/canonical.js';
import type { DroppedTurn, SessionMessage } from './types.js';

/** The router's prompt estimate (`estimatePromptTokens`): tokenizer count plus 10 %. Injectable for tests. */
export type PromptEstimate = (request: CanonicalRequest) => Promise<number>;

/** A stored message as much as a request needs of it: its images are optional (a text-only message has none). */
export type ConversationMessage = Pick<SessionMessage, 'role' | 'text'> & Partial<Pick<SessionMessage, 'images'>>;

const NO_IMAGES: ReadonlyMap<string, Uint8Array> = new Map();

/**
 * The session's messages as canonical messages, in order: a user message's images inline before
 * its text, as `run --image` sends them (`promptMessage`), their bytes from `imageBytes` (by digest).
 */
export function canonicalMessages(messages: readonly ConversationMessage[], imageBytes: ReadonlyMap<string, Uint8Array> = NO_IMAGES): CanonicalMessage[] {
  return messages.map((message) => {
    const images = (message.images ?? []).map((image): ImagePart => {
      const bytes = imageBytes.get(image.sha256);
      // Proven context always carries the bytes of the images it lists (src/sessions/chain.ts).
      if (bytes === undefined) throw new Error(`the bytes of image ${image.sha256} were not read with the conversation`);
      return { type: 'image', mediaType: image.mediaType, data: Buffer.from(bytes).toString('base64') };
    });
    return message.role === 'user' ? promptMessage(message.text, images) : { role: message.role, content: [{ type: 'text', text: message.text }] };
  });
}

/** The conversation as a request (system prompt and messages, images included), to measure and route it as the router will. */
export function conversationRequest(
  systemPrompt: string | null,
  messages: readonly ConversationMessage[],
  model = 'auto',
  imageBytes: ReadonlyMap<string, Uint8Array> = NO_IMAGES,
): CanonicalRequest {
  return { model, ...(systemPrompt === null ? {} : { system: systemPrompt }), messages: canonicalMessages(messages, imageBytes), stream: false };
}

export interface Compaction {
  /** The messages left in the context, in order. */
  kept: SessionMessage[];
  /** The turns dropped, oldest first (empty when the conversation fits as it is). */
  dropped: DroppedTurn[];
  /** The estimate of what is kept, and the room it leaves for an answer in the window. */
  promptTokens: number;
  room: number;
}

/**
 * Fits a conversation into `contextWindow` without calling any model: drops the fewest oldest
 * turns that leave what is left — system prompt included — passing the router's own context check
 * (`fitContext` with the chat-template allowance and no requested output: room for at least the
 * minimum answer, or the `room` asked for when more). The system prompt and the newest turn are
 * never dropped; when they alone do not fit, throws `SessionContextTooLongError`. The result is
 * the longest suffix of turns that fits, found by binary search: O(log n) estimates of the conversation.
 */
export async function compactForWindow(options: {
  systemPrompt: string | null;
  /** The messages in the context, in order (`sessionMessages(..., { inContext: true })`). */
  messages: readonly SessionMessage[];
  contextWindow: number;
  /** What the error names as the target, e.g. `ollama:llama3.2:1b`. */
  target: string;
  /** The bytes of the messages' images by digest: each image counts as the router counts a request's. */
  imageBytes?: ReadonlyMap<string, Uint8Array>;
  /**
   * The room (tokens) the kept conversation must leave in the window, when more than the minimum
   * answer: for the next prompt as well (`provider switch --room`, which a `run --session` refused
   * as too long names). The newest turn is still never dropped for it.
   */
  room?: number;
  estimate?: PromptEstimate;
}): Promise<Compaction> {
  const estimate = options.estimate ?? ((request: CanonicalRequest) => estimatePromptTokens(request));
  const turns = groupByTurn(options.messages);
  const minimumOutput = minimumOutputTokens(options.contextWindow, undefined);
  const roomNeeded = Math.max(minimumOutput, options.room ?? 0);
  // With no turn yet only the system prompt has to fit.
  const lastDroppable = Math.max(0, turns.length - 1);
  // Fit is monotone in the number of turns dropped (fewer turns, fewer tokens and less template),
  // so the smallest drop count that fits is found by binary search: O(log n) estimates of the
  // conversation instead of one per dropped turn. Each measurement is kept for the decision below
  // (its numbers, not its request: no encoded copy of the conversation outlives its estimate).
  const measured = new Map<number, { promptTokens: number; allowance: number; room: number }>();
  const measure = async (dropCount: number): Promise<{ promptTokens: number; allowance: number; room: number }> => {
    const known = measured.get(dropCount);
    if (known !== undefined) return known;
    const request = conversationRequest(options.systemPrompt, turns.slice(dropCount).flat(), 'auto', options.imageBytes);
    const promptTokens = await estimate(request);
    const allowance = templateAllowance(request);
    const measurement = { promptTokens, allowance, room: fitContext(options.contextWindow, promptTokens, allowance, undefined).room };
    measured.set(dropCount, measurement);
    return measurement;
  };
  const dropCount = await firstHolding(lastDroppable + 1, async (count) => (await measure(count)).room >= roomNeeded);
  if (dropCount <= lastDroppable) {
    const { promptTokens, room } = await measure(dropCount);
    return { kept: turns.slice(dropCount).flat(), dropped: turns.slice(0, dropCount).map(droppedTurn), promptTokens, room };
  }
  const { promptTokens, allowance } = await measure(lastDroppable);
  const what = turns.length === 0 ? 'the system prompt' : options.systemPrompt === null ? 'the newest turn' : 'the system prompt and the newest turn';
  const wanted = roomNeeded > minimumOutput ? `the room asked for (${roomNeeded} tokens)` : `room for an answer (${minimumOutput} tokens)`;
  throw new SessionContextTooLongError(
    `${options.target}'s context window (${options.contextWindow} tokens) cannot hold ${what} (${promptTokens} tokens estimated, plus ${allowance} for the chat template) with ${wanted}`,
    {
      hint: 'switch to a model with a larger context window (see `syndicate provider list`), or start a new session with `syndicate session start`',
      details: { contextWindow: options.contextWindow, promptTokens, allowance, minimumOutput, ...(options.room === undefined ? {} : { room: options.room }) },
    },
  );
}

/**
 * Drops every turn with an image (`reason: 'images'`) for a model that takes no image input: sent
 * to it, each later turn would be refused. The turns without images are kept, in order.
 */
export function dropImageTurns(messages: readonly SessionMessage[]): { kept: SessionMessage[]; dropped: DroppedTurn[] } {
  const turns = groupByTurn(messages);
  const withImages = (turn: readonly SessionMessage[]): boolean => turn.some((message) => message.images.length > 0);
  return {
    kept: turns.filter((turn) => !withImages(turn)).flat(),
    dropped: turns.filter(withImages).map((turn) => ({ ...droppedTurn(turn), reason: 'images' as const })),
  };
}

function groupByTurn(messages: readonly SessionMessage[]): SessionMessage[][] {
  const turns: SessionMessage[][] = [];
  for (const message of messages) {
    const current = turns.at(-1);
    if (current !== undefined && current[0]?.turn === message.turn) current.push(message);
    else turns.push([message]);
  }
  return turns;
}

const EXCERPT_CHARACTERS = 60;

function droppedTurn(messages: readonly SessionMessage[]): DroppedTurn {
  const user = messages.find((message) => message.role === 'user') ?? messages[0];
  const text = (user?.text ?? '').replace(/\s+/g, ' ').trim();
  return {
    turn: messages[0]?.turn ?? 0,
    seqs: messages.map((message) => message.seq),
    excerpt: text.length > EXCERPT_CHARACTERS ? `${text.slice(0, EXCERPT_CHARACTERS - 1)}…` : text,
  };
}
