import { InterruptedError } from '../errors.js';

/**
 * Ctrl-C for work that can record its own cancellation. The entry point owns SIGINT: outside
 * `cancellable` the first one exits at once; inside it (`run`'s invocation), the first one aborts
 * the work's signal so the pipeline finishes the attempt's evidence as cancelled by the caller,
 * and the entry point exits 130 once the command returns (or at its deadline).
 */
let active: AbortController | undefined;
let interrupted = false;

/** Runs `work` with a signal the operator's first Ctrl-C aborts (with an `InterruptedError` as its reason). */
export async function cancellable<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  active = controller;
  try {
    return await work(controller.signal);
  } finally {
    if (active === controller) active = undefined;
  }
}

/**
 * Called by the entry point on SIGINT. True when cancellable work was told to stop: the caller
 * should then let it finish; false when there is none (or it was already told), and the caller
 * exits at once.
 */
export function interruptCancellable(): boolean {
  interrupted = true;
  if (active === undefined || active.signal.aborted) return false;
  active.abort(
    new InterruptedError('cancelled by the operator (Ctrl-C) before the answer ended', {
      hint: 'the attempt is recorded as cancelled by the caller, with what was received so far',
    }),
  );
  return true;
}

/** Whether SIGINT was received: the command's exit code is then 130 whatever it returned. */
export function wasInterrupted(): boolean {
  return interrupted;
}
