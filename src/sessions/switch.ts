import { newId } from '../common/ids.js';
import { capabilityRank } from '../common/vocabulary.js';
import { PolicyRefusalError, SessionChainBrokenError, SyndicateError, UsageError } from '../errors.js';
import { recordDenial, type DenialRecord } from '../evidence/index.js';
import type { Policy } from '../policy/types.js';
import { listProviders } from '../registry/registry.js';
import { alternativesTo, hintForExclusions, localModelsLeftOut } from '../router/hints.js';
import { routeRequest } from '../router/route-request.js';
import type { ExclusionRule } from '../router/types.js';
import type { Store } from '../store/store.js';
import { findDeclaredModel } from '../registry/model-names.js';
import { compactForWindow, conversationRequest, dropImageTurns, type PromptEstimate } from './compaction.js';
import { markedSensitivity, provenContext, requireSession, resolveModel, type ResolvedModel } from './sessions.js';
import { sessionChainHead, switchLinkHash, type ChainedSwitchColumns } from './chain.js';
import { activeModelLabel, type ActiveModel, type DroppedTurn, type Session, type SessionMessage } from './types.js';

/** What `provider switch --session` did. */
export interface SwitchReport {
  session: Session;
  from: ActiveModel;
  to: { providerId: string; model: string; capabilityClass: string; contextWindow: number };
  /**
   * Turns dropped from the context, oldest first (they stay in `session show`, marked): those with
   * images when the new model takes no image input (`reason: 'images'`), then those compaction dropped to fit its window.
   */
  droppedTurns: DroppedTurn[];
  /** The kept conversation's estimate and the room it leaves for an answer. */
  promptTokens: number;
  room: number;
  /** The new model's class is above the envelope's approved maximum: invocations are refused until `session approve`. */
  invalidatedEnvelope: boolean;
}

/**
 * Switches a session to `provider:model`, keeping its context: the turns with images dropped when
 * the new model takes none (not tagged `capabilities.visionTag`: every later turn would be
 * refused for them), then compacted when the new model's window cannot hold the rest
 * (`compactForWindow`, which counts each image as the router does); the envelope invalidated when the new
 * model's class is above its approved maximum. Refused (exit 4) when the policy does not let the
 * new model receive the conversation it would carry (`refuseUnreceivableConversation`). One
 * transaction; a switch refused, or that compaction cannot make fit, changes nothing.
 */
export async function switchSessionModel(
  store: Store,
  policy: Policy,
  idOrName: string,
  choice: string,
  options: {
    estimate?: PromptEstimate;
    now?: Date;
    /** Who asked, as its refusal is recorded (default `cli`). */
    caller?: string;
    /** The room (tokens) the kept conversation must leave in the new window, when more than the minimum answer (`compactForWindow`). */
    room?: number;
  } = {},
): Promise<SwitchReport> {
  const session = requireSession(store, idOrName);
  const target = resolveModel(store, choice, 'provider switch');
  const caller = options.caller ?? 'cli';
  // What compaction and the policy check below decide on; the switch is written only onto the same state.
  let headRead: string;
  let conversation: ReturnType<typeof provenContext>;
  try {
    headRead = sessionChainHead(store, session.id);
    conversation = provenContext(store, session.id);
  } catch (error) {
    // Refused as `run --session` is: a denial in the evidence, naming the model it was asked to move to.
    if (error instanceof SessionChainBrokenError) recordRefusedSwitch(store, caller, session, target, error);
    throw error;
  }
  const takesImages = (findDeclaredModel(target.provider.record, target.model)?.tags ?? []).includes(policy.capabilities.visionTag);
  const withoutImages = takesImages ? { kept: conversation.messages, dropped: [] } : dropImageTurns(conversation.messages);
  const compaction = await compactForWindow({
    systemPrompt: conversation.systemPrompt,
    messages: withoutImages.kept,
    contextWindow: target.contextWindow,
    target: `${target.provider.id}:${target.model}`,
    imageBytes: conversation.imageBytes,
    ...(options.room === undefined ? {} : { room: options.room }),
    ...(options.estimate === undefined ? {} : { estimate: options.estimate }),
  });
  const dropped = [...withoutImages.dropped, ...compaction.dropped].sort((first, second) => first.turn - second.turn);
  await refuseUnreceivableConversation(store, policy, session, target, { systemPrompt: conversation.systemPrompt, kept: compaction.kept, imageBytes: conversation.imageBytes }, caller);
  const invalidatedEnvelope = capabilityRank(target.capabilityClass) > capabilityRank(session.envelope.maxCapability);
  const at = (options.now ?? new Date()).toISOString();
  const to = { providerId: target.provider.id, model: target.model, capabilityClass: target.capabilityClass, contextWindow: target.contextWindow };
  store.transaction(() => {
    // Another process may have added turns (or switched) while this one compacted and checked the
    // conversation: a switch written onto them would cover turns it neither compacted nor checked.
    if (sessionChainHead(store, session.id) !== headRead) {
      throw new UsageError(`session ${session.id} changed meanwhile (another command added to it): run the command again`, {
        hint: `\`syndicate session show ${session.id}\` shows what was added`,
      });
    }
    const from = session.active.kind === 'auto' ? { provider: null, model: null } : { provider: session.active.providerId, model: session.active.model };
    // The switch is the session's next link, after its last message: it covers the turns it drops, which is what proves their marks.
    const head = sessionChainHead(store, session.id);
    const row: Omit<ChainedSwitchColumns, 'id'> = {
      session_id: session.id,
      after_seq: store.statement('SELECT COALESCE(MAX(seq), 0) FROM session_messages WHERE session_id = ?').pluck(true).get(session.id) as number,
      from_provider_id: from.provider,
      from_model: from.model,
      to_provider_id: to.providerId,
      to_model: to.model,
      to_capability_class: to.capabilityClass,
      to_context_window: to.contextWindow,
      dropped_turns: JSON.stringify(dropped),
      invalidated_envelope: invalidatedEnvelope ? 1 : 0,
      switched_at: at,
    };
    const switchId = Number(
      store
        .statement(
          `INSERT INTO session_switches (session_id, after_seq, from_provider_id, from_model, to_provider_id, to_model, to_capability_class, to_context_window, dropped_turns, invalidated_envelope, switched_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(row.session_id, row.after_seq, row.from_provider_id, row.from_model, row.to_provider_id, row.to_model, row.to_capability_class, row.to_context_window, row.dropped_turns, row.invalidated_envelope, row.switched_at)
        .lastInsertRowid,
    );
    const hash = switchLinkHash(head, { id: switchId, ...row });
    store.statement('UPDATE session_switches SET prev_hash = ?, hash = ? WHERE id = ?').run(head, hash, switchId);
    const drop = store.statement('UPDATE session_messages SET dropped_by_switch = ? WHERE session_id = ? AND seq = ?');
    for (const turn of dropped) for (const seq of turn.seqs) drop.run(switchId, session.id, seq);
    store.statement('UPDATE sessions SET provider_id = ?, model = ?, updated_at = ?, chain_hash = ? WHERE id = ?').run(to.providerId, to.model, at, hash, session.id);
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
    droppedTurns: dropped,
    promptTokens: compaction.promptTokens,
    room: compaction.room,
    invalidatedEnvelope,
  };
}

/** The rules that exclude a model for what the data is, whatever its health, keys or budget: no later turn of the conversation could go to it. */
const DATA_RULES: readonly ExclusionRule[] = ['class_not_allowed', 'fail_closed'];

/**
 * Refuses (exit 4, `session_model_not_permitted`) a switch to a model the policy does not let
 * receive the conversation the session would carry to it (its system prompt and `kept`
 * messages), classified and planned as `run --session` plans its next turn; every later turn would
 * be refused. The router's reason for the model, and its hint with the models that may take it.
 */
async function refuseUnreceivableConversation(
  store: Store,
  policy: Policy,
  session: Session,
  target: ResolvedModel,
  { systemPrompt, kept, imageBytes }: { systemPrompt: string | null; kept: readonly SessionMessage[]; imageBytes: ReadonlyMap<string, Uint8Array> },
  caller: string,
): Promise<void> {
  if (systemPrompt === null && kept.length === 0) return;
  const providers = listProviders(store);
  const label = `${target.provider.id}:${target.model}`;
  // A turn its caller marked at a level is that level wherever it goes, as `run --session` routes it.
  const marked = markedSensitivity(kept);
  const routed = await routeRequest({
    request: conversationRequest(systemPrompt, kept, label, imageBytes),
    ...(marked === undefined ? {} : { sensitivityHint: marked }),
    policy,
    providers,
    workflow: 'interactive',
    explicitProvider: target.provider.id,
    store,
  });
  const { plan } = routed;
  const exclusion = plan.excluded.find((excluded) => excluded.provider === target.provider.id && excluded.model === target.model);
  if (exclusion === undefined || !exclusion.rules.some((rule) => DATA_RULES.includes(rule))) return;
  // Rules and reasons are parallel: the reasons of the rules the conversation itself breaks (not the price's, a key's).
  const reasons = exclusion.rules.length === exclusion.reasons.length ? exclusion.reasons.filter((_, index) => DATA_RULES.includes(exclusion.rules[index]!)) : exclusion.reasons;
  const unpinned = routed.planUnpinned();
  const alternatives = alternativesTo(plan, unpinned);
  const [first] = alternatives;
  const hint =
    first === undefined
      ? hintForExclusions([exclusion], { localLeftOut: localModelsLeftOut(unpinned.excluded, providers) })
      : `${alternatives.map((alternative) => `${alternative.provider}:${alternative.model}`).join(', ')} may take it: switch to ${alternatives.length === 1 ? 'it' : 'one of them'} instead (\`syndicate provider switch ${first.provider}:${first.model} --session ${session.id}\`)`;
  const refusal = new PolicyRefusalError(
    'session_model_not_permitted',
    `session ${session.id}'s conversation is ${plan.sensitivity}, and ${label} may not receive it: ${reasons.join('; ')}; the session stays on ${activeModelLabel(session.active)}, unchanged`,
    { hint, details: { sessionId: session.id, sensitivity: plan.sensitivity, findings: routed.classification.findings, excluded: [exclusion] } },
  );
  throw recordRefusedSwitch(store, caller, session, target, refusal, { sensitivity: plan.sensitivity, route: plan });
}

/**
 * A refused switch of `session` to `target`, as a denial in the evidence under a request id of its
 * own, as the router records its own (`evidence list` and `metrics` show it); `error` then names
 * that request and evidence row in its details. `classified`: what the refused conversation was
 * classified and planned as, when it was.
 */
function recordRefusedSwitch<E extends SyndicateError>(
  store: Store,
  caller: string,
  session: Session,
  target: ResolvedModel,
  error: E,
  classified: Pick<DenialRecord, 'sensitivity' | 'route'> = {},
): E {
  const requestId = newId('req');
  const evidenceId = recordDenial(store, {
    requestId,
    caller,
    provider: { id: target.provider.id, version: target.provider.currentVersion, class: target.provider.record.class },
    model: target.model,
    reasonCode: error.code,
    message: error.message,
    ...classified,
    sessionId: session.id,
  });
  return error.withDetails({ requestId, evidenceId });
}
