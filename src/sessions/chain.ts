import { sha256Hex } from '../common/hash.js';
import { SessionChainBrokenError } from '../errors.js';
import type { Store } from '../store/store.js';

/**
 * Each session's stored conversation is a hash chain of its own, so a turn edited in the store is
 * never replayed to a model unnoticed. The chain starts from the session (its id, system prompt
 * and start time); each message and each switch is a link whose hash covers the previous link's
 * hash and everything about it, in the order they were written; `sessions.chain_hash` is the hash
 * of the last link (the session's start while it has none).
 *
 * Switches are links because a switch's compaction marks messages dropped (`dropped_by_switch`)
 * after they were chained: the switch's link covers the turns it dropped, so the marks are proven
 * against it instead of by the messages' own hashes, and a mark added, removed or moved is a break.
 * A switch sits after the message it followed (`after_seq`).
 *
 * Migration 021 chained the rows written before it with these same link functions.
 */

/** `prev_hash` of the start of every session's chain. */
const SESSION_GENESIS = '0'.repeat(64);

/** hash = sha256(prev "\n" JSON(values)): the values as SQLite returns them (type included: `12` and `"12"` differ). */
function link(previousHash: string, values: readonly unknown[]): string {
  return sha256Hex(`${previousHash}\n${JSON.stringify(values)}`);
}

/** The columns of a `sessions` row the chain starts from. */
export interface SessionChainStart {
  id: string;
  system_prompt: string | null;
  created_at: string;
}

export function sessionStartHash(session: SessionChainStart): string {
  return link(SESSION_GENESIS, ['session', session.id, session.system_prompt, session.created_at]);
}

/** The columns of a `session_messages` row its link covers (all but `dropped_by_switch`, `prev_hash` and `hash`). */
export interface ChainedMessageColumns {
  session_id: string;
  seq: number;
  turn: number;
  /** The table's CHECK allows no other. */
  role: 'user' | 'assistant';
  text: string;
  provider_id: string | null;
  model: string | null;
  evidence_id: string | null;
  created_at: string;
}

export function messageLinkHash(previousHash: string, message: ChainedMessageColumns): string {
  return link(previousHash, [
    'message',
    message.session_id,
    message.seq,
    message.turn,
    message.role,
    message.text,
    message.provider_id,
    message.model,
    message.evidence_id,
    message.created_at,
  ]);
}

/** The columns of a `session_switches` row its link covers (all but `prev_hash` and `hash`). */
export interface ChainedSwitchColumns {
  id: number;
  session_id: string;
  after_seq: number;
  from_provider_id: string | null;
  from_model: string | null;
  to_provider_id: string;
  to_model: string;
  to_capability_class: string;
  to_context_window: number;
  /** JSON of the dropped turns, with their message seqs: the compaction marks the link proves. */
  dropped_turns: string;
  invalidated_envelope: number;
  switched_at: string;
}

export function switchLinkHash(previousHash: string, row: ChainedSwitchColumns): string {
  return link(previousHash, [
    'switch',
    row.session_id,
    row.id,
    row.after_seq,
    row.from_provider_id,
    row.from_model,
    row.to_provider_id,
    row.to_model,
    row.to_capability_class,
    row.to_context_window,
    row.dropped_turns,
    row.invalidated_envelope,
    row.switched_at,
  ]);
}

/** The hash of the session's last link, which the next one is chained to. */
export function sessionChainHead(store: Store, sessionId: string): string {
  const head = store.statement('SELECT chain_hash FROM sessions WHERE id = ?').pluck(true).get(sessionId) as string | null | undefined;
  if (typeof head !== 'string') throw sessionChainError({ sessionId, reason: 'head mismatch' });
  return head;
}

/** Where and why a session's chain broke. */
export interface SessionChainBreak {
  sessionId: string;
  /** The message at fault (`message missing`: the missing number; absent when the fault is the start or the head). */
  seq?: number;
  /** The switch at fault, when it is one: its number in the session (1 for its first switch, as `session show` numbers them). */
  switch?: number;
  /**
   * `start changed`: the session's system prompt (or id, or start time) is not what its first link
   * was chained to. `head mismatch`: the last link is not the recorded head (links deleted from the
   * end, or the head edited). `compaction mark changed`: a message is marked dropped by a switch
   * that did not drop it, or the mark of one that did is gone.
   */
  reason: 'content changed' | 'link broken' | 'message missing' | 'start changed' | 'head mismatch' | 'compaction mark changed';
}

interface StoredSession extends SessionChainStart {
  chain_hash: string | null;
}

export interface StoredMessage extends ChainedMessageColumns {
  dropped_by_switch: number | null;
  prev_hash: string | null;
  hash: string | null;
}

interface StoredSwitch extends ChainedSwitchColumns {
  prev_hash: string | null;
  hash: string | null;
}

/** One link of a session's chain: a message, or a switch (with its number in the session). */
export type SessionLink<M extends ChainedMessageColumns, S extends ChainedSwitchColumns> = { kind: 'message'; row: M } | { kind: 'switch'; row: S; number: number };

/** A session's links in the order they were written: messages by seq, each switch (in `after_seq, id` order) after the message it followed. */
export function* linksInOrder<M extends ChainedMessageColumns, S extends ChainedSwitchColumns>(messages: readonly M[], switches: readonly S[]): Generator<SessionLink<M, S>> {
  let switchIndex = 0;
  const switchesBefore = function* (seq: number): Generator<SessionLink<M, S>> {
    for (; switchIndex < switches.length && (switches[switchIndex] as S).after_seq < seq; switchIndex += 1) {
      yield { kind: 'switch', row: switches[switchIndex] as S, number: switchIndex + 1 };
    }
  };
  for (const message of messages) {
    yield* switchesBefore(message.seq);
    yield { kind: 'message', row: message };
  }
  yield* switchesBefore(Number.POSITIVE_INFINITY);
}

/** The hash a link has when chained to `previousHash`. */
export function sessionLinkHash(previousHash: string, entry: SessionLink<ChainedMessageColumns, ChainedSwitchColumns>): string {
  return entry.kind === 'message' ? messageLinkHash(previousHash, entry.row) : switchLinkHash(previousHash, entry.row);
}

/**
 * Walks one session's links in the order they were written (`linksInOrder`), recomputing each;
 * then checks every compaction mark against the switches' proven dropped turns. The first break,
 * or undefined when the chain holds.
 */
function walkSession(session: StoredSession, messages: readonly StoredMessage[], switches: readonly StoredSwitch[]): SessionChainBreak | undefined {
  const sessionId = session.id;
  const start = sessionStartHash(session);
  let previousHash = start;
  let expectedSeq = 1;
  for (const entry of linksInOrder(messages, switches)) {
    const at = entry.kind === 'message' ? { seq: entry.row.seq } : { switch: entry.number };
    if (entry.kind === 'message' && entry.row.seq !== expectedSeq) return { sessionId, seq: expectedSeq, reason: 'message missing' };
    if (entry.row.prev_hash !== previousHash) return { sessionId, ...at, reason: previousHash === start ? 'start changed' : 'link broken' };
    if (entry.row.hash === null || sessionLinkHash(previousHash, entry) !== entry.row.hash) return { sessionId, ...at, reason: 'content changed' };
    previousHash = entry.row.hash;
    if (entry.kind === 'message') expectedSeq += 1;
  }
  if (session.chain_hash !== previousHash) return { sessionId, reason: 'head mismatch' };
  const droppedBy = new Map<number, number>();
  for (const row of switches) {
    for (const turn of JSON.parse(row.dropped_turns) as { seqs: number[] }[]) {
      for (const seq of turn.seqs) if (!droppedBy.has(seq)) droppedBy.set(seq, row.id);
    }
  }
  const marked = messages.find((message) => message.dropped_by_switch !== (droppedBy.get(message.seq) ?? null));
  return marked === undefined ? undefined : { sessionId, seq: marked.seq, reason: 'compaction mark changed' };
}

/** Every column of `session_messages`, and of `session_switches`, the chain reads. */
export const MESSAGE_COLUMNS = 'session_id, seq, turn, role, text, provider_id, model, evidence_id, created_at, dropped_by_switch, prev_hash, hash';
export const SWITCH_COLUMNS =
  'id, session_id, after_seq, from_provider_id, from_model, to_provider_id, to_model, to_capability_class, to_context_window, dropped_turns, invalidated_envelope, switched_at, prev_hash, hash';

/**
 * Proves one session's chain and returns its system prompt and stored messages, all of them in
 * order (dropped ones marked), read once: what is sent to a model comes from what was proven.
 * `SessionChainBrokenError` (exit 1) at the first break.
 */
export function provenMessageRows(store: Store, sessionId: string): { systemPrompt: string | null; messages: StoredMessage[] } {
  const session = store.statement('SELECT id, system_prompt, created_at, chain_hash FROM sessions WHERE id = ?').get(sessionId) as StoredSession | undefined;
  const messages = store.statement(`SELECT ${MESSAGE_COLUMNS} FROM session_messages WHERE session_id = ? ORDER BY seq`).all(sessionId) as StoredMessage[];
  const switches = store.statement(`SELECT ${SWITCH_COLUMNS} FROM session_switches WHERE session_id = ? ORDER BY after_seq, id`).all(sessionId) as StoredSwitch[];
  const broken = session === undefined ? { sessionId, reason: 'head mismatch' as const } : walkSession(session, messages, switches);
  if (broken !== undefined) throw sessionChainError(broken);
  return { systemPrompt: (session as StoredSession).system_prompt, messages };
}

/** What `evidence verify` reports of the sessions' chains. */
export interface SessionChainsReport {
  sessions: number;
  messages: number;
  /** The first break of each session whose chain is broken, in session id order. */
  broken: SessionChainBreak[];
}

/** Proves every stored session's chain (`evidence verify`): three reads, one SHA-256 per message and switch. */
export function verifySessionChains(store: Store): SessionChainsReport {
  const sessions = store.statement('SELECT id, system_prompt, created_at, chain_hash FROM sessions ORDER BY id').all() as StoredSession[];
  const messagesOf = groupBySession(store.statement(`SELECT ${MESSAGE_COLUMNS} FROM session_messages ORDER BY session_id, seq`).all() as StoredMessage[]);
  const switchesOf = groupBySession(store.statement(`SELECT ${SWITCH_COLUMNS} FROM session_switches ORDER BY session_id, after_seq, id`).all() as StoredSwitch[]);
  const broken: SessionChainBreak[] = [];
  let messages = 0;
  for (const session of sessions) {
    const own = messagesOf.get(session.id) ?? [];
    messages += own.length;
    const failure = walkSession(session, own, switchesOf.get(session.id) ?? []);
    if (failure !== undefined) broken.push(failure);
  }
  return { sessions: sessions.length, messages, broken };
}

function groupBySession<T extends { session_id: string }>(rows: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const group = groups.get(row.session_id);
    if (group === undefined) groups.set(row.session_id, [row]);
    else group.push(row);
  }
  return groups;
}

/** Where a break is, in words: `message #3`, `switch 2`, `its start`, `its last link`. */
export function describeSessionBreak(broken: SessionChainBreak): string {
  if (broken.seq !== undefined) return `message #${broken.seq}`;
  if (broken.switch !== undefined) return `its switch ${broken.switch}`;
  return broken.reason === 'start changed' ? 'its start' : 'its last link';
}

/** What to do about a session whose chain is broken (the refusal's hint, and `evidence verify`'s). */
export function sessionChainHint(sessionId: string): string {
  return `the session was changed outside syndicate: read it with \`syndicate session show ${sessionId}\` and what was really sent with \`syndicate evidence list --session ${sessionId}\`; then continue in a new session (\`syndicate session start\`) and delete this one (\`syndicate session delete ${sessionId}\`)`;
}

function sessionChainError(broken: SessionChainBreak): SessionChainBrokenError {
  return new SessionChainBrokenError(
    `session ${broken.sessionId}'s stored conversation fails its hash chain at ${describeSessionBreak(broken)}: ${broken.reason}; nothing was sent`,
    { hint: sessionChainHint(broken.sessionId), details: { brokenAt: broken } },
  );
}
