/** Session lookups are kept per state of the sessions tables: every change shows, this connection's at once, another's within OTHER_WRITERS_RECHECK_MS (inside a transaction at once). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultPolicy } from '../../../src/policy/defaults.js';
import { approveEnvelope, deleteSession, findSession, startSession } from '../../../src/sessions/sessions.js';
import { pastOtherWritersRecheck } from '../../helpers/other-writers.js';
import { openStore, type Store } from '../../../src/store/store.js';

let directory: string;
let store: Store;
const policy = defaultPolicy();

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'syndicate-session-lookup-'));
  store = openStore(join(directory, 'store.db'));
});

afterEach(() => {
  store.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('findSession', () => {
  it('reads a session once per state of the sessions tables and hands it out frozen', () => {
    const started = startSession(store, policy, { name: 'triage' });
    const first = findSession(store, 'triage');
    expect(first?.id).toBe(started.id);
    expect(findSession(store, 'triage')).toBe(first);
    expect(findSession(store, started.id)).toEqual(first);
    expect(Object.isFrozen(first?.envelope)).toBe(true);
  });

  it("sees this connection's changes at once: a session started after a miss, a new checkpoint, a deletion", () => {
    expect(findSession(store, 'later')).toBeUndefined();
    const started = startSession(store, policy, { name: 'later' });
    expect(findSession(store, 'later')?.id).toBe(started.id);
    const approved = approveEnvelope(store, policy, 'later', 'large');
    expect(findSession(store, 'later')?.envelope).toEqual(approved.envelope);
    deleteSession(store, 'later');
    expect(findSession(store, 'later')).toBeUndefined();
  });

  it("sees another connection's (another process's) commits", async () => {
    expect(findSession(store, 'elsewhere')).toBeUndefined();
    const other = openStore(join(directory, 'store.db'));
    try {
      startSession(other, policy, { name: 'elsewhere' });
      approveEnvelope(other, policy, 'elsewhere', 'frontier');
    } finally {
      other.close();
    }
    await pastOtherWritersRecheck();
    expect(findSession(store, 'elsewhere')?.envelope).toEqual({ maxCapability: 'frontier', state: 'approved' });
  });

  it("inside a transaction sees another connection's commit at once: what a write transaction reads decides what it writes", () => {
    startSession(store, policy, { name: 'raced' });
    expect(findSession(store, 'raced')?.envelope.maxCapability).toBe('small');
    const other = openStore(join(directory, 'store.db'));
    try {
      approveEnvelope(other, policy, 'raced', 'frontier');
    } finally {
      other.close();
    }
    expect(store.transaction(() => findSession(store, 'raced')?.envelope.maxCapability)).toBe('frontier');
  });
});
