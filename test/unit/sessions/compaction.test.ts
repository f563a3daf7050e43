import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../src/engines/test-model.js';
import { SessionContextTooLongError } from '../../../src/errors.js';
import { fitContext, minimumOutputTokens, templateAllowance } from '../../../src/router/context-fit.js';
import { compactForWindow, conversationRequest, type PromptEstimate } from '../../../src/sessions/compaction.js';
import type { SessionMessage } from '../../../src/sessions/types.js';
import type { CanonicalRequest } from '../../../src/wire/canonical.js';

/** One token per character of text, as in sessions.test.ts. */
const characterEstimate: PromptEstimate = async (request: CanonicalRequest) =>
  (request.system?.length ?? 0) + request.messages.reduce((sum, message) => sum + message.content.reduce((part, item) => part + (item.type === 'text' ? item.text.length : 0), 0), 0);

function conversation(random: () => number, turns: number): SessionMessage[] {
  const messages: SessionMessage[] = [];
  for (let turn = 1; turn <= turns; turn += 1) {
    // A turn without its answer now and then varies how messages group into turns.
    const roles: ('user' | 'assistant')[] = random() < 0.1 ? ['user'] : ['user', 'assistant'];
    for (const role of roles) {
      messages.push({
        seq: messages.length + 1, turn, role, text: `${role} ${turn} `.padEnd(1 + Math.floor(random() * 400), 'x'), images: [], sensitivity: null,
        providerId: null, model: null, evidenceId: null, createdAt: '2026-01-01T00:00:00.000Z', droppedBySwitch: null,
      });
    }
  }
  return messages;
}

/** The search compaction made before: drop the oldest turn, one at a time, until the rest fits. */
async function linearDropCount(systemPrompt: string | null, messages: readonly SessionMessage[], contextWindow: number, room: number): Promise<number | 'refused'> {
  const turns = [...new Set(messages.map((message) => message.turn))];
  const roomNeeded = Math.max(minimumOutputTokens(contextWindow, undefined), room);
  for (let dropCount = 0; dropCount <= Math.max(0, turns.length - 1); dropCount += 1) {
    const request = conversationRequest(systemPrompt, messages.filter((message) => message.turn > (turns[dropCount - 1] ?? 0)));
    if (fitContext(contextWindow, await characterEstimate(request), templateAllowance(request), undefined).room >= roomNeeded) return dropCount;
  }
  return 'refused';
}

describe('compactForWindow', () => {
  it('drops exactly the turns the one-at-a-time search dropped, with O(log n) estimates of the conversation', async () => {
    const random = mulberry32(22);
    let compared = 0;
    for (let sample = 0; sample < 120; sample += 1) {
      const turns = Math.floor(random() * 300);
      const messages = conversation(random, turns);
      const systemPrompt = random() < 0.3 ? null : 's'.repeat(Math.floor(random() * 600));
      const contextWindow = 500 + Math.floor(random() * 40_000);
      const room = random() < 0.5 ? 0 : Math.floor(random() * 4_000);
      let estimates = 0;
      const counted: PromptEstimate = async (request) => {
        estimates += 1;
        return characterEstimate(request);
      };
      const expected = await linearDropCount(systemPrompt, messages, contextWindow, room);
      const result = await compactForWindow({ systemPrompt, messages, contextWindow, target: 't', room, estimate: counted }).catch((error: unknown) => error);
      if (expected === 'refused') {
        expect(result).toBeInstanceOf(SessionContextTooLongError);
      } else {
        expect(result).not.toBeInstanceOf(Error);
        const compaction = result as Awaited<ReturnType<typeof compactForWindow>>;
        expect(compaction.dropped).toHaveLength(expected);
        const firstKeptTurn = compaction.kept[0]?.turn;
        expect(compaction.kept).toEqual(messages.filter((message) => firstKeptTurn !== undefined && message.turn >= firstKeptTurn));
        expect(compaction.kept.length + compaction.dropped.reduce((sum, turn) => sum + turn.seqs.length, 0)).toBe(messages.length);
        compared += expected > 0 ? 1 : 0;
      }
      // One estimate per halving of the candidate drop counts (0 … turns − 1).
      expect(estimates).toBeLessThanOrEqual(Math.ceil(Math.log2(Math.max(1, turns) + 1)));
    }
    // The samples did exercise compaction, not only conversations that fit or are refused.
    expect(compared).toBeGreaterThan(20);
  });

  it('a 2 000-turn conversation that must drop most of its turns costs at most 11 estimates', async () => {
    const messages = conversation(mulberry32(7), 2_000);
    let estimates = 0;
    const result = await compactForWindow({
      systemPrompt: null, messages, contextWindow: 8_000, target: 't',
      estimate: async (request) => {
        estimates += 1;
        return characterEstimate(request);
      },
    });
    expect(result.dropped.length).toBe(await linearDropCount(null, messages, 8_000, 0));
    expect(result.dropped.length).toBeGreaterThan(1_900);
    expect(estimates).toBeLessThanOrEqual(11);
  });
});
