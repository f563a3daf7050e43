import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

/**
 * Long synchronous work (a store read of many rows, a chain walk) keeps the event loop from
 * running: a signal received meanwhile is handled only once the work ends, and a command whose
 * process then has nothing left to do exits before it ever is (a cancelled job exits 0). Such
 * work calls `checkStop` between two steps: the loop runs (the CLI's SIGINT / SIGTERM handler
 * aborts `signal`), and the work stops there with the signal's reason.
 */
export async function checkStop(signal: AbortSignal): Promise<void> {
  await yieldToEventLoop();
  signal.throwIfAborted();
}

/** How many items `pausing` hands out between two `checkStop`s: well under a tenth of a second of work. */
export const ITEMS_BETWEEN_CHECKS = 200;

/** `items`, one by one, with a `checkStop` after every `every` of them. */
export async function* pausing<T>(items: Iterable<T>, signal: AbortSignal, every = ITEMS_BETWEEN_CHECKS): AsyncGenerator<T, void, undefined> {
  signal.throwIfAborted();
  let count = 0;
  for (const item of items) {
    yield item;
    count += 1;
    if (count % every === 0) await checkStop(signal);
  }
}

/**
 * Work written as a generator that pauses (yields) between two steps and returns its result:
 * `runToEnd` drives it straight through, `runPausing` with a `checkStop` at each pause (`signal`
 * aborted rejects with its reason).
 */
export type PausingWork<T> = Generator<void, T, undefined>;

/** `walk` driven straight to its end: its result. */
export function runToEnd<T>(walk: PausingWork<T>): T {
  for (let step = walk.next(); ; step = walk.next()) if (step.done === true) return step.value;
}

/** `walk` driven to its end with a `checkStop` at each of its pauses: its result. */
export async function runPausing<T>(walk: PausingWork<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  for (let step = walk.next(); ; step = walk.next()) {
    if (step.done === true) return step.value;
    await checkStop(signal);
  }
}
