import { describe, expect, it } from 'vitest';
import { cancelForClosedOutput, cancellable, cancelRecording, interruptCancellable, recordingCancellation, wasInterrupted } from '../../../src/cli/interrupt.js';
import { InterruptedError } from '../../../src/errors.js';

describe('Ctrl-C and cancellable work', () => {
  it('outside cancellable work there is nothing to cancel: the entry point exits at once', () => {
    expect(interruptCancellable()).toBe(false);
    expect(wasInterrupted()).toBe(true);
  });

  it('the first Ctrl-C aborts the work with an InterruptedError (exit 130); a second finds nothing left to cancel', async () => {
    const reasons: unknown[] = [];
    const answers: boolean[] = [];
    await cancellable(async (signal) => {
      signal.addEventListener('abort', () => reasons.push(signal.reason));
      answers.push(interruptCancellable(), interruptCancellable());
    });
    expect(answers).toEqual([true, false]);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toBeInstanceOf(InterruptedError);
    expect((reasons[0] as InterruptedError).exitCode).toBe(130);
    expect((reasons[0] as InterruptedError).code).toBe('interrupted');
  });

  it('SIGTERM aborts the work the same way, with its own message and exit code 143', async () => {
    const reasons: unknown[] = [];
    await cancellable(async (signal) => {
      signal.addEventListener('abort', () => reasons.push(signal.reason));
      interruptCancellable('SIGTERM');
    });
    expect(reasons[0]).toBeInstanceOf(InterruptedError);
    expect((reasons[0] as InterruptedError).exitCode).toBe(143);
    expect((reasons[0] as InterruptedError).message).toBe('terminated (SIGTERM) before the answer ended');
  });

  it('SIGHUP (its terminal closed) aborts the work the same way, with its own message and exit code 129', async () => {
    const reasons: unknown[] = [];
    await cancellable(async (signal) => {
      signal.addEventListener('abort', () => reasons.push(signal.reason));
      interruptCancellable('SIGHUP');
    });
    expect(reasons[0]).toBeInstanceOf(InterruptedError);
    expect((reasons[0] as InterruptedError).exitCode).toBe(129);
    expect((reasons[0] as InterruptedError).message).toBe('hung up (SIGHUP: its terminal or session closed) before the answer ended');
  });

  it("the hints name the stopped command's own options, and none it does not have", async () => {
    const hintOf = async (stop: () => void, options?: Parameters<typeof cancellable>[1]): Promise<string | undefined> => {
      let reason: unknown;
      await cancellable(async (signal) => {
        stop();
        reason = signal.reason;
      }, options);
      return (reason as InterruptedError).hint;
    };
    const sigterm = (): void => void interruptCancellable('SIGTERM');
    expect(await hintOf(sigterm, { timeoutOption: 'syndicate embed --timeout' })).toMatch(/give a job more time, or `syndicate embed --timeout` less$/);
    // `engine start` through `serve --start-engines` has no --timeout of its own.
    expect(await hintOf(sigterm)).toMatch(/; give a job more time$/);
    const closed = (): void => void cancelForClosedOutput();
    expect(await hintOf(closed, { shorterOutputOption: '--max-tokens' })).toMatch(/; read the whole output, or ask for less with --max-tokens$/);
    // `embed` has no --max-tokens.
    expect(await hintOf(closed, { timeoutOption: 'syndicate embed --timeout' })).toMatch(/; read the whole output$/);
  });

  it('the recording of a cancellation starts only once the work was told to stop and its call stopped: the entry point waits for it past its deadline', async () => {
    await cancellable(async () => {
      // A pipeline recording an attempt that was not cancelled: nothing for the deadline to wait for.
      cancelRecording();
      expect(recordingCancellation()).toBe(false);
      interruptCancellable();
      expect(recordingCancellation()).toBe(false);
      cancelRecording();
      expect(recordingCancellation()).toBe(true);
    });
  });

  it('once the work has returned, Ctrl-C no longer reaches it', async () => {
    let seen: AbortSignal | undefined;
    await cancellable(async (signal) => {
      seen = signal;
    });
    expect(interruptCancellable()).toBe(false);
    expect(seen?.aborted).toBe(false);
  });
});
