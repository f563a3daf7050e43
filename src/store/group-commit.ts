import type { Statement } from 'better-sqlite3';
import { StoreError } from '../errors.js';
import { storeErrorFrom, storeFailureReason, type Store } from './store.js';

/** One queued piece of work and the promise waiting for its commit. */
interface Unit {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * How long a deferred unit (`runDeferred`) waits for another unit's batch before it commits on
 * its own: bounds how long an answered request's finished row stays uncommitted.
 */
export const DEFERRED_COMMIT_MS = 2;

/** What a group committer has done so far (for tests and benchmarks). */
export interface GroupCommitStats {
  /** Transactions committed (or attempted). */
  batches: number;
  /** Units run, committed or not. */
  units: number;
  /** Most units in one transaction. */
  largestBatch: number;
}

/**
 * Group commit for a long-running process (the gateway): the writes of every request that
 * reaches a durability point in the same event-loop turn are run in ONE IMMEDIATE transaction,
 * each in its own savepoint, and every request's promise settles only after that COMMIT.
 *
 * - A unit's writes are all-or-nothing: a unit that throws is rolled back to its savepoint and
 *   its promise rejects with its error; the other units of the batch still commit.
 * - A failed COMMIT rejects every unit of the batch (none of them was written).
 * - Units run in the order they were queued, so anything that reads and advances shared state
 *   (the evidence hash chain) sees the previous unit's writes: chain order is commit order.
 * - A unit runs synchronously inside the batch; it may use `store.transaction` (nested
 *   transactions become savepoints).
 *
 * The batch runs on `setImmediate`: after the I/O callbacks of the current loop turn, so every
 * request whose bytes arrived in that turn joins it, and a lone request waits for no timer.
 * Deferred units (`runDeferred`) start no batch of their own unless none starts within
 * `DEFERRED_COMMIT_MS`.
 */
export class GroupCommitter {
  private readonly store: Store;
  private queue: Unit[] = [];
  private scheduled = false;
  /** Set while deferred units wait for a batch: commits them when none starts in time. */
  private deferredTimer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];
  /** When the write lock was first found held by another connection for the queued units (see `begin`). */
  private busySince: number | undefined;
  private busyRetries = 0;
  private statements: { busyTimeoutMs: number; waitNever: Statement; waitAsBefore: Statement; begin: Statement; commit: Statement; rollback: Statement; savepoint: Statement; release: Statement; rollbackTo: Statement } | undefined;
  readonly stats: GroupCommitStats = { batches: 0, units: 0, largestBatch: 0 };

  constructor(store: Store) {
    this.store = store;
  }

  /**
   * Queues `work` for the next batch transaction. Resolves with its return value once the
   * batch has committed; rejects with its own error (its writes undone) or the commit's.
   */
  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.commitQueued());
      }
    });
  }

  /**
   * Queues `work` that no caller waits on before going on (the finish of an answered request):
   * it joins the next batch another unit starts, or commits on its own after
   * `DEFERRED_COMMIT_MS`. Under sequential load the finish of one request then shares the next
   * request's commit instead of running a transaction of its own between the two (one BEGIN and
   * COMMIT, and the pages both touch, written once). Resolves and rejects as `run` does.
   */
  runDeferred<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled && this.deferredTimer === undefined) {
        this.deferredTimer = setTimeout(() => {
          this.deferredTimer = undefined;
          if (!this.scheduled) this.commitQueued();
        }, DEFERRED_COMMIT_MS);
      }
    });
  }

  /** Units queued and not yet committed. */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * Resolves once nothing is queued: every unit queued before the call has settled, and so has
   * any unit queued by a settled unit's own continuation before this promise resolves (a
   * `.then` or `await` directly on `run`'s promise runs first, and the queue is checked again
   * after it). Work queued later than that — after a further `await` on something else — is new
   * work this promise does not wait for: a caller that needs the committer quiescent stops
   * producing work first (the gateway's drain waits for its requests to settle, then for this).
   */
  async idle(): Promise<void> {
    while (this.queue.length > 0 || this.scheduled) {
      // Deferred units need not wait out their delay for someone waiting on them.
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.commitQueued());
      }
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
  }

  /** Runs the queued units in one transaction now (also what the scheduled turn calls). */
  commitQueued(): void {
    this.scheduled = false;
    if (this.deferredTimer !== undefined) {
      clearTimeout(this.deferredTimer);
      this.deferredTimer = undefined;
    }
    const units = this.queue;
    this.queue = [];
    if (units.length > 0) this.runBatch(units);
    if (this.queue.length === 0 && !this.scheduled) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private runBatch(units: Unit[]): void {
    this.stats.batches += 1;
    this.stats.units += units.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, units.length);
    let sql: NonNullable<GroupCommitter['statements']>;
    try {
      // Preparing fails too when the connection is closed: every unit must still settle.
      sql = this.prepared();
      if (!this.begin(sql)) {
        // Another process holds the write lock: the units wait for it in the queue, in their order,
        // while the event loop goes on (see `begin`).
        this.queue = [...units, ...this.queue];
        this.stats.batches -= 1;
        this.stats.units -= units.length;
        return;
      }
    } catch (error) {
      this.busySince = undefined;
      const failure = this.store.db.open
        ? storeErrorFrom(error, 'could not start the write transaction', this.store.path)
        : new StoreError('the store was closed before these writes could be committed', { hint: 'nothing was written; retry the request', cause: error });
      for (const unit of units) unit.reject(failure);
      return;
    }
    try {
      this.store.refuseNewerSchema();
    } catch (error) {
      // A newer syndicate migrated the store meanwhile: none of the units is written.
      if (this.store.db.inTransaction) sql.rollback.run();
      for (const unit of units) unit.reject(storeErrorFrom(error, 'could not check the store schema', this.store.path));
      return;
    }
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    for (const unit of units) {
      // A severe error (disk full, I/O) makes SQLite roll the whole transaction back: the rest
      // of the batch must not run in autocommit mode, one commit each, behind our back.
      if (!this.store.db.inTransaction) {
        outcomes.push({ ok: false, error: new StoreError('the group commit transaction was rolled back by SQLite', { hint: 'run `syndicate doctor` to check the store' }) });
        continue;
      }
      try {
        sql.savepoint.run();
      } catch (error) {
        outcomes.push({ ok: false, error: storeErrorFrom(error, 'could not open a savepoint', this.store.path) });
        continue;
      }
      try {
        const value = unit.work();
        sql.release.run();
        outcomes.push({ ok: true, value });
      } catch (error) {
        try {
          sql.rollbackTo.run();
          sql.release.run();
        } catch {
          // The transaction itself is gone (SQLite rolled it back): the COMMIT below fails too.
        }
        outcomes.push({ ok: false, error });
      }
    }
    try {
      sql.commit.run();
    } catch (error) {
      if (this.store.db.inTransaction) {
        try {
          sql.rollback.run();
        } catch {
          // nothing left to undo
        }
      }
      const failure = storeErrorFrom(error, 'the group commit failed', this.store.path);
      for (const [index, unit] of units.entries()) {
        const outcome = outcomes[index];
        unit.reject(outcome !== undefined && !outcome.ok ? outcome.error : failure);
      }
      return;
    }
    for (const [index, unit] of units.entries()) {
      const outcome = outcomes[index];
      if (outcome?.ok === true) unit.resolve(outcome.value);
      else unit.reject(outcome?.error);
    }
  }

  /**
   * BEGIN IMMEDIATE without SQLite's busy wait, which sleeps in this thread: a gateway whose batch
   * waited for another process's write lock (a prune batch, a `run`, a backup tool) answered
   * nothing meanwhile — not `/healthz`, not a request that needs no write — for up to the busy
   * timeout. Busy: false, and a retry of the queue is scheduled, polling the lock more often than
   * SQLite's busy handler does (every 20 ms at most); once the connection's busy timeout has passed
   * since it was first found held, the busy error is thrown, as SQLite's own wait would have.
   */
  private begin(sql: NonNullable<GroupCommitter['statements']>): boolean {
    sql.waitNever.get();
    try {
      sql.begin.run();
      this.busySince = undefined;
      this.busyRetries = 0;
      return true;
    } catch (error) {
      const busy = error instanceof Error && error.name === 'SqliteError' && /^SQLITE_BUSY/.test((error as NodeJS.ErrnoException).code ?? '');
      const now = Date.now();
      this.busySince ??= now;
      if (!busy || now - this.busySince >= sql.busyTimeoutMs) {
        this.busySince = undefined;
        this.busyRetries = 0;
        throw error;
      }
      this.busyRetries += 1;
      this.scheduled = true;
      setTimeout(() => this.commitQueued(), Math.min(20, 2 ** this.busyRetries));
      return false;
    } finally {
      sql.waitAsBefore.get();
    }
  }

  private prepared(): NonNullable<GroupCommitter['statements']> {
    const { db } = this.store;
    // The connection's busy timeout, set when the store was opened: read once, as the two statements
    // that switch it off and back around BEGIN are prepared once (each batch runs them).
    const busyTimeoutMs = this.statements?.busyTimeoutMs ?? (db.pragma('busy_timeout', { simple: true }) as number);
    this.statements ??= {
      busyTimeoutMs,
      waitNever: db.prepare('PRAGMA busy_timeout = 0'),
      waitAsBefore: db.prepare(`PRAGMA busy_timeout = ${busyTimeoutMs}`),
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
      savepoint: db.prepare('SAVEPOINT group_commit_unit'),
      release: db.prepare('RELEASE group_commit_unit'),
      rollbackTo: db.prepare('ROLLBACK TO group_commit_unit'),
    };
    return this.statements;
  }
}
