import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode, SessionContextTooLongError, SessionEnvelopeError, SessionNotFoundError, UsageError } from '../../../src/errors.js';
import { defaultPolicy } from '../../../src/policy/defaults.js';
import { registerProviderRecord } from '../../../src/registry/register.js';
import { fitContext, templateAllowance } from '../../../src/router/context-fit.js';
import { estimatePromptTokens } from '../../../src/router/route-request.js';
import {
  appendTurn,
  approveEnvelope,
  checkEnvelope,
  compactForWindow,
  conversationRequest,
  deleteSession,
  highestAllowedCapability,
  provenContext,
  requireSession,
  sessionDetail,
  sessionMessages,
  startSession,
  switchSessionModel,
  type PromptEstimate,
} from '../../../src/sessions/index.js';
import { currentProviders } from '../../../src/registry/provider-cache.js';
import { sessionChainHead } from '../../../src/sessions/chain.js';
import { openStore, type Store } from '../../../src/store/store.js';
import type { CanonicalRequest } from '../../../src/wire/canonical.js';
import { seedCompleted } from '../evidence/seed.js';

/** One token per character of text: makes the arithmetic of a test exact. */
const characterEstimate: PromptEstimate = async (request: CanonicalRequest) =>
  (request.system?.length ?? 0) + request.messages.reduce((sum, message) => sum + message.content.reduce((part, item) => part + (item.type === 'text' ? item.text.length : 0), 0), 0);

async function registerModels(store: Store, id: string, providerClass: string, models: { id: string; contextWindow: number; capabilityClass: string }[]): Promise<void> {
  await registerProviderRecord(
    store,
    { apiVersion: 'syndicate/v1', kind: 'Provider', id, class: providerClass, wire: 'openai', baseUrl: providerClass === 'local' ? 'http://127.0.0.1:9/v1' : 'https://api.example.com/v1', ...(providerClass === 'local' ? {} : { auth: { env: 'EXAMPLE_KEY' } }), models, deviations: [] },
    id,
  );
}

/** `store` with its `transaction` replaced: how a test puts another connection's write between a read and a write lock. */
function withTransaction(store: Store, transaction: (work: () => unknown) => unknown): Store {
  return new Proxy(store, {
    get(target, property) {
      if (property === 'transaction') return transaction;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function turnText(turn: number, role: 'user' | 'assistant', length = 100): string {
  return `${role} ${turn} `.padEnd(length, role === 'user' ? 'u' : 'a');
}

describe('sessions', () => {
  let store: Store;
  const policy = defaultPolicy();

  beforeEach(async () => {
    store = openStore(':memory:');
    await registerModels(store, 'local', 'local', [
      { id: 'wide', contextWindow: 32_768, capabilityClass: 'small' },
      { id: 'narrow', contextWindow: 2_000, capabilityClass: 'small' },
      { id: 'tiny', contextWindow: 1_000, capabilityClass: 'small' },
      { id: 'big', contextWindow: 32_768, capabilityClass: 'large' },
    ]);
  });
  afterEach(() => store.close());

  function sessionWithTurns(turns: number, systemPrompt = 's'.repeat(50)): string {
    const session = startSession(store, policy, { model: 'local:wide', systemPrompt });
    for (let turn = 1; turn <= turns; turn += 1) {
      appendTurn(store, session.id, { prompt: turnText(turn, 'user'), answer: turnText(turn, 'assistant'), providerId: 'local', model: 'wide', evidenceId: `ev_${turn}` });
    }
    return session.id;
  }

  describe('compaction', () => {
    it('drops exactly the oldest turns that keep the rest from fitting, and says which', async () => {
      // Window 2000 leaves room for min(1024, 2000/4) = 500. With k turns of 200 characters and a
      // 50-character system prompt: 50 + 200k prompt + (128 + 8 + 16k) template ≤ 1500 → k ≤ 6.
      const id = sessionWithTurns(10);
      const report = await switchSessionModel(store, policy, id, 'local:narrow', { estimate: characterEstimate });
      expect(report.droppedTurns.map((turn) => turn.turn)).toEqual([1, 2, 3, 4]);
      expect(report.droppedTurns[0]).toEqual({ turn: 1, seqs: [1, 2], excerpt: turnText(1, 'user').slice(0, 59) + '…' });
      expect(report.promptTokens).toBe(50 + 200 * 6);
      expect(report.room).toBe(2000 - (50 + 1200) - (136 + 12 * 8));
      const kept = sessionMessages(store, id, { inContext: true });
      expect(kept.map((message) => message.turn)).toEqual([5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10]);
      // The longest suffix that fits: one more turn would not.
      const oneMore = conversationRequest('s'.repeat(50), sessionMessages(store, id).filter((message) => message.turn >= 4));
      expect(fitContext(2000, await characterEstimate(oneMore), templateAllowance(oneMore), undefined).kind).toBe('too_long');
      // Dropped messages stay in the session, marked with the switch that dropped them.
      const detail = sessionDetail(store, id);
      expect(detail.messages).toHaveLength(20);
      expect(detail.messages.filter((message) => message.droppedBySwitch === detail.switches[0]?.id).map((message) => message.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(detail.systemPrompt).toBe('s'.repeat(50));
      expect(detail.active).toEqual({ kind: 'pinned', providerId: 'local', model: 'narrow' });
    });

    it('keeps everything when the conversation fits', async () => {
      const id = sessionWithTurns(6);
      const report = await switchSessionModel(store, policy, id, 'local:narrow', { estimate: characterEstimate });
      expect(report.droppedTurns).toEqual([]);
      expect(sessionMessages(store, id, { inContext: true })).toHaveLength(12);
    });

    it('never drops the newest turn: a switch it cannot fit is refused and changes nothing', async () => {
      const id = startSession(store, policy, { model: 'local:wide' }).id;
      appendTurn(store, id, { prompt: 'short', answer: 'short', providerId: 'local', model: 'wide', evidenceId: 'ev_1' });
      appendTurn(store, id, { prompt: 'x'.repeat(900), answer: 'y', providerId: 'local', model: 'wide', evidenceId: 'ev_2' });
      const refusal = await switchSessionModel(store, policy, id, 'local:tiny', { estimate: characterEstimate }).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(SessionContextTooLongError);
      expect((refusal as SessionContextTooLongError).exitCode).toBe(ExitCode.usage);
      expect((refusal as SessionContextTooLongError).message).toContain('cannot hold the newest turn');
      expect(requireSession(store, id).active).toEqual({ kind: 'pinned', providerId: 'local', model: 'wide' });
      expect(sessionMessages(store, id, { inContext: true })).toHaveLength(4);
      expect(sessionDetail(store, id).switches).toEqual([]);
    });

    it('with the router estimate, what is kept passes the router context check for the new window', async () => {
      const id = sessionWithTurns(40);
      const report = await switchSessionModel(store, policy, id, 'local:narrow');
      expect(report.droppedTurns.length).toBeGreaterThan(0);
      const kept = conversationRequest(requireSession(store, id).systemPrompt, sessionMessages(store, id, { inContext: true }));
      expect(fitContext(2000, await estimatePromptTokens(kept), templateAllowance(kept), undefined).kind).not.toBe('too_long');
      const keptTurns = new Set(sessionMessages(store, id, { inContext: true }).map((message) => message.turn));
      expect(keptTurns.has(40)).toBe(true);
      expect(report.droppedTurns.map((turn) => turn.turn)).toEqual(Array.from({ length: report.droppedTurns.length }, (_, index) => index + 1));
    });

    it('compacts a conversation without turns to the system prompt alone, or refuses it', async () => {
      await expect(compactForWindow({ systemPrompt: 'x'.repeat(10), messages: [], contextWindow: 1000, target: 't', estimate: characterEstimate })).resolves.toMatchObject({ dropped: [], kept: [] });
      await expect(compactForWindow({ systemPrompt: 'x'.repeat(900), messages: [], contextWindow: 1000, target: 't', estimate: characterEstimate })).rejects.toThrow(/cannot hold the system prompt/);
    });
  });

  describe('capability envelope', () => {
    it('approves the pinned model\'s class at start; a switch above it invalidates it until a checkpoint approves it', async () => {
      const id = sessionWithTurns(1);
      expect(requireSession(store, id).envelope).toEqual({ maxCapability: 'small', state: 'approved' });
      const report = await switchSessionModel(store, policy, id, 'local:big', { estimate: characterEstimate });
      expect(report.invalidatedEnvelope).toBe(true);
      const invalidated = requireSession(store, id);
      expect(invalidated.envelope).toMatchObject({ maxCapability: 'small', state: 'invalidated' });
      const refusal = (() => {
        try {
          checkEnvelope(store, invalidated, policy);
          return undefined;
        } catch (error) {
          return error;
        }
      })();
      expect(refusal).toBeInstanceOf(SessionEnvelopeError);
      expect((refusal as SessionEnvelopeError).exitCode).toBe(ExitCode.refused);
      expect((refusal as SessionEnvelopeError).hint).toBe(`approve the envelope with \`syndicate session approve ${id}\``);

      // Switching back down does not restore it: only a checkpoint does.
      await switchSessionModel(store, policy, id, 'local:wide', { estimate: characterEstimate });
      expect(requireSession(store, id).envelope.state).toBe('invalidated');
      await switchSessionModel(store, policy, id, 'local:big', { estimate: characterEstimate });

      expect(() => approveEnvelope(store, policy, id, 'medium')).toThrow(UsageError);
      expect(requireSession(store, id).envelope.state).toBe('invalidated');
      const approved = approveEnvelope(store, policy, id);
      expect(approved.envelope).toEqual({ maxCapability: 'large', state: 'approved' });
      expect(() => checkEnvelope(store, approved, policy)).not.toThrow();
      expect(sessionDetail(store, id).checkpoints.map((checkpoint) => [checkpoint.maxCapability, checkpoint.reason])).toEqual([
        ['small', 'start'],
        ['large', 'approve'],
      ]);
    });

    it('an approval that another connection\'s switch overtakes before its write lock is refused and writes nothing', async () => {
      const directory = mkdtempSync(join(tmpdir(), 'syndicate-approve-race-'));
      const switcher = openStore(join(directory, 'store.db'));
      const approver = openStore(join(directory, 'store.db'));
      try {
        await registerModels(switcher, 'local', 'local', [
          { id: 'wide', contextWindow: 32_768, capabilityClass: 'small' },
          { id: 'big', contextWindow: 32_768, capabilityClass: 'large' },
        ]);
        const id = startSession(switcher, policy, { model: 'local:wide' }).id;
        // The switch is prepared on one connection and committed just before the approval takes its write lock.
        let pendingSwitch: (() => unknown) | undefined;
        const preparedOnly = withTransaction(switcher, (work) => {
          pendingSwitch = work;
          return undefined;
        });
        await switchSessionModel(preparedOnly, policy, id, 'local:big', { estimate: characterEstimate });
        const overtaken = withTransaction(approver, (work) => {
          if (pendingSwitch !== undefined) switcher.transaction(pendingSwitch);
          return approver.transaction(work);
        });

        const refusal = (() => {
          try {
            approveEnvelope(overtaken, policy, id);
            return undefined;
          } catch (error) {
            return error;
          }
        })();
        expect(refusal).toBeInstanceOf(UsageError);
        expect((refusal as UsageError).message).toBe(`session ${id} was switched meanwhile (from local:wide to local:big): run the command again`);
        // The switch stands, its invalidation unanswered, and the chain proves: nothing stale was checkpointed.
        const after = requireSession(approver, id);
        expect(after).toMatchObject({ active: { kind: 'pinned', providerId: 'local', model: 'big' }, envelope: { maxCapability: 'small', state: 'invalidated' } });
        expect(sessionDetail(approver, id).checkpoints.map((checkpoint) => checkpoint.reason)).toEqual(['start']);
        expect(() => checkEnvelope(approver, after, policy)).toThrow(SessionEnvelopeError);
        expect(approveEnvelope(approver, policy, id).envelope).toEqual({ maxCapability: 'large', state: 'approved' });
      } finally {
        switcher.close();
        approver.close();
        rmSync(directory, { recursive: true, force: true });
      }
    });

    it("a switch that another connection's new turn overtakes before its write lock is refused and writes nothing", async () => {
      const directory = mkdtempSync(join(tmpdir(), 'syndicate-switch-race-'));
      const runner = openStore(join(directory, 'store.db'));
      const switcher = openStore(join(directory, 'store.db'));
      try {
        await registerModels(runner, 'local', 'local', [
          { id: 'wide', contextWindow: 32_768, capabilityClass: 'small' },
          { id: 'narrow', contextWindow: 8_192, capabilityClass: 'small' },
        ]);
        const id = startSession(runner, policy, { model: 'local:wide' }).id;
        appendTurn(runner, id, { prompt: 'first', answer: 'first answer', providerId: 'local', model: 'wide', evidenceId: 'ev_1' });
        // A run --session's turn commits after the switch read and checked the conversation, just before its write lock.
        const overtaken = withTransaction(switcher, (work) => {
          appendTurn(runner, id, { prompt: 'second', answer: 'second answer', providerId: 'local', model: 'wide', evidenceId: 'ev_2' });
          return switcher.transaction(work);
        });
        await expect(switchSessionModel(overtaken, policy, id, 'local:narrow', { estimate: characterEstimate })).rejects.toMatchObject({
          name: 'UsageError',
          message: `session ${id} changed meanwhile (another command added to it): run the command again`,
          hint: `\`syndicate session show ${id}\` shows what was added`,
        });
        // Nothing was switched; the chain proves, and the switch goes through when asked again.
        expect(requireSession(switcher, id).active).toMatchObject({ kind: 'pinned', providerId: 'local', model: 'wide' });
        expect(sessionDetail(switcher, id).switches).toEqual([]);
        expect((await switchSessionModel(switcher, policy, id, 'local:narrow', { estimate: characterEstimate })).to).toMatchObject({ model: 'narrow' });
      } finally {
        runner.close();
        switcher.close();
        rmSync(directory, { recursive: true, force: true });
      }
    });

    it('a switch within the envelope keeps it', async () => {
      const id = startSession(store, policy, { model: 'local:big' }).id;
      const report = await switchSessionModel(store, policy, id, 'local:wide', { estimate: characterEstimate });
      expect(report.invalidatedEnvelope).toBe(false);
      expect(requireSession(store, id).envelope).toEqual({ maxCapability: 'large', state: 'approved' });
    });

    it('auto: the highest class among the models the policy lets be called; a larger model registered later is refused until approved', async () => {
      expect(highestAllowedCapability(currentProviders(store), policy)).toBe('large');
      const id = startSession(store, policy).id;
      expect(requireSession(store, id)).toMatchObject({ active: { kind: 'auto' }, envelope: { maxCapability: 'large', state: 'approved' } });
      await registerModels(store, 'hosted', 'blocked', [{ id: 'giant', contextWindow: 200_000, capabilityClass: 'frontier' }]);
      expect(() => checkEnvelope(store, requireSession(store, id), policy)).not.toThrow();
      await registerModels(store, 'cloud', 'approved_hosted', [{ id: 'giant', contextWindow: 200_000, capabilityClass: 'frontier' }]);
      expect(() => checkEnvelope(store, requireSession(store, id), policy)).toThrow(SessionEnvelopeError);
      expect(approveEnvelope(store, policy, id).envelope.maxCapability).toBe('frontier');
    });
  });

  it('a model choice that is not provider:model is told the models really registered, not a made-up example', async () => {
    const refusal = (model: string): UsageError => {
      try {
        startSession(store, policy, { model });
      } catch (error) {
        expect(error).toBeInstanceOf(UsageError);
        return error as UsageError;
      }
      throw new Error('expected a UsageError');
    };
    const hintOf = (model: string): string | undefined => refusal(model).hint;
    // A provider alone: its models (at most three, then where the rest are listed).
    expect(hintOf('local')).toBe('local is a provider: name one of its models, local:wide, local:narrow, local:tiny (1 more: `syndicate provider show local`)');
    expect(hintOf('local:')).toBe(hintOf('local'));
    // A model alone, with a colon of its own or not: the providers that have it.
    await registerModels(store, 'ollama', 'local', [{ id: 'llama3.2:1b', contextWindow: 8192, capabilityClass: 'small' }]);
    expect(hintOf('ollama')).toBe('ollama is a provider: name one of its models, ollama:llama3.2:1b');
    expect(hintOf('wide')).toBe('did you mean local:wide?');
    expect(refusal('llama3.2:1b')).toMatchObject({ message: 'no provider llama3.2 is registered', hint: 'did you mean ollama:llama3.2:1b?' });
    // A misspelt provider: the nearest registered one, with the model as given.
    expect(refusal('olama:llama3.2:1b')).toMatchObject({ message: 'no provider olama is registered', hint: 'did you mean ollama:llama3.2:1b?' });
    expect(hintOf('nothing-like-it')).toBe('name a registered model as provider:model, e.g. local:wide (`syndicate provider list` lists them)');
  });

  it('refuses unknown models, duplicate names and unknown sessions with usage errors', () => {
    expect(() => startSession(store, policy, { model: 'local:nope' })).toThrow(/serves no model nope/);
    expect(() => startSession(store, policy, { model: 'nowhere:wide' })).toThrow(/no provider nowhere/);
    expect(() => startSession(store, policy, { name: 'has a space' })).toThrow(/--name must be 1-128 characters/);
    const triage = startSession(store, policy, { name: 'triage' });
    expect(() => startSession(store, policy, { name: 'triage' })).toThrow(/named "triage" exists already/);
    // Another session's id as a name: lookups find the id first, so the name could never be used.
    expect(() => startSession(store, policy, { name: triage.id })).toThrow(/is the id of another session/);
    expect(requireSession(store, 'triage').name).toBe('triage');
    expect(() => requireSession(store, 'ses_missing')).toThrow('no session "ses_missing"');
  });

  it('a turn answered on a conversation another turn or a switch was added to meanwhile is refused (exit 2) and writes nothing; an approval meanwhile is not in its way', async () => {
    const id = startSession(store, policy, { model: 'local:wide' }).id;
    const answered = (evidenceId: string) => ({ prompt: 'hello', answer: 'hi', providerId: 'local', model: 'wide', evidenceId });
    const read = provenContext(store, id).position;
    appendTurn(store, id, { ...answered('ev_first'), continues: read });
    expect(() => appendTurn(store, id, { ...answered('ev_overtaken'), continues: read })).toThrow(
      `session ${id} changed meanwhile (another turn or a switch was added while this one was answered): the answer was not added to it`,
    );
    expect(sessionMessages(store, id)).toHaveLength(2);

    const beforeSwitch = provenContext(store, id).position;
    await switchSessionModel(store, policy, id, 'local:narrow', { estimate: characterEstimate });
    expect(() => appendTurn(store, id, { ...answered('ev_switched'), continues: beforeSwitch })).toThrow(UsageError);

    const beforeApproval = provenContext(store, id).position;
    approveEnvelope(store, policy, id, 'large');
    expect(appendTurn(store, id, { ...answered('ev_approved'), continues: beforeApproval })).toBe(2);
  });

  describe('deleteSession', () => {
    it('a turn answered after another process deleted its session is refused as deleted meanwhile (exit 2), not as a chain edited outside syndicate, and writes nothing', () => {
      const id = startSession(store, policy, { model: 'local:wide' }).id;
      deleteSession(store, id);
      const refusal = (() => {
        try {
          appendTurn(store, id, { prompt: 'hello', answer: 'hi', providerId: 'local', model: 'wide', evidenceId: 'ev_answered' });
          return undefined;
        } catch (error) {
          return error;
        }
      })();
      expect(refusal).toBeInstanceOf(UsageError);
      expect((refusal as UsageError).exitCode).toBe(ExitCode.usage);
      expect((refusal as UsageError).message).toBe(`session ${id} was deleted meanwhile (\`session delete\` in another process): the answer was not added to it`);
      expect((refusal as UsageError).hint).toContain('`syndicate evidence show ev_answered`');
      expect(store.db.prepare('SELECT COUNT(*) FROM session_messages').pluck(true).get()).toBe(0);
      // A switch or an approval whose session went the same way reads its head last: the same refusal, nothing changed.
      expect(() => sessionChainHead(store, id)).toThrow(`session ${id} was deleted meanwhile (\`session delete\` in another process): nothing was changed`);
    });

    const count = (sql: string, id: string): number => store.db.prepare(sql).pluck(true).get(id) as number;
    const rowsOf = (id: string): number[] =>
      ['sessions WHERE id', 'session_messages WHERE session_id', 'session_checkpoints WHERE session_id', 'session_switches WHERE session_id'].map((table) =>
        count(`SELECT count(*) FROM ${table} = ?`, id),
      );

    it('deletes the session with its messages (dropped ones too), checkpoints and switches; other sessions and the evidence naming it stay', async () => {
      const id = sessionWithTurns(10);
      await switchSessionModel(store, policy, id, 'local:narrow', { estimate: characterEstimate });
      const evidence = seedCompleted(store, { sessionId: id });
      const other = sessionWithTurns(1);
      const deleted = deleteSession(store, id);
      expect(deleted).toMatchObject({ session: { id }, messages: 20, checkpoints: 1, switches: 1, evidenceKept: 1 });
      expect(rowsOf(id)).toEqual([0, 0, 0, 0]);
      expect(rowsOf(other)).toEqual([1, 2, 1, 0]);
      expect(count('SELECT count(*) FROM evidence WHERE session_id = ?', id)).toBe(1);
      expect(store.db.prepare('SELECT id FROM evidence WHERE session_id = ?').pluck(true).get(id)).toBe(evidence);
      expect(() => deleteSession(store, id)).toThrow(SessionNotFoundError);
      expect(() => sessionDetail(store, id)).toThrow(`no session "${id}"`);
    });

    it('by name; unknown is SessionNotFoundError (exit 2), as for session show', () => {
      const thrown = (work: () => unknown): unknown => {
        try {
          work();
        } catch (error) {
          return error;
        }
        return undefined;
      };
      const id = startSession(store, policy, { name: 'triage' }).id;
      expect(deleteSession(store, 'triage').session.id).toBe(id);
      const refusal = thrown(() => deleteSession(store, 'triage'));
      expect(refusal).toBeInstanceOf(SessionNotFoundError);
      expect((refusal as SessionNotFoundError).exitCode).toBe(ExitCode.usage);
      expect((refusal as SessionNotFoundError).toJSON()).toEqual((thrown(() => sessionDetail(store, 'triage')) as SessionNotFoundError).toJSON());
    });

    it('is one transaction: a failure deleting the session row leaves its messages, checkpoints and switches', async () => {
      const id = sessionWithTurns(10);
      await switchSessionModel(store, policy, id, 'local:narrow', { estimate: characterEstimate });
      store.db.exec("CREATE TRIGGER refuse_session_delete BEFORE DELETE ON sessions BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
      expect(() => deleteSession(store, id)).toThrow('refused by the test');
      expect(rowsOf(id)).toEqual([1, 20, 1, 1]);
    });
  });
});
