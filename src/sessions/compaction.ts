import { SessionContextTooLongError } from '../errors.js';
import { fitContext, templateAllowance } from '../router/context-fit.js';
import { estimatePromptTokens } from '../router/route-request.js';
import type { CanonicalMessage, CanonicalRequest } from '../wire/canonical.js';
import type { DroppedTurn, SessionMessage } from './types.js';

/** The router's prompt estimate (`estimatePromptTokens`): tokenizer count plus 10 %. Injectable for tests. */
export type PromptEstimate = (request: CanonicalRequest) => Promise<number>;

/** The session's messages as canonical messages, in order. */
export function canonicalMessages(messages: readonly Pick<SessionMessage, 'role' | 'text'>[]): CanonicalMessage[] {
  return messages.map((message) => ({ role: message.role, content: [{ type: 'text', text: message.text }] }));
}

/** The conversation as a request (system prompt and messages), to measure it as the router will. */
export function conversationRequest(systemPrompt: string | null, messages: readonly Pick<SessionMessage, 'role' | 'text'>[], model = 'auto'): CanonicalRequest {
  return { model, ...(systemPrompt === null ? {} : { system: systemPrompt }), messages: canonicalMessages(messages), stream: false };
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
 * Fits a conversation into `contextWindow` without calling any model: drops the oldest turns, one
 * at a time, until what is left — system prompt included — passes the router's own context check
 * (`fitContext` with the chat-template allowance and no requested output: room for at least the
 * minimum answer). The system prompt and the newest turn are never dropped; when they alone do
 * not fit, throws `SessionContextTooLongError`. The result is the longest suffix of turns that fits.
 */
export async function compactForWindow(options: {
  systemPrompt: string | null;
  /** The messages in the context, in order (`sessionMessages(..., { inContext: true })`). */
  messages: readonly SessionMessage[];
  contextWindow: number;
  /** What the error names as the target, e.g. `ollama:llama3.2:1b`. */
  target: string;
  estimate?: PromptEstimate;
}): Promise<Compaction> {
  const estimate = options.estimate ?? ((request: CanonicalRequest) => estimatePromptTokens(request));
  const turns = groupByTurn(options.messages);
  // With no turn yet only the system prompt has to fit.
  const lastDroppable = Math.max(0, turns.length - 1);
  for (let dropCount = 0; dropCount <= lastDroppable; dropCount += 1) {
    const kept = turns.slice(dropCount).flat();
    const request = conversationRequest(options.systemPrompt, kept);
    const promptTokens = await estimate(request);
    const fit = fitContext(options.contextWindow, promptTokens, templateAllowance(request), undefined);
    if (fit.kind !== 'too_long') return { kept, dropped: turns.slice(0, dropCount).map(droppedTurn), promptTokens, room: fit.room };
    if (dropCount === lastDroppable) {
      const what = turns.length === 0 ? 'the system prompt' : options.systemPrompt === null ? 'the newest turn' : 'the system prompt and the newest turn';
      throw new SessionContextTooLongError(
        `${options.target}'s context window (${options.contextWindow} tokens) cannot hold ${what} (${promptTokens} tokens estimated, plus ${templateAllowance(request)} for the chat template) with room for an answer (${fit.minimumOutput} tokens)`,
        {
          hint: 'switch to a model with a larger context window (see `syndicate provider list`), or start a new session with `syndicate session start`',
          details: { contextWindow: options.contextWindow, promptTokens, allowance: templateAllowance(request), minimumOutput: fit.minimumOutput },
        },
      );
    }
  }
  // Unreachable: the loop returns or throws on its last pass.
  throw new Error('compaction ended without a decision');
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
