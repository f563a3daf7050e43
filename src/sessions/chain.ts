import { sha256Hex } from '../common/hash.js';
import type { SensitivityLevel } from '../common/vocabulary.js';
import { LruMap } from '../common/lru.js';
import { runToEnd, type PausingWork } from '../common/pausing.js';
import { SessionChainBrokenError, UsageError } from '../errors.js';
import { cachedRead } from '../store/cached-read.js';
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
 * Checkpoints (the envelope's approvals) are links too, each recording the model it was given on:
 * the first is written with the session (its start pin), the others by `session approve`. A
 * checkpoint sits after the message and the switch it followed (`after_seq`, `after_switch`: the
 * number of the session's switches before it). The session's state the envelope decides on is
 * proven against its links: the approved maximum is the last checkpoint's, the active model
 * (`sessions.provider_id`/`model`) must be the last switch's target or checkpoint's pin, whichever
 * came later, and the envelope is invalidated (`envelope_invalidated_at`) exactly when a switch
 * that invalidated it came after the last checkpoint.
 *
 * A user message sent with images (migration 024) lists them in `images` — SHA-256, media type
 * and size of each, as JSON — which its link covers; the bytes are kept once per digest in
 * `session_images`, and a walk proves each image's bytes against its digest. A message without
 * images (`images` NULL: every message stored before 024) is hashed as before; so is one its
 * caller marked with no level (`sensitivity` NULL, migration 026), whose mark the link covers otherwise.
 *
 * Migration 021 chained the messages and switches written before it with these same link
 * functions; migration 022 re-chained them with the checkpoints placed among them.
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
  /**
   * The user turn's images as stored (JSON of `StoredImageReference[]`), or null (undefined: read
   * before migration 024 added the column): covered only when present, so text-only links hash as they always did.
   */
  images?: string | null;
  /**
   * The level the caller marked the user turn with (migration 026), or null (undefined: read before
   * the column was added): covered only when present, so unmarked links hash as they always did.
   */
  sensitivity?: SensitivityLevel | null;
}

/** One image of a stored user message, as `session_messages.images` lists it. */
export interface StoredImageReference {
  /** SHA-256 of the bytes, hex: their key in `session_images`. */
  sha256: string;
  mediaType: string;
  /** Bytes. */
  size: number;
}

export function messageLinkHash(previousHash: string, message: ChainedMessageColumns): string {
  const values: unknown[] = [
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
  ];
  if (message.images !== undefined && message.images !== null) values.push(message.images);
  // An object, never a string: a mark cannot read as an images list, nor an images list as a mark.
  if (message.sensitivity !== undefined && message.sensitivity !== null) values.push({ sensitivity: message.sensitivity });
  return link(previousHash, values);
}

/**
 * The images a stored message lists (none when its `images` is null), or undefined when the column
 * is not a JSON list of images: only an edit of the store leaves that, and no read may fail on it
 * (the walk reports the message as broken, `session show` shows the text as stored).
 */
export function storedImageReferences(message: Pick<ChainedMessageColumns, 'images'>): StoredImageReference[] | undefined {
  if (message.images === undefined || message.images === null) return [];
  let listed: unknown;
  try {
    listed = JSON.parse(message.images);
  } catch {
    return undefined;
  }
  return Array.isArray(listed) && listed.every(isStoredImageReference) ? listed : undefined;
}

function isStoredImageReference(entry: unknown): entry is StoredImageReference {
  if (typeof entry !== 'object' || entry === null) return false;
  const { sha256, mediaType, size } = entry as Record<string, unknown>;
  return typeof sha256 === 'string' && typeof mediaType === 'string' && typeof size === 'number';
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

/** The columns of a `session_checkpoints` row its link covers (all but `prev_hash` and `hash`). */
export interface ChainedCheckpointColumns {
  id: number;
  session_id: string;
  after_seq: number;
  /** How many of the session's switches came before it. */
  after_switch: number;
  max_capability: string;
  reason: string;
  /** The model the session was on when it was approved (both null: `auto`). */
  provider_id: string | null;
  model: string | null;
  approved_at: string;
}

export function checkpointLinkHash(previousHash: string, row: ChainedCheckpointColumns): string {
  return link(previousHash, [
    'checkpoint',
    row.session_id,
    row.id,
    row.after_seq,
    row.after_switch,
    row.max_capability,
    row.reason,
    row.provider_id,
    row.model,
    row.approved_at,
  ]);
}

/** The hash of the session's last link, which the next one is chained to. */
export function sessionChainHead(store: Store, sessionId: string): string {
  const head = store.statement('SELECT chain_hash FROM sessions WHERE id = ?').pluck(true).get(sessionId) as string | null | undefined;
  // No row: `session delete` (another process) removed the session after this command read it — no edit outside syndicate.
  if (head === undefined) throw sessionDeletedMeanwhile(sessionId, 'nothing was changed', 'start a new session with `syndicate session start`');
  if (typeof head !== 'string') throw sessionChainError({ sessionId, reason: 'head mismatch' });
  return head;
}

/** Exit 2: the session this command read was deleted (`session delete` in another process) before it wrote; `outcome` says what became of its work. */
export function sessionDeletedMeanwhile(sessionId: string, outcome: string, hint: string): UsageError {
  return new UsageError(`session ${sessionId} was deleted meanwhile (\`session delete\` in another process): ${outcome}`, { hint });
}

/**
 * Chains a new checkpoint to the session's head, after its last message and switch, and makes it
 * the head: one read of the head, one SHA-256; returns its id. Call inside the transaction that writes the rest.
 */
export function appendCheckpoint(
  store: Store,
  checkpoint: Pick<ChainedCheckpointColumns, 'session_id' | 'max_capability' | 'reason' | 'provider_id' | 'model' | 'approved_at'>,
): number {
  const head = sessionChainHead(store, checkpoint.session_id);
  const place = store
    .statement(
      `SELECT (SELECT COALESCE(MAX(seq), 0) FROM session_messages WHERE session_id = ?) AS after_seq,
              (SELECT COUNT(*) FROM session_switches WHERE session_id = ?) AS after_switch`,
    )
    .get(checkpoint.session_id, checkpoint.session_id) as { after_seq: number; after_switch: number };
  const row = { ...checkpoint, ...place };
  const id = Number(
    store
      .statement('INSERT INTO session_checkpoints (session_id, after_seq, after_switch, max_capability, reason, provider_id, model, approved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(row.session_id, row.after_seq, row.after_switch, row.max_capability, row.reason, row.provider_id, row.model, row.approved_at).lastInsertRowid,
  );
  const hash = checkpointLinkHash(head, { id, ...row });
  store.statement('UPDATE session_checkpoints SET prev_hash = ?, hash = ? WHERE id = ?').run(head, hash, id);
  store.statement('UPDATE sessions SET chain_hash = ? WHERE id = ?').run(hash, row.session_id);
  return id;
}

/** Where and why a session's chain broke. */
export interface SessionChainBreak {
  sessionId: string;
  /** The message at fault (`message missing`: the missing number; absent when the fault is the start or the head). */
  seq?: number;
  /** The switch at fault, when it is one: its number in the session (1 for its first switch, as `session show` numbers them). */
  switch?: number;
  /** The checkpoint at fault, when it is one: its number in the session (1 for the one made at its start). */
  checkpoint?: number;
  /**
   * `start changed`: the session's system prompt (or id, or start time) is not what its first link
   * was chained to. `head mismatch`: the last link is not the recorded head (links deleted from the
   * end, or the head edited). `compaction mark changed`: a message is marked dropped by a switch
   * that did not drop it, or the mark of one that did is gone. `checkpoint missing`: the session has
   * no checkpoint at all (its start's was deleted). `active model changed`: the session's model is not the
   * last switch's target (or checkpoint's pin). `envelope changed`: the envelope is marked
   * invalidated (or approved) although its last switch and checkpoint say otherwise. `image changed`:
   * an image the message lists has no stored bytes, or bytes that do not hash to its digest.
   */
  reason:
    | 'content changed'
    | 'link broken'
    | 'message missing'
    | 'start changed'
    | 'head mismatch'
    | 'compaction mark changed'
    | 'checkpoint missing'
    | 'active model changed'
    | 'envelope changed'
    | 'image changed';
}

interface StoredSession extends SessionChainStart {
  chain_hash: string | null;
  provider_id: string | null;
  model: string | null;
  envelope_invalidated_at: string | null;
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

interface StoredCheckpoint extends ChainedCheckpointColumns {
  prev_hash: string | null;
  hash: string | null;
}

/** One link of a session's chain: a message, or a switch or checkpoint (with its number in the session). */
export type SessionLink<M extends ChainedMessageColumns, S extends ChainedSwitchColumns, C extends ChainedCheckpointColumns = ChainedCheckpointColumns> =
  | { kind: 'message'; row: M }
  | { kind: 'switch'; row: S; number: number }
  | { kind: 'checkpoint'; row: C; number: number };

/**
 * A session's links in the order they were written: messages by seq; each switch (in `after_seq,
 * id` order) after the message it followed; each checkpoint (in id order) after the message and
 * the switch it followed. Checkpoints that fit nowhere (edited places) come last, to be found out.
 */
export function* linksInOrder<M extends ChainedMessageColumns, S extends ChainedSwitchColumns, C extends ChainedCheckpointColumns>(
  messages: readonly M[],
  switches: readonly S[],
  checkpoints: readonly C[] = [],
): Generator<SessionLink<M, S, C>> {
  let switchIndex = 0;
  let checkpointIndex = 0;
  const placedBefore = function* (seq: number): Generator<SessionLink<M, S, C>> {
    for (;;) {
      const checkpoint = checkpoints[checkpointIndex];
      const next = switches[switchIndex];
      if (checkpoint !== undefined && checkpoint.after_seq < seq && checkpoint.after_switch <= switchIndex) {
        checkpointIndex += 1;
        yield { kind: 'checkpoint', row: checkpoint, number: checkpointIndex };
      } else if (next !== undefined && next.after_seq < seq) {
        switchIndex += 1;
        yield { kind: 'switch', row: next, number: switchIndex };
      } else return;
    }
  };
  for (const message of messages) {
    yield* placedBefore(message.seq);
    yield { kind: 'message', row: message };
  }
  yield* placedBefore(Number.POSITIVE_INFINITY);
  for (; checkpointIndex < checkpoints.length; checkpointIndex += 1) yield { kind: 'checkpoint', row: checkpoints[checkpointIndex] as C, number: checkpointIndex + 1 };
}

/** The hash a link has when chained to `previousHash`. */
export function sessionLinkHash(previousHash: string, entry: SessionLink<ChainedMessageColumns, ChainedSwitchColumns>): string {
  if (entry.kind === 'message') return messageLinkHash(previousHash, entry.row);
  return entry.kind === 'switch' ? switchLinkHash(previousHash, entry.row) : checkpointLinkHash(previousHash, entry.row);
}

/** The state of a session's envelope and model as its links say it is, carried along a walk: what the stored session must show. */
export interface SessionEnvelopeState {
  /** The active model: null provider and model for `auto`. */
  providerId: string | null;
  model: string | null;
  /** When the first switch since the last checkpoint invalidated the envelope; null while it holds. */
  invalidatedAt: string | null;
}

/** The state after `entry`, from the state before it: a checkpoint pins its model and approves; a switch moves the model and may invalidate. */
export function stateAfter(state: SessionEnvelopeState, entry: SessionLink<ChainedMessageColumns, ChainedSwitchColumns>): SessionEnvelopeState {
  if (entry.kind === 'checkpoint') return { providerId: entry.row.provider_id, model: entry.row.model, invalidatedAt: null };
  if (entry.kind === 'switch') {
    const invalidatedAt = state.invalidatedAt ?? (entry.row.invalidated_envelope === 1 ? entry.row.switched_at : null);
    return { providerId: entry.row.to_provider_id, model: entry.row.to_model, invalidatedAt };
  }
  return state;
}

/**
 * Walks one session's links in the order they were written (`linksInOrder`), recomputing each;
 * then checks every compaction mark against the switches' proven dropped turns, and the session's
 * active model and envelope state against the state its links leave (`stateAfter`). The first
 * break, or undefined when the chain holds.
 */
function walkSession(
  session: StoredSession,
  messages: readonly StoredMessage[],
  switches: readonly StoredSwitch[],
  checkpoints: readonly StoredCheckpoint[],
  images: ImageProof,
): SessionChainBreak | undefined {
  const sessionId = session.id;
  const start = sessionStartHash(session);
  let previousHash = start;
  let expectedSeq = 1;
  let state: SessionEnvelopeState = { providerId: null, model: null, invalidatedAt: null };
  for (const entry of linksInOrder(messages, switches, checkpoints)) {
    const at = entry.kind === 'message' ? { seq: entry.row.seq } : entry.kind === 'switch' ? { switch: entry.number } : { checkpoint: entry.number };
    if (entry.kind === 'message' && entry.row.seq !== expectedSeq) return { sessionId, seq: expectedSeq, reason: 'message missing' };
    if (entry.row.prev_hash !== previousHash) return { sessionId, ...at, reason: previousHash === start ? 'start changed' : 'link broken' };
    if (entry.row.hash === null || sessionLinkHash(previousHash, entry) !== entry.row.hash) return { sessionId, ...at, reason: 'content changed' };
    if (entry.kind === 'message' && !(storedImageReferences(entry.row)?.every((image) => images.holds(image)) ?? false)) return { sessionId, ...at, reason: 'image changed' };
    previousHash = entry.row.hash;
    state = stateAfter(state, entry);
    if (entry.kind === 'message') expectedSeq += 1;
  }
  if (session.chain_hash !== previousHash) return { sessionId, reason: 'head mismatch' };
  // Every session starts with a checkpoint: without one there is no envelope nor starting model to prove.
  if (checkpoints.length === 0) return { sessionId, reason: 'checkpoint missing' };
  const droppedBy = new Map<number, number>();
  for (const row of switches) {
    for (const turn of JSON.parse(row.dropped_turns) as { seqs: number[] }[]) {
      for (const seq of turn.seqs) if (!droppedBy.has(seq)) droppedBy.set(seq, row.id);
    }
  }
  const marked = messages.find((message) => message.dropped_by_switch !== (droppedBy.get(message.seq) ?? null));
  if (marked !== undefined) return { sessionId, seq: marked.seq, reason: 'compaction mark changed' };
  if (session.provider_id !== state.providerId || session.model !== state.model) return { sessionId, reason: 'active model changed' };
  if (session.envelope_invalidated_at !== state.invalidatedAt) return { sessionId, reason: 'envelope changed' };
  return undefined;
}

/** The columns of `session_messages` migrations 021 and 022 chained (before 024 added `images`), and of `session_switches`, the chain reads. */
export const MESSAGE_COLUMNS = 'session_id, seq, turn, role, text, provider_id, model, evidence_id, created_at, dropped_by_switch, prev_hash, hash';
const STORED_MESSAGE_COLUMNS = `${MESSAGE_COLUMNS}, images, sensitivity`;
export const SWITCH_COLUMNS =
  'id, session_id, after_seq, from_provider_id, from_model, to_provider_id, to_model, to_capability_class, to_context_window, dropped_turns, invalidated_envelope, switched_at, prev_hash, hash';
export const CHECKPOINT_COLUMNS = 'id, session_id, after_seq, after_switch, max_capability, reason, provider_id, model, approved_at, prev_hash, hash';
const SESSION_COLUMNS = 'id, system_prompt, created_at, chain_hash, provider_id, model, envelope_invalidated_at';

/** Proofs of stored images against their digests. */
interface ImageProof {
  /** Whether an image a message lists has stored bytes that hash to its digest and have its size. */
  holds(image: StoredImageReference): boolean;
  /** Whether bytes are stored under `sha256` and hash to it (an image no message lists has no size to check). */
  intact(sha256: string): boolean;
}

/** Stored image bytes by digest, each proven against its digest (and size) once, however many messages list it. */
interface StoredImages extends ImageProof {
  bytes: ReadonlyMap<string, Uint8Array>;
}

function storedImages(rows: readonly { sha256: string; bytes: Uint8Array }[]): StoredImages {
  const bytes = new Map(rows.map((row) => [row.sha256, row.bytes]));
  return { bytes, ...imageProof((sha256) => bytes.get(sha256)) };
}

/**
 * Proves each digest once, however many messages (of however many sessions) list it, with the
 * bytes `bytesOf` gives: the digest's proof and the bytes' size are kept, never the bytes.
 */
function imageProof(bytesOf: (sha256: string) => Uint8Array | undefined): ImageProof {
  const proven = new Map<string, { hashes: boolean; size: number } | null>();
  const proofOf = (sha256: string): { hashes: boolean; size: number } | null => {
    let known = proven.get(sha256);
    if (known === undefined) {
      const stored = bytesOf(sha256);
      known = stored === undefined ? null : { hashes: sha256Hex(stored) === sha256, size: stored.length };
      proven.set(sha256, known);
    }
    return known;
  };
  return {
    holds: (image) => {
      const known = proofOf(image.sha256);
      return known !== null && known.hashes && known.size === image.size;
    },
    intact: (sha256) => proofOf(sha256)?.hashes === true,
  };
}

/** The bytes of one stored image (`evidence verify` reads them one digest at a time: never the whole store in memory). */
const IMAGE_BYTES = 'SELECT bytes FROM session_images WHERE sha256 = ?';

/** `imageProof` over the image store, reading one digest's bytes at a time. */
function storedImageProof(store: Store): ImageProof {
  const bytesOf = store.statement(IMAGE_BYTES);
  return imageProof((sha256) => (bytesOf.get(sha256) as { bytes: Uint8Array } | undefined)?.bytes);
}

/**
 * Every digest a stored message lists, as `digest` (NULL for an entry without one). A list edited
 * into something that is not JSON, or an entry that is no object, lists nothing instead of failing
 * the read (the message's link no longer holds: its session is broken at it, and the walk says so).
 */
const LISTED_IMAGE_DIGESTS = `SELECT json_extract(listed.value, '$.sha256') AS digest FROM session_messages AS m, json_each(m.images) AS listed
  WHERE m.images IS NOT NULL AND json_valid(m.images) AND listed.type = 'object'`;

/** The digests of the images a session's messages list (the session's id the one parameter). */
const SESSION_IMAGE_DIGESTS = `${LISTED_IMAGE_DIGESTS} AND m.session_id = ?`;

/**
 * The condition on `session_images` of a row no message lists by its digest. Only an edit of the
 * store leaves one (the bytes, or the digest, of a listed image changed; a row added), since each
 * image is written with the message that lists it and `session delete` removes those it unlists.
 */
export const UNLISTED_IMAGE = `session_images.sha256 NOT IN (SELECT digest FROM (${LISTED_IMAGE_DIGESTS}) WHERE digest IS NOT NULL)`;

/** What `evidence verify` reports of the stored images no message lists. */
export interface UnlistedImagesReport {
  /** How many rows of `session_images` no message lists (the next `session delete` removes them). */
  unlisted: number;
  /** The digests of those whose bytes do not hash to them, in order: rows edited in the store. */
  changed: string[];
}

/**
 * Proves the stored images no message lists against their digests (`evidence verify`): no walk
 * reaches them, so a row edited there — or a listed image whose bytes and digest were both
 * changed, which leaves its session's message listing a digest with no bytes (`image changed`) and
 * this row beside it — is found here. One image read at a time; none in a store without such rows.
 */
export function verifyUnlistedImages(store: Store): UnlistedImagesReport {
  return runToEnd(walkUnlistedImages(store));
}

/** `verifyUnlistedImages` as steps: pauses (yields) after each image it reads (one may be megabytes). */
export function* walkUnlistedImages(store: Store): PausingWork<UnlistedImagesReport> {
  const digests = store.statement(`SELECT sha256 FROM session_images WHERE ${UNLISTED_IMAGE} ORDER BY sha256`).pluck(true).all() as string[];
  const images = storedImageProof(store);
  const changed: string[] = [];
  for (const sha256 of digests) {
    if (!images.intact(sha256)) changed.push(sha256);
    yield;
  }
  return { unlisted: digests.length, changed };
}

/** The bytes of the images a session's messages list (only those: a text-only session reads nothing more). */
const SESSION_IMAGES_OF = `SELECT sha256, bytes FROM session_images WHERE sha256 IN (${SESSION_IMAGE_DIGESTS})`;

/** One session's stored rows, read for a walk, and its first break (undefined while the chain holds). */
function walkStoredSession(
  store: Store,
  sessionId: string,
): { session: StoredSession | undefined; messages: StoredMessage[]; switches: StoredSwitch[]; images: StoredImages; broken: SessionChainBreak | undefined } {
  // Taken before the reads: a change committed while they run leaves this walk in a map already out of date.
  const proofs = sessionProofs(store);
  const session = store.statement(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id = ?`).get(sessionId) as StoredSession | undefined;
  const messages = store.statement(`SELECT ${STORED_MESSAGE_COLUMNS} FROM session_messages WHERE session_id = ? ORDER BY seq`).all(sessionId) as StoredMessage[];
  const switches = store.statement(`SELECT ${SWITCH_COLUMNS} FROM session_switches WHERE session_id = ? ORDER BY after_seq, id`).all(sessionId) as StoredSwitch[];
  const checkpoints = store.statement(`SELECT ${CHECKPOINT_COLUMNS} FROM session_checkpoints WHERE session_id = ? ORDER BY id`).all(sessionId) as StoredCheckpoint[];
  const images = storedImages(store.statement(SESSION_IMAGES_OF).all(sessionId) as { sha256: string; bytes: Uint8Array }[]);
  const broken = session === undefined ? { sessionId, reason: 'head mismatch' as const } : walkSession(session, messages, switches, checkpoints, images);
  proofs.set(sessionId, broken ?? null);
  return { session, messages, switches, images, broken };
}

/** How many sessions' proofs are kept per state of the sessions tables. */
const SESSION_PROOFS_KEPT = 256;

/**
 * Each session's walk (its first break; null: the chain holds) since the sessions tables last
 * changed, by any connection: a request naming a session on the gateway is held to its proven
 * envelope without a SHA-256 per message per request.
 */
const sessionProofs = cachedRead(['sessions', 'session_messages', 'session_switches', 'session_checkpoints', 'session_images'], () => new LruMap<string, SessionChainBreak | null>(SESSION_PROOFS_KEPT));

/**
 * Proves one session's chain and returns its system prompt, stored messages, all of them in order
 * (dropped ones marked), and the bytes of their images by digest, read once: what is sent to a
 * model comes from what was proven. `SessionChainBrokenError` (exit 1) at the first break.
 */
export function provenMessageRows(
  store: Store,
  sessionId: string,
): { systemPrompt: string | null; messages: StoredMessage[]; imageBytes: ReadonlyMap<string, Uint8Array>; position: ConversationPosition } {
  const { session, messages, switches, images, broken } = walkStoredSession(store, sessionId);
  if (broken !== undefined) throw sessionChainError(broken);
  return { systemPrompt: (session as StoredSession).system_prompt, messages, imageBytes: images.bytes, position: { lastSeq: messages.at(-1)?.seq ?? 0, switches: switches.length } };
}

/**
 * Where a session's conversation stood when it was read: its last message and how many switches
 * it had. A turn answered on that conversation is appended only if it still stands there (a
 * checkpoint added meanwhile changes nothing the model was sent).
 */
export interface ConversationPosition {
  lastSeq: number;
  switches: number;
}

/** Where the session's conversation stands now (`ConversationPosition`); call inside the transaction that appends to it. */
export function conversationPosition(store: Store, sessionId: string): ConversationPosition {
  return store
    .statement(
      `SELECT (SELECT COALESCE(MAX(seq), 0) FROM session_messages WHERE session_id = ?) AS lastSeq,
              (SELECT COUNT(*) FROM session_switches WHERE session_id = ?) AS switches`,
    )
    .get(sessionId, sessionId) as ConversationPosition;
}

/**
 * The refusal of a session whose chain is broken — its envelope's checkpoints and its active model
 * with it — or undefined while it holds: neither decides anything unproven. The walk is kept until
 * one of the sessions tables changes: on the gateway's path a session-bearing request costs a map
 * lookup.
 */
export function sessionChainRefusal(store: Store, sessionId: string): SessionChainBrokenError | undefined {
  const known = sessionProofs(store).get(sessionId);
  const broken = known === undefined ? walkStoredSession(store, sessionId).broken : (known ?? undefined);
  return broken === undefined ? undefined : sessionChainError(broken);
}

/** `sessionChainRefusal`, thrown (`SessionChainBrokenError`, exit 1). */
export function proveSessionChain(store: Store, sessionId: string): void {
  const refusal = sessionChainRefusal(store, sessionId);
  if (refusal !== undefined) throw refusal;
}

/** What `evidence verify` reports of the sessions' chains. */
export interface SessionChainsReport {
  sessions: number;
  messages: number;
  /** The first break of each session whose chain is broken, in session id order. */
  broken: SessionChainBreak[];
}

/** How many sessions `walkSessionChains` reads and proves between two pauses. */
const SESSIONS_PER_PAGE = 100;

/**
 * Proves every stored session's chain (`evidence verify`): one SHA-256 per message, switch and
 * checkpoint, and one read and SHA-256 per distinct image a message lists, when the walk reaches
 * it (memory bounded by a page of sessions and one image, not the image store; an image no
 * message lists is never read).
 */
export function verifySessionChains(store: Store): SessionChainsReport {
  return runToEnd(walkSessionChains(store));
}

/**
 * `verifySessionChains` as steps: the sessions in id order, a page at a time — its rows read in
 * one read transaction (four reads over the page's id range), then walked — pausing (yielding)
 * after each page.
 */
export function* walkSessionChains(store: Store): PausingWork<SessionChainsReport> {
  const firstPage = store.statement(`SELECT ${SESSION_COLUMNS} FROM sessions ORDER BY id LIMIT ${SESSIONS_PER_PAGE}`);
  const nextPage = store.statement(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id > ? ORDER BY id LIMIT ${SESSIONS_PER_PAGE}`);
  const messagesIn = store.statement(`SELECT ${STORED_MESSAGE_COLUMNS} FROM session_messages WHERE session_id BETWEEN ? AND ? ORDER BY session_id, seq`);
  const switchesIn = store.statement(`SELECT ${SWITCH_COLUMNS} FROM session_switches WHERE session_id BETWEEN ? AND ? ORDER BY session_id, after_seq, id`);
  const checkpointsIn = store.statement(`SELECT ${CHECKPOINT_COLUMNS} FROM session_checkpoints WHERE session_id BETWEEN ? AND ? ORDER BY session_id, id`);
  const readPage = store.db.transaction((after: string | undefined) => {
    const sessions = (after === undefined ? firstPage.all() : nextPage.all(after)) as StoredSession[];
    const first = sessions[0]?.id;
    const last = sessions.at(-1)?.id;
    if (first === undefined || last === undefined) return undefined;
    return {
      sessions,
      messagesOf: groupBySession(messagesIn.all(first, last) as StoredMessage[]),
      switchesOf: groupBySession(switchesIn.all(first, last) as StoredSwitch[]),
      checkpointsOf: groupBySession(checkpointsIn.all(first, last) as StoredCheckpoint[]),
    };
  });
  const images = storedImageProof(store);
  const broken: SessionChainBreak[] = [];
  let sessions = 0;
  let messages = 0;
  for (let page = readPage(undefined); page !== undefined; page = readPage(page.sessions.at(-1)?.id)) {
    for (const session of page.sessions) {
      const own = page.messagesOf.get(session.id) ?? [];
      messages += own.length;
      const failure = walkSession(session, own, page.switchesOf.get(session.id) ?? [], page.checkpointsOf.get(session.id) ?? [], images);
      if (failure !== undefined) broken.push(failure);
    }
    sessions += page.sessions.length;
    if (page.sessions.length < SESSIONS_PER_PAGE) break;
    yield;
  }
  return { sessions, messages, broken };
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

/** Where a break is, in words: `message #3`, `its switch 2`, `its checkpoint 1`, `its start`, `its active model`, `its envelope`, `its last link`. */
export function describeSessionBreak(broken: SessionChainBreak): string {
  if (broken.seq !== undefined) return `message #${broken.seq}`;
  if (broken.switch !== undefined) return `its switch ${broken.switch}`;
  if (broken.checkpoint !== undefined) return `its checkpoint ${broken.checkpoint}`;
  if (broken.reason === 'active model changed') return 'its active model';
  if (broken.reason === 'envelope changed') return 'its envelope';
  return broken.reason === 'start changed' || broken.reason === 'checkpoint missing' ? 'its start' : 'its last link';
}

/** What to do about a session whose chain is broken (the refusal's hint, and `evidence verify`'s). */
export function sessionChainHint(sessionId: string): string {
  return `the session was changed outside syndicate: read it with \`syndicate session show ${sessionId}\` and what was really sent with \`syndicate evidence list --session ${sessionId}\`; then continue in a new session (\`syndicate session start\`) and delete this one (\`syndicate session delete ${sessionId}\`)`;
}

function sessionChainError(broken: SessionChainBreak): SessionChainBrokenError {
  return new SessionChainBrokenError(
    `session ${broken.sessionId} fails its hash chain at ${describeSessionBreak(broken)} (${broken.reason}): nothing was sent or changed`,
    { hint: sessionChainHint(broken.sessionId), details: { brokenAt: broken } },
  );
}
