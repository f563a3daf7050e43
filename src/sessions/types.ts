import type { CapabilityClass, SensitivityLevel } from '../common/vocabulary.js';

/** The model a session talks to: a registered provider and one of its models, or `auto` (routed per turn). */
export type ActiveModel = { kind: 'pinned'; providerId: string; model: string } | { kind: 'auto' };

/** One stored message of a session. `turn` groups a user message with the answer appended with it. */
export interface SessionMessage {
  seq: number;
  turn: number;
  role: 'user' | 'assistant';
  text: string;
  /** The images sent with a user message (before its text), in order: what each is, never its bytes. */
  images: SessionImage[];
  /** The message's list of images as stored, when it is not a JSON list of images (an edit of the store; `images` is then empty). */
  unreadableImages?: string;
  /**
   * The level the caller marked this user turn with (`run --sensitivity`, MCP `complete`'s
   * `sensitivity`), or null: every later request that carries the turn is at least that level.
   */
  sensitivity: SensitivityLevel | null;
  /** Who answered (assistant messages) and the evidence row of that answer. */
  providerId: string | null;
  model: string | null;
  evidenceId: string | null;
  createdAt: string;
  /** The switch whose compaction dropped this message from the context, or null while it is in it. */
  droppedBySwitch: number | null;
}

/** An image kept with a user turn: its bytes are stored once per digest and sent again with every later turn. */
export interface SessionImage {
  mediaType: string;
  /** Its size in bytes. */
  size: number;
  /** SHA-256 of its bytes, hex. */
  sha256: string;
}

/** An approval of the session's capability envelope: the highest capability class it may use. */
export interface SessionCheckpoint {
  /** The store's id, unique across sessions. */
  id: number;
  /** Its number in the session: 1 for its first checkpoint (the one made at start). */
  number: number;
  maxCapability: CapabilityClass;
  /** `start` (the session's first checkpoint) or `approve` (`session approve`). */
  reason: string;
  approvedAt: string;
}

/**
 * The capability envelope: the approved maximum (the newest checkpoint's) and whether it still
 * holds. A switch to a model above the maximum invalidates it until the next checkpoint.
 */
export interface SessionEnvelope {
  maxCapability: CapabilityClass;
  state: 'approved' | 'invalidated';
  /** Why it was invalidated (state `invalidated` only). */
  invalidatedReason?: string;
  invalidatedAt?: string;
}

/** A turn compaction dropped: which messages, and the start of what they said. */
export interface DroppedTurn {
  turn: number;
  seqs: number[];
  /** The first 60 characters of the turn's user message. */
  excerpt: string;
  /** Why it was dropped, when not to fit the window: `images` — it has images and the new model takes no image input. */
  reason?: 'images';
}

/** One `provider switch`, as recorded. */
export interface SessionSwitch {
  /** The store's id, unique across sessions: what a dropped message's `droppedBySwitch` names. */
  id: number;
  /** Its number in the session: 1 for its first switch. */
  number: number;
  from: ActiveModel;
  to: { providerId: string; model: string; capabilityClass: CapabilityClass; contextWindow: number };
  droppedTurns: DroppedTurn[];
  invalidatedEnvelope: boolean;
  switchedAt: string;
}

/** A stored session, as `session show` reports it. */
export interface Session {
  id: string;
  name: string | null;
  systemPrompt: string | null;
  active: ActiveModel;
  envelope: SessionEnvelope;
  createdAt: string;
  updatedAt: string;
}

/** A session with its messages (dropped ones included, marked), checkpoints and switches. */
export interface SessionDetail extends Session {
  messages: SessionMessage[];
  checkpoints: SessionCheckpoint[];
  switches: SessionSwitch[];
}

/** A row of `session list`. */
export interface SessionSummary extends Session {
  /** Turns in the context (not dropped). */
  turns: number;
  droppedTurns: number;
}

/** `provider:model`, or `auto`. */
export function activeModelLabel(active: ActiveModel): string {
  return active.kind === 'auto' ? 'auto' : `${active.providerId}:${active.model}`;
}
