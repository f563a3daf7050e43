import { SyndicateError, ExitCode, type SyndicateErrorOptions } from '../../errors.js';

/** Raised when the queue is full or closing; the HTTP layer answers 503. */
export class EngineBusyError extends SyndicateError {
  constructor(message: string, options?: SyndicateErrorOptions) {
    super('engine_busy', ExitCode.upstream, message, options);
  }
}

interface Waiter {
  resolve: (slot: number) => void;
  reject: (error: Error) => void;
}

/**
 * First in, first out over a fixed number of slots (the engine's sequences): a request runs as
 * soon as a slot is free, otherwise waits its turn; more than `maxWaiting` waiting requests are
 * refused at once rather than queued without bound.
 */
export class SlotQueue {
  private readonly free: number[];
  private readonly waiting: Waiter[] = [];
  private closed = false;
  private running = 0;

  constructor(
    slots: number,
    readonly maxWaiting: number,
  ) {
    this.free = Array.from({ length: slots }, (_, index) => index);
  }

  /** Requests generating now. */
  get active(): number {
    return this.running;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Runs `task` on a free slot, after every request that arrived earlier. A request whose
   * `signal` aborts while it waits leaves the queue without running.
   */
  async run<T>(task: (slot: number) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const slot = await this.acquire(signal);
    this.running += 1;
    try {
      return await task(slot);
    } finally {
      this.running -= 1;
      this.release(slot);
    }
  }

  /** Refuses every waiting request and any new one; running tasks finish. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter.reject(new EngineBusyError('the engine is shutting down', { hint: 'send the request again once the engine has restarted' }));
  }

  private acquire(signal: AbortSignal | undefined): Promise<number> {
    if (this.closed) return Promise.reject(new EngineBusyError('the engine is shutting down', { hint: 'send the request again once the engine has restarted' }));
    const slot = this.waiting.length === 0 ? this.free.shift() : undefined;
    if (slot !== undefined) return Promise.resolve(slot);
    if (this.waiting.length >= this.maxWaiting) {
      return Promise.reject(
        new EngineBusyError(`the engine is busy: ${this.waiting.length === 1 ? '1 request is' : `${this.waiting.length} requests are`} already waiting`, { hint: 'retry later, or restart the engine with a larger --parallel' }),
      );
    }
    return new Promise<number>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject };
      this.waiting.push(waiter);
      signal?.addEventListener(
        'abort',
        () => {
          const index = this.waiting.indexOf(waiter);
          if (index === -1) return;
          this.waiting.splice(index, 1);
          reject(new EngineBusyError('the client went away while the request waited'));
        },
        { once: true },
      );
    });
  }

  private release(slot: number): void {
    const next = this.waiting.shift();
    if (next !== undefined) next.resolve(slot);
    else this.free.push(slot);
  }
}
