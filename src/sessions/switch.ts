import { capabilityRank } from '../common/vocabulary.js';
import type { Store } from '../store/store.js';
import { compactForWindow, type PromptEstimate } from './compaction.js';
import { requireSession, resolveModel, sessionMessages } from './sessions.js';
import type { ActiveModel, DroppedTurn, Session } from './types.js';

/** What `provider switch --session` did. */
export interface SwitchReport {
  session: Session;
  from: ActiveModel;
  to: { providerId: string; model: string; capabilityClass: string; contextWindow: number };
  /** Turns compaction dropped from the context (they stay in `session show`, marked). */
  droppedTurns: DroppedTurn[];
  /** The kept conversation's estimate and the room it leaves for an answer. */
  promptTokens: number;
  room: number;
  /** The new model's class is above the envelope's approved maximum: invocations are refused until `session approve`. */
  invalidatedEnvelope: boolean;
}

/**
 * Switches a session to `provider:model`, keeping its context: compacted first when the new
 * model's window cannot hold it (`compactForWindow`), and the envelope invalidated when the new
 * model's class is above its approved maximum. One transaction; a switch compaction cannot make
 * fit changes nothing.
 */
export async function switchSessionModel(
  store: Store,
  idOrName: string,
  choice: string,
  options: { estimate?: PromptEstimate; now?: Date } = {},
): Promise<SwitchReport> {
  const session = requireSession(store, idOrName);
  const target = resolveModel(store, choice, 'provider switch');
  const compaction = await compactForWindow({
    systemPrompt: session.systemPrompt,
    messages: sessionMessages(store, session.id, { inContext: true }),
    contextWindow: target.contextWindow,
    target: `${target.provider.id}:${target.model}`,
    ...(options.estimate === undefined ? {} : { estimate: options.estimate }),
  });
  const invalidatedEnvelope = capabilityRank(target.capabilityClass) > capabilityRank(session.envelope.maxCapability);
  const at = (options.now ?? new Date()).toISOString();
  const to = { providerId: target.provider.id, model: target.model, capabilityClass: target.capabilityClass, contextWindow: target.contextWindow };
  store.transaction(() => {
    const from = session.active.kind === 'auto' ? { provider: null, model: null } : { provider: session.active.providerId, model: session.active.model };
    const switchId = Number(
      store
        .statement(
          `INSERT INTO session_switches (session_id, from_provider_id, from_model, to_provider_id, to_model, to_capability_class, to_context_window, dropped_turns, invalidated_envelope, switched_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(session.id, from.provider, from.model, to.providerId, to.model, to.capabilityClass, to.contextWindow, JSON.stringify(compaction.dropped), invalidatedEnvelope ? 1 : 0, at)
        .lastInsertRowid,
    );
    const drop = store.statement('UPDATE session_messages SET dropped_by_switch = ? WHERE session_id = ? AND seq = ?');
    for (const turn of compaction.dropped) for (const seq of turn.seqs) drop.run(switchId, session.id, seq);
    store.statement('UPDATE sessions SET provider_id = ?, model = ?, updated_at = ? WHERE id = ?').run(to.providerId, to.model, at, session.id);
    if (invalidatedEnvelope) {
      // An envelope already invalidated keeps its first reason: that is what the approval must answer.
      store
        .statement(
          'UPDATE sessions SET envelope_invalidated_at = COALESCE(envelope_invalidated_at, ?), envelope_invalidated_reason = COALESCE(envelope_invalidated_reason, ?) WHERE id = ?',
        )
        .run(at, `switched to ${to.providerId}:${to.model} (${to.capabilityClass}), above the approved ${session.envelope.maxCapability}`, session.id);
    }
  });
  return {
    session: requireSession(store, session.id),
    from: session.active,
    to,
    droppedTurns: compaction.dropped,
    promptTokens: compaction.promptTokens,
    room: compaction.room,
    invalidatedEnvelope,
  };
}
