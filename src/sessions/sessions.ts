import { closest } from '../common/closest.js';
import { deepFreeze } from '../common/freeze.js';
import { newId } from '../common/ids.js';
import { LruMap } from '../common/lru.js';
import { capabilityRank, CAPABILITY_CLASSES, SESSION_ID_PATTERN, SESSION_ID_RULE, highestSensitivity, type CapabilityClass, type SensitivityLevel } from '../common/vocabulary.js';
import { SessionEnvelopeError, SessionNotFoundError, UsageError } from '../errors.js';
import type { Policy } from '../policy/types.js';
import { findDeclaredModel, MODELS_NAMED_IN_HINTS as NAMED_MODELS } from '../registry/model-names.js';
import { currentProviders } from '../registry/provider-cache.js';
import type { RegisteredProvider } from '../registry/types.js';
import { cachedRead } from '../store/cached-read.js';
import type { Store } from '../store/store.js';
import { sha256Hex } from '../common/hash.js';
import {
  appendCheckpoint,
  messageLinkHash,
  provenMessageRows,
  proveSessionChain,
  sessionChainHead,
  sessionDeletedMeanwhile,
  conversationPosition,
  type ConversationPosition,
  sessionStartHash,
  storedImageReferences,
  UNLISTED_IMAGE,
  type ChainedMessageColumns,
  type StoredImageReference,
  type StoredMessage,
} from './chain.js';
import {
  activeModelLabel,
  type ActiveModel,
  type DroppedTurn,
  type Session,
  type SessionCheckpoint,
  type SessionDetail,
  type SessionMessage,
  type SessionSummary,
  type SessionSwitch,
} from './types.js';

interface SessionRow {
  id: string;
  name: string | null;
  system_prompt: string | null;
  provider_id: string | null;
  model: string | null;
  created_at: string;
  updated_at: string;
  envelope_invalidated_at: string | null;
  envelope_invalidated_reason: string | null;
  max_capability: CapabilityClass;
}

const SELECT_SESSION = `SELECT s.*, (SELECT c.max_capability FROM session_checkpoints AS c WHERE c.session_id = s.id ORDER BY c.id DESC LIMIT 1) AS max_capability
  FROM sessions AS s`;

function toSession(row: SessionRow): Session {
  const active: ActiveModel =
    row.provider_id === null || row.model === null ? { kind: 'auto' } : { kind: 'pinned', providerId: row.provider_id, model: row.model };
  return {
    id: row.id,
    name: row.name,
    systemPrompt: row.system_prompt,
    active,
    envelope:
      row.envelope_invalidated_at === null
        ? { maxCapability: row.max_capability, state: 'approved' }
        : {
            maxCapability: row.max_capability,
            state: 'invalidated',
            invalidatedAt: row.envelope_invalidated_at,
            invalidatedReason: row.envelope_invalidated_reason ?? 'invalidated',
          },
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** A registered, active provider's model, resolved from `provider:model` (the model by id or alias). */
export interface ResolvedModel {
  provider: RegisteredProvider;
  model: string;
  capabilityClass: CapabilityClass;
  contextWindow: number;
}

/** Resolves `provider:model` to a registered model the pipeline may call at all; a usage error otherwise. */
export function resolveModel(store: Store, choice: string, option: string): ResolvedModel {
  const separator = choice.indexOf(':');
  if (separator <= 0 || separator === choice.length - 1) {
    throw new UsageError(`${option} takes provider:model, got ${JSON.stringify(choice)}`, { hint: modelChoiceHint(store, choice.endsWith(':') ? choice.slice(0, -1) : choice) });
  }
  const providerId = choice.slice(0, separator);
  const modelId = choice.slice(separator + 1);
  const providers = currentProviders(store);
  const provider = providers.find((candidate) => candidate.id === providerId);
  if (provider === undefined) {
    // `llama3.2:1b` is read as provider llama3.2: a model id with a colon of its own, its provider left out.
    const owners = modelsNamed(store, choice);
    const nearest = owners.length > 0 ? undefined : closest(providerId, providers.map((candidate) => candidate.id));
    throw new UsageError(`no provider ${providerId} is registered`, {
      hint:
        owners.length > 0
          ? `did you mean ${owners.join(' or ')}?`
          : nearest !== undefined
            ? `did you mean ${nearest}:${modelId}?`
            : 'see `syndicate provider list`; register one with `syndicate provider register FILE`',
    });
  }
  if (provider.retiredAt !== null) throw new UsageError(`provider ${providerId} is retired`, { hint: 'pick an active provider from `syndicate provider list`' });
  if (provider.record.class === 'blocked') throw new UsageError(`provider ${providerId} is blocked and never called`, { hint: 'pick a provider of another class from `syndicate provider list`' });
  const model = findDeclaredModel(provider.record, modelId);
  if (model === undefined) {
    throw new UsageError(`provider ${providerId} serves no model ${modelId}`, { hint: `its models: ${provider.record.models.map((candidate) => candidate.id).join(', ')}` });
  }
  return { provider, model: model.id, capabilityClass: model.capabilityClass, contextWindow: model.contextWindow };
}

/** The chat models, as `provider:model`, of the active and unblocked providers among `providers`: what a session may be on. */
function sessionModels(providers: readonly RegisteredProvider[]): string[] {
  return providers
    .filter((provider) => provider.retiredAt === null && provider.record.class !== 'blocked')
    .flatMap((provider) => provider.record.models.filter((model) => model.kind !== 'embedding').map((model) => `${provider.id}:${model.id}`));
}

/** Each session model that `name` names by its id or an alias, its provider left out, as `provider:model`. */
function modelsNamed(store: Store, name: string): string[] {
  const owners = currentProviders(store).filter((provider) => findDeclaredModel(provider.record, name) !== undefined);
  const named = new Set(owners.map((provider) => `${provider.id}:${findDeclaredModel(provider.record, name)?.id ?? ''}`));
  return sessionModels(owners).filter((label) => named.has(label)).slice(0, NAMED_MODELS);
}

/**
 * The hint for a model choice that is not `provider:model`: a provider's id alone (`ollama`) is
 * told that provider's models, a model's id alone the providers that have it, anything else a
 * registered example.
 */
function modelChoiceHint(store: Store, name: string): string {
  const providers = currentProviders(store);
  const provider = providers.find((candidate) => candidate.id === name);
  if (provider !== undefined) {
    const models = sessionModels([provider]);
    if (models.length === 0) return `${name} is a provider with no model a session can use; \`syndicate provider list\` lists the others`;
    const more = models.length > NAMED_MODELS ? ` (${models.length - NAMED_MODELS} more: \`syndicate provider show ${name}\`)` : '';
    return `${name} is a provider: name one of its models, ${models.slice(0, NAMED_MODELS).join(', ')}${more}`;
  }
  const owners = modelsNamed(store, name);
  if (owners.length > 0) return `did you mean ${owners.join(' or ')}?`;
  const example = sessionModels(providers)[0];
  return example === undefined
    ? 'no model is registered yet: register a provider with `syndicate provider add <name>` or `syndicate provider register <file>`'
    : `name a registered model as provider:model, e.g. ${example} (\`syndicate provider list\` lists them)`;
}

/**
 * The highest capability class an `auto` session may reach: the highest of the models of active
 * providers whose class the policy lets receive some sensitivity level (the policy sets no
 * capability ceiling of its own). `small` when there is none yet.
 */
export function highestAllowedCapability(providers: readonly RegisteredProvider[], policy: Policy): CapabilityClass {
  const allowedClasses = new Set(Object.values(policy.sensitivity).flat());
  let highest = 0;
  for (const provider of providers) {
    if (provider.retiredAt !== null || provider.record.class === 'blocked' || !allowedClasses.has(provider.record.class)) continue;
    for (const model of provider.record.models) highest = Math.max(highest, capabilityRank(model.capabilityClass));
  }
  return CAPABILITY_CLASSES[highest] ?? 'small';
}

/** The capability class the session's envelope must cover: its pinned model's, or what `auto` may reach. */
export function requiredCapability(store: Store, session: Session, policy: Policy): CapabilityClass {
  if (session.active.kind === 'auto') return highestAllowedCapability(currentProviders(store), policy);
  const label = activeModelLabel(session.active);
  try {
    return resolveModel(store, label, 'the session model').capabilityClass;
  } catch (error) {
    // The model was callable when the session took it; since then its provider was retired or
    // blocked, or its record dropped it. Naming another provider is refused in a session: switch it.
    if (!(error instanceof UsageError)) throw error;
    throw new UsageError(`session ${session.id} is on ${label}, which it can no longer use: ${error.message}`, {
      hint: `switch the session to a registered model: \`syndicate provider switch PROVIDER:MODEL --session ${session.id}\``,
    });
  }
}

export interface StartSessionOptions {
  name?: string;
  systemPrompt?: string;
  /** `provider:model`, or `auto` (default). */
  model?: string;
  now?: Date;
}

/**
 * Starts a session. Its first checkpoint approves the active model's capability class — or, for
 * `auto`, the highest class the policy allows among the registered models (`highestAllowedCapability`).
 */
export function startSession(store: Store, policy: Policy, options: StartSessionOptions = {}): Session {
  const now = (options.now ?? new Date()).toISOString();
  const choice = options.model ?? 'auto';
  const resolved = choice === 'auto' ? undefined : resolveModel(store, choice, '--model');
  const maxCapability = resolved?.capabilityClass ?? highestAllowedCapability(currentProviders(store), policy);
  const name = options.name;
  // The name is what `run --session` is given, so it follows the same rule as any session id, taken
  // as given: a name trimmed here would be found by no lookup of what was typed (`session show "  x  "`).
  if (name !== undefined && !SESSION_ID_PATTERN.test(name)) {
    const trimmed = name.trim();
    throw new UsageError(`--name must be ${SESSION_ID_RULE}, got ${JSON.stringify(name)}`, {
      hint: trimmed !== name && SESSION_ID_PATTERN.test(trimmed) ? `without the surrounding spaces: --name ${trimmed}` : 'for example --name triage-1, or leave --name out',
    });
  }
  const id = newId('ses');
  store.transaction(() => {
    if (name !== undefined && store.statement('SELECT 1 FROM sessions WHERE name = ?').get(name) !== undefined) {
      throw new UsageError(`a session named ${JSON.stringify(name)} exists already`, { hint: `continue it (\`syndicate session show ${name}\`) or pick another --name` });
    }
    // An id wins over a name when a session is looked up: this one could never be reached by its name.
    if (name !== undefined && store.statement('SELECT 1 FROM sessions WHERE id = ?').get(name) !== undefined) {
      throw new UsageError(`${JSON.stringify(name)} is the id of another session: a session named so could not be reached by its name`, { hint: 'pick another --name' });
    }
    const systemPrompt = options.systemPrompt ?? null;
    store
      .statement('INSERT INTO sessions (id, name, system_prompt, provider_id, model, created_at, updated_at, chain_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(id, name ?? null, systemPrompt, resolved?.provider.id ?? null, resolved?.model ?? null, now, now, sessionStartHash({ id, system_prompt: systemPrompt, created_at: now }));
    appendCheckpoint(store, { session_id: id, max_capability: maxCapability, reason: 'start', provider_id: resolved?.provider.id ?? null, model: resolved?.model ?? null, approved_at: now });
  });
  return requireSession(store, id);
}

/** How many session lookups (stored or not) are kept per state of the sessions tables. */
const SESSION_LOOKUPS_KEPT = 256;

/**
 * The lookups made since the sessions tables last changed (`null`: no stored session by that id
 * or name): the gateway and the MCP server look a session up on every request that names one,
 * and coding agents name one on every request.
 */
const sessionLookups = cachedRead(['sessions', 'session_checkpoints'], () => new LruMap<string, Session | null>(SESSION_LOOKUPS_KEPT));

/**
 * A stored session by id or name (an id wins), or undefined: `run --session` takes free-form ids
 * too. The session is shared with other callers until the sessions tables change: never mutate it.
 */
export function findSession(store: Store, idOrName: string): Session | undefined {
  const lookups = sessionLookups(store);
  const known = lookups.get(idOrName);
  if (known !== undefined) return known ?? undefined;
  const row = store.statement(`${SELECT_SESSION} WHERE s.id = ? OR s.name = ? ORDER BY s.id = ? DESC LIMIT 1`).get(idOrName, idOrName, idOrName) as
    | SessionRow
    | undefined;
  const session = row === undefined ? null : deepFreeze(toSession(row));
  lookups.set(idOrName, session);
  return session ?? undefined;
}

/**
 * The id evidence rows carry for `idOrName`: a stored session's id when it names one (by id or
 * name; its rows are recorded under the id), else the value itself (an agent's own session id).
 */
export function recordedSessionId(store: Store, idOrName: string): string {
  return findSession(store, idOrName)?.id ?? idOrName;
}

/**
 * The session id evidence and metrics are narrowed to for `idOrName` (as `recordedSessionId`), and a
 * warning when nothing bears it — no stored session has it as id or name and no evidence row names
 * it: most likely a mistyped id. Only a warning: any label a client sends is a session id, and one
 * may have made no request yet.
 */
export function sessionFilter(store: Store, idOrName: string): { sessionId: string; warning?: string } {
  const session = findSession(store, idOrName);
  if (session !== undefined) return { sessionId: session.id };
  if (store.statement('SELECT 1 FROM evidence WHERE session_id = ? LIMIT 1').get(idOrName) !== undefined) return { sessionId: idOrName };
  return {
    sessionId: idOrName,
    warning: `no stored session and no evidence row is named "${idOrName}": check the id (stored sessions: \`syndicate session list\`; every session id in the evidence: \`syndicate evidence list\`)`,
  };
}

/** A stored session by id or name; `SessionNotFoundError` (exit 2) otherwise. */
export function requireSession(store: Store, idOrName: string): Session {
  const session = findSession(store, idOrName);
  if (session === undefined) {
    // Every stored id and name follows the session id rule: one that breaks it names none, and the rule says why.
    throw new SessionNotFoundError(idOrName, SESSION_ID_PATTERN.test(idOrName) ? undefined : { hint: `session ids and names are ${SESSION_ID_RULE} (see \`syndicate session list\`)` });
  }
  return session;
}

/** The sessions pinned to one of `providerId`'s models, oldest first: what a change of that provider's record can strand. */
export function sessionsPinnedTo(store: Store, providerId: string): Session[] {
  const rows = store.statement(`${SELECT_SESSION} WHERE s.provider_id = ? ORDER BY s.created_at, s.id`).all(providerId) as SessionRow[];
  return rows.map(toSession);
}

/** Every session, newest first, with how many turns are in its context and how many were dropped. */
export function listSessions(store: Store): SessionSummary[] {
  const rows = store
    .statement(
      `SELECT x.*,
        (SELECT COUNT(DISTINCT m.turn) FROM session_messages AS m WHERE m.session_id = x.id AND m.dropped_by_switch IS NULL) AS turns,
        (SELECT COUNT(DISTINCT m.turn) FROM session_messages AS m WHERE m.session_id = x.id AND m.dropped_by_switch IS NOT NULL) AS dropped_turns
       FROM (${SELECT_SESSION}) AS x ORDER BY x.created_at DESC, x.id DESC`,
    )
    .all() as (SessionRow & { turns: number; dropped_turns: number })[];
  return rows.map((row) => ({ ...toSession(row), turns: row.turns, droppedTurns: row.dropped_turns }));
}

/** The session's messages in order; `inContext`: only those compaction has not dropped. Read as stored, unproven: for display. */
export function sessionMessages(store: Store, sessionId: string, options: { inContext?: boolean } = {}): SessionMessage[] {
  const filter = options.inContext === true ? ' AND dropped_by_switch IS NULL' : '';
  const rows = store.statement(`SELECT * FROM session_messages WHERE session_id = ?${filter} ORDER BY seq`).all(sessionId) as StoredMessage[];
  return rows.map(toSessionMessage);
}

/**
 * The session's system prompt and the messages in its context, in order, once its hash chain is
 * proven: what may be sent to a model (`run --session`, MCP `complete` and `route_explain`, a
 * switch's compaction). `SessionChainBrokenError` (exit 1) when the stored conversation was changed
 * outside syndicate.
 */
export function provenContext(store: Store, sessionId: string): ProvenContext {
  const { systemPrompt, messages, imageBytes, position } = provenMessageRows(store, sessionId);
  return { systemPrompt, messages: messages.filter((row) => row.dropped_by_switch === null).map(toSessionMessage), imageBytes, position };
}

/** The highest level the caller marked any of `messages` with, or undefined when none is marked: what a request carrying them is at least. */
export function markedSensitivity(messages: readonly Pick<SessionMessage, 'sensitivity'>[]): SensitivityLevel | undefined {
  return highestSensitivity(messages.map((message) => message.sensitivity));
}

/** A session's proven conversation: its system prompt, the messages in its context and the bytes of their images by digest. */
export interface ProvenContext {
  systemPrompt: string | null;
  messages: SessionMessage[];
  imageBytes: ReadonlyMap<string, Uint8Array>;
  /** Where the conversation stood when it was read: a turn answered on it is appended only if it still stands there. */
  position: ConversationPosition;
}

function toSessionMessage(row: StoredMessage): SessionMessage {
  const images = storedImageReferences(row);
  return {
    seq: row.seq,
    turn: row.turn,
    role: row.role,
    text: row.text,
    images: (images ?? []).map((image) => ({ mediaType: image.mediaType, size: image.size, sha256: image.sha256 })),
    ...(images === undefined ? { unreadableImages: row.images ?? '' } : {}),
    sensitivity: row.sensitivity ?? null,
    providerId: row.provider_id,
    model: row.model,
    evidenceId: row.evidence_id,
    createdAt: row.created_at,
    droppedBySwitch: row.dropped_by_switch,
  };
}

/** A session's checkpoints, oldest first, numbered from 1. */
function sessionCheckpoints(store: Store, sessionId: string): SessionCheckpoint[] {
  return (
    store.statement('SELECT id, max_capability, reason, approved_at FROM session_checkpoints WHERE session_id = ? ORDER BY id').all(sessionId) as {
      id: number;
      max_capability: CapabilityClass;
      reason: string;
      approved_at: string;
    }[]
  ).map((row, index): SessionCheckpoint => ({ id: row.id, number: index + 1, maxCapability: row.max_capability, reason: row.reason, approvedAt: row.approved_at }));
}

/** Everything `session show` prints. */
export function sessionDetail(store: Store, idOrName: string): SessionDetail {
  const session = requireSession(store, idOrName);
  const checkpoints = sessionCheckpoints(store, session.id);
  const switches = (
    store.statement('SELECT * FROM session_switches WHERE session_id = ? ORDER BY id').all(session.id) as {
      id: number;
      from_provider_id: string | null;
      from_model: string | null;
      to_provider_id: string;
      to_model: string;
      to_capability_class: CapabilityClass;
      to_context_window: number;
      dropped_turns: string;
      invalidated_envelope: number;
      switched_at: string;
    }[]
  ).map(
    (row, index): SessionSwitch => ({
      id: row.id,
      number: index + 1,
      from: row.from_provider_id === null || row.from_model === null ? { kind: 'auto' } : { kind: 'pinned', providerId: row.from_provider_id, model: row.from_model },
      to: { providerId: row.to_provider_id, model: row.to_model, capabilityClass: row.to_capability_class, contextWindow: row.to_context_window },
      droppedTurns: JSON.parse(row.dropped_turns) as DroppedTurn[],
      invalidatedEnvelope: row.invalidated_envelope === 1,
      switchedAt: row.switched_at,
    }),
  );
  return { ...session, messages: sessionMessages(store, session.id), checkpoints, switches };
}

/** An answered turn: the operator's prompt and the answer, with who answered and its evidence. */
export interface AnsweredTurn {
  prompt: string;
  answer: string;
  providerId: string;
  model: string;
  evidenceId: string;
  /** The images sent with the prompt, in order: kept with it (bytes once per digest) and sent again with every later turn. */
  images?: readonly { mediaType: string; bytes: Uint8Array }[];
  /** The level the caller marked the prompt with (`run --sensitivity`): kept with it, so every later request that carries it is at least that level. */
  sensitivity?: SensitivityLevel;
  /**
   * Where the conversation the turn was answered on stood (`ProvenContext.position`): when another
   * turn or a switch was added since, the turn is refused (exit 2), as the model never saw them.
   */
  continues?: ConversationPosition;
  now?: Date;
}

/** Appends the prompt (with its images) and its answer as the session's next turn, in one transaction. Returns the turn number. */
export function appendTurn(store: Store, sessionId: string, turn: AnsweredTurn): number {
  const now = (turn.now ?? new Date()).toISOString();
  return store.transaction(() => {
    if (store.statement('SELECT 1 FROM sessions WHERE id = ?').get(sessionId) === undefined) {
      throw sessionDeletedMeanwhile(
        sessionId,
        'the answer was not added to it',
        `the answer is kept in the evidence (\`syndicate evidence show ${turn.evidenceId}\`); continue in a new session (\`syndicate session start\`)`,
      );
    }
    const last = store.statement('SELECT MAX(seq) AS seq, MAX(turn) AS turn FROM session_messages WHERE session_id = ?').get(sessionId) as {
      seq: number | null;
      turn: number | null;
    };
    // Two clients in one session at once: the later answer continues a conversation without the
    // earlier turn, so written after it the stored conversation would say what no model was sent.
    if (turn.continues !== undefined && !samePosition(conversationPosition(store, sessionId), turn.continues)) {
      throw new UsageError(`session ${sessionId} changed meanwhile (another turn or a switch was added while this one was answered): the answer was not added to it`, {
        hint: `the answer is kept in the evidence (\`syndicate evidence show ${turn.evidenceId}\`); \`syndicate session show ${sessionId}\` shows what was added; ask again to continue from there`,
      });
    }
    const number = (last.turn ?? 0) + 1;
    const seq = last.seq ?? 0;
    const insert = store.statement(
      'INSERT INTO session_messages (session_id, seq, turn, role, text, provider_id, model, evidence_id, created_at, images, sensitivity, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const images = storeImages(store, turn.images ?? []);
    // Chained to the recorded head: one read, two hashes, whatever the session's length.
    let head = sessionChainHead(store, sessionId);
    const messages: Required<ChainedMessageColumns>[] = [
      { session_id: sessionId, seq: seq + 1, turn: number, role: 'user', text: turn.prompt, provider_id: null, model: null, evidence_id: null, created_at: now, images, sensitivity: turn.sensitivity ?? null },
      { session_id: sessionId, seq: seq + 2, turn: number, role: 'assistant', text: turn.answer, provider_id: turn.providerId, model: turn.model, evidence_id: turn.evidenceId, created_at: now, images: null, sensitivity: null },
    ];
    for (const message of messages) {
      const hash = messageLinkHash(head, message);
      insert.run(message.session_id, message.seq, message.turn, message.role, message.text, message.provider_id, message.model, message.evidence_id, message.created_at, message.images, message.sensitivity, head, hash);
      head = hash;
    }
    store.statement('UPDATE sessions SET updated_at = ?, chain_hash = ? WHERE id = ?').run(now, head, sessionId);
    return number;
  });
}

function samePosition(first: ConversationPosition, second: ConversationPosition): boolean {
  return first.lastSeq === second.lastSeq && first.switches === second.switches;
}

/** Stores each image's bytes under its SHA-256 (once: an image already kept, by any session, is not stored again); its `images` column, or null for none. */
function storeImages(store: Store, images: readonly { mediaType: string; bytes: Uint8Array }[]): string | null {
  if (images.length === 0) return null;
  const insert = store.statement('INSERT INTO session_images (sha256, bytes) VALUES (?, ?) ON CONFLICT (sha256) DO NOTHING');
  const references = images.map((image): StoredImageReference => {
    const sha256 = sha256Hex(image.bytes);
    insert.run(sha256, Buffer.from(image.bytes));
    return { sha256, mediaType: image.mediaType, size: image.bytes.length };
  });
  return JSON.stringify(references);
}

/** What `session delete` deleted, and the evidence it kept. */
export interface DeletedSession {
  session: Session;
  /** Stored messages deleted with it (those compaction had dropped included). */
  messages: number;
  checkpoints: number;
  switches: number;
  /**
   * Stored images deleted with it: those no other session's message lists (an image another one
   * keeps stays), and any row no message lists any more that an edit of the store left.
   */
  images: number;
  /**
   * Evidence rows that name the session, kept as they are: they are the chained record (deleting or
   * editing one would break `evidence verify`), with the verbatim prompts and answers, until
   * `evidence prune` deletes them.
   */
  evidenceKept: number;
}

/**
 * Deletes a session by id or name — its messages, checkpoints and switches with it, and the stored
 * images no other session's message lists (nor any other row no message lists) — in one transaction; `SessionNotFoundError` (as `session show`) when there is none. Evidence rows that
 * name the session are not touched.
 */
export function deleteSession(store: Store, idOrName: string): DeletedSession {
  return store.transaction(() => {
    const session = requireSession(store, idOrName);
    // Messages name the switch that dropped them: they go first, the session last.
    const messages = store.statement('DELETE FROM session_messages WHERE session_id = ?').run(session.id).changes;
    // Its images, unless another session's message lists them too — and any other row no message
    // lists, which only an edit of the store leaves (see `UNLISTED_IMAGE`).
    const images = store.statement(`DELETE FROM session_images WHERE ${UNLISTED_IMAGE}`).run().changes;
    const switches = store.statement('DELETE FROM session_switches WHERE session_id = ?').run(session.id).changes;
    const checkpoints = store.statement('DELETE FROM session_checkpoints WHERE session_id = ?').run(session.id).changes;
    store.statement('DELETE FROM sessions WHERE id = ?').run(session.id);
    const evidenceKept = store.statement('SELECT count(*) FROM evidence WHERE session_id = ?').pluck(true).get(session.id) as number;
    return { session, messages, checkpoints, switches, images, evidenceKept };
  });
}

/**
 * Refuses (exit 4) an invocation the session's envelope does not cover: one invalidated by a
 * switch, or a model (the pinned one, or any `auto` may reach) above the approved maximum. Both,
 * and the model, are proven against the session's chain first (`SessionChainBrokenError`, exit 1).
 */
export function checkEnvelope(store: Store, session: Session, policy: Policy): void {
  proveSessionChain(store, session.id);
  const invalidated = invalidatedEnvelopeError(session);
  if (invalidated !== undefined) throw invalidated;
  const required = requiredCapability(store, session, policy);
  if (capabilityRank(required) > capabilityRank(session.envelope.maxCapability)) {
    const what = session.active.kind === 'auto' ? 'a model auto routing may pick' : `its model ${activeModelLabel(session.active)}`;
    throw new SessionEnvelopeError(
      'session_envelope_exceeded',
      session.id,
      `session ${session.id}'s envelope approves up to ${session.envelope.maxCapability}, but ${what} is ${required}: invocations are refused until a new checkpoint approves it`,
    );
  }
}

/** What the router holds a request in this session to: the envelope's approved class (`RouteInput.sessionEnvelope`). */
export function routeEnvelopeOf(session: Session): { sessionId: string; maxCapability: CapabilityClass } {
  return { sessionId: session.id, maxCapability: session.envelope.maxCapability };
}

/** The refusal for a session whose envelope a switch invalidated; undefined while it holds. */
export function invalidatedEnvelopeError(session: Session): SessionEnvelopeError | undefined {
  if (session.envelope.state !== 'invalidated') return undefined;
  return new SessionEnvelopeError(
    'session_envelope_invalidated',
    session.id,
    `session ${session.id}'s capability envelope is invalidated (${session.envelope.invalidatedReason ?? 'invalidated'}): invocations are refused until a new checkpoint approves it`,
  );
}

/**
 * A new checkpoint (`session approve`): the envelope approves up to `maxCapability` (default: what
 * the active model needs, `requiredCapability`) and holds again. A maximum below what the active
 * model needs is refused: it would approve nothing the session can run.
 */
export function approveEnvelope(store: Store, policy: Policy, idOrName: string, maxCapability?: CapabilityClass, now: Date = new Date()): Session {
  return approveEnvelopeCheckpoint(store, policy, idOrName, maxCapability, now).session;
}

/** A `session approve`: the session as it is now, and the checkpoint it made. */
export interface EnvelopeApproval {
  session: Session;
  checkpoint: SessionCheckpoint;
}

/** `approveEnvelope`, returning the new checkpoint too (`session approve --json` prints it). */
export function approveEnvelopeCheckpoint(store: Store, policy: Policy, idOrName: string, maxCapability?: CapabilityClass, now: Date = new Date()): EnvelopeApproval {
  const session = requireSession(store, idOrName);
  // Approving on an edited model or checkpoint would chain the edit in as if syndicate had made it.
  proveSessionChain(store, session.id);
  const required = requiredCapability(store, session, policy);
  const approved = maxCapability ?? required;
  if (capabilityRank(approved) < capabilityRank(required)) {
    throw new UsageError(`--max-capability ${approved} is below ${required}, the class of ${activeModelLabel(session.active)}`, {
      hint: `approve at least ${required} (\`syndicate session approve ${session.id} --max-capability ${required}\`), or switch to a smaller model first with \`syndicate provider switch PROVIDER:MODEL --session ${session.id}\``,
    });
  }
  const at = now.toISOString();
  const checkpoint = store.transaction(() => {
    // Another process may have switched the session since it was read: a checkpoint must record
    // the model the session has when it is written, under the write lock.
    proveSessionChain(store, session.id);
    const current = requireSession(store, session.id);
    if (activeModelLabel(current.active) !== activeModelLabel(session.active)) {
      throw new UsageError(
        `session ${session.id} was switched meanwhile (from ${activeModelLabel(session.active)} to ${activeModelLabel(current.active)}): run the command again`,
        { hint: `\`syndicate session show ${session.id}\` shows its model; \`syndicate session approve ${session.id}\` approves it` },
      );
    }
    const pin = session.active.kind === 'auto' ? { provider_id: null, model: null } : { provider_id: session.active.providerId, model: session.active.model };
    const checkpointId = appendCheckpoint(store, { session_id: session.id, max_capability: approved, reason: 'approve', ...pin, approved_at: at });
    store
      .statement('UPDATE sessions SET envelope_invalidated_at = NULL, envelope_invalidated_reason = NULL, updated_at = ? WHERE id = ?')
      .run(at, session.id);
    const checkpoint = sessionCheckpoints(store, session.id).find((candidate) => candidate.id === checkpointId);
    if (checkpoint === undefined) throw new Error(`checkpoint ${checkpointId} of session ${session.id} was not found after it was written`);
    return checkpoint;
  });
  return { session: requireSession(store, session.id), checkpoint };
}
