/**
 * Classification of large requests off the gateway's event loop. Scanning a request costs ~100 ms
 * per MB of text on this machine (a 30 MB body: seconds, bench/RESULTS.md *Large requests*), time
 * in which one event loop serves no other client, not even `/healthz`. A request with at least
 * `OFF_THREAD_CHARACTERS` characters of content (or `OFF_THREAD_MESSAGES` messages) is classified
 * in one worker thread, started on the first such request and kept; smaller ones are classified in
 * place, as before (a message to a thread and back would cost them more than their scan).
 *
 * Fail closed: a worker that cannot start, throws, exits or dies with a job in hand rejects the
 * job, and the router then treats the request as `restricted` with a `classifier.error` finding
 * (`classifySafely`): it stays local or is refused, never sent to a hosted provider. So does a job
 * the worker holds past its time (`classifierThreadJobTimeoutMs`: stuck inside one regex scan, where
 * the classifier's own deadline is not checked): the worker is terminated and that job and every
 * job queued behind it are rejected. The next large request starts a new worker.
 */
import { Worker } from 'node:worker_threads';

import type { ClassifyFunction } from '../router/route-request.js';
import { classifierThreadJobTimeoutMs } from './budget.js';
import type { CanonicalRequest } from '../wire/canonical.js';
import type { Classification } from './types.js';
import type { ClassifyJob } from './worker-thread.js';

/** Characters of content from which a request is classified off the event loop (~20–50 ms of scanning in place). */
export const OFF_THREAD_CHARACTERS = 256 * 1024;
/** Messages from which a request is classified off the event loop, whatever their length (each is a part scanned on its own). */
export const OFF_THREAD_MESSAGES = 2000;

interface PendingJob {
  resolve(classification: Classification): void;
  reject(error: Error): void;
  /** How long the worker may hold it, from when it is the oldest in hand. */
  timeoutMs: number;
}

/** Whether a request is large enough to be classified off the event loop: a walk over its messages, no copy. */
export function classifiedOffThread(request: CanonicalRequest): boolean {
  const messages: unknown = request.messages;
  if (!Array.isArray(messages)) return false;
  if (messages.length >= OFF_THREAD_MESSAGES) return true;
  let characters = typeof request.system === 'string' ? request.system.length : 0;
  for (const message of messages as CanonicalRequest['messages']) {
    const content: unknown = message.content;
    if (typeof content === 'string') characters += content.length;
    else if (Array.isArray(content)) {
      for (const part of content as Record<string, unknown>[]) {
        for (const field of ['text', 'data', 'url'] as const) {
          const value = part?.[field];
          if (typeof value === 'string') characters += value.length;
        }
      }
    }
    if (message.role === 'assistant' && Array.isArray(message.toolCalls)) {
      for (const call of message.toolCalls) if (typeof call.arguments === 'string') characters += call.arguments.length;
    }
    if (characters >= OFF_THREAD_CHARACTERS) return true;
  }
  return false;
}

/** One worker thread that classifies the requests posted to it, one after another. */
export class ClassifierThread {
  private worker: Worker | undefined;
  /** In the order posted, which is the order the worker takes them. */
  private readonly pending = new Map<number, PendingJob>();
  /** The timer of the oldest job in hand (the one the worker is on). */
  private jobTimer: NodeJS.Timeout | undefined;
  private nextId = 1;

  /** `jobTimeoutMs`: how long the worker may hold a job of that many characters of JSON. */
  constructor(
    private readonly script: URL = workerScript(import.meta.url),
    private readonly jobTimeoutMs: (characters: number) => number = classifierThreadJobTimeoutMs,
  ) {}

  /** The request's classification by the worker; rejects when the worker fails (the caller fails closed). */
  async classify(request: CanonicalRequest, options: ClassifyJob['options']): Promise<Classification> {
    // Handed over as JSON bytes, transferred (not copied): serialising a request of a million tiny
    // messages for postMessage took several times what JSON.stringify takes. Each step in its own
    // turn, not in the one that read and parsed the body: the other clients get turns in between.
    await nextTurn();
    const id = this.nextId;
    this.nextId += 1;
    let bytes: Uint8Array;
    let timeoutMs: number;
    try {
      const text = JSON.stringify({ id, request, options } satisfies ClassifyJob);
      timeoutMs = this.jobTimeoutMs(text.length);
      await nextTurn();
      bytes = new TextEncoder().encode(text);
    } catch (error) {
      throw new Error(`the request could not be handed to the classifier thread: ${describe(error)}`);
    }
    return new Promise<Classification>((resolve, reject) => {
      let worker: Worker;
      try {
        worker = this.running();
        this.pending.set(id, { resolve, reject, timeoutMs });
        worker.postMessage(bytes, [bytes.buffer as ArrayBuffer]);
        if (this.pending.size === 1) this.timeOldestJob(worker);
      } catch (error) {
        this.pending.delete(id);
        reject(new Error(`the classifier thread could not take the request: ${describe(error)}`));
        return;
      }
      // Held only while a job is in hand: an idle worker keeps no process alive.
      worker.ref();
    });
  }

  /** Stops the worker; jobs in hand are rejected. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    this.failAll(worker, new Error('the classifier thread was stopped'));
    await worker.terminate();
  }

  private running(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(this.script);
    worker.unref();
    worker.on('message', (reply: { id: number; classification: Classification }) => {
      const job = this.pending.get(reply.id);
      if (job === undefined) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      this.timeOldestJob(worker);
      job.resolve(reply.classification);
    });
    worker.on('error', (error) => this.failAll(worker, new Error(`the classifier thread failed: ${describe(error)}`)));
    worker.on('messageerror', (error) => this.failAll(worker, new Error(`the classifier thread's answer could not be read: ${describe(error)}`)));
    worker.on('exit', (code) => this.failAll(worker, new Error(`the classifier thread exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }

  /**
   * Times the oldest job in hand, which the worker is on (it takes them one after another, in
   * order): past its time, the worker is terminated and every job in hand rejected.
   */
  private timeOldestJob(worker: Worker): void {
    clearTimeout(this.jobTimer);
    this.jobTimer = undefined;
    const oldest = this.pending.values().next();
    if (oldest.done === true) return;
    const { timeoutMs } = oldest.value;
    this.jobTimer = setTimeout(() => {
      this.failAll(worker, new Error(`the classifier thread timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    // The worker, held while a job is in hand, keeps the process alive; the timer need not.
    this.jobTimer.unref();
  }

  /** Rejects every job in hand and forgets `worker`: the next job starts a new one. */
  private failAll(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    clearTimeout(this.jobTimer);
    this.jobTimer = undefined;
    const jobs = [...this.pending.values()];
    this.pending.clear();
    for (const job of jobs) job.reject(error);
    void worker.terminate().catch(() => undefined);
  }
}

/**
 * A classify function for a long-running surface: large requests (`classifiedOffThread`) by the
 * thread, the others by `inPlace` on the event loop.
 */
export function classifyLargeOffThread(inPlace: () => Promise<ClassifyFunction>, thread = new ClassifierThread()): ClassifyFunction {
  // Once loaded, a small request is classified in the same turn, as the router's own classifier does it.
  let loaded: ClassifyFunction | undefined;
  return (request, options) => {
    if (classifiedOffThread(request)) return thread.classify(request, options);
    if (loaded !== undefined) return loaded(request, options);
    return inPlace().then((classify) => {
      loaded = classify;
      return classify(request, options);
    });
  };
}

/**
 * The worker's script beside this module. Run from source (vitest, tsx) this module is a `.ts` file
 * and Node cannot start a `.ts` worker, so the built one is used (`npm run build`): without it, every
 * large request of an in-process gateway would fail closed to `restricted`.
 */
export function workerScript(moduleUrl: string): URL {
  return moduleUrl.endsWith('.ts') ? new URL('../../dist/classify/worker-thread.js', moduleUrl) : new URL('./worker-thread.js', moduleUrl);
}

function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
