/**
 * A timeout acted on only once the process has read what was waiting in its sockets. Timers run
 * before the process polls for I/O: one that ran out while this process itself was stalled (a
 * loaded machine, a long collection) would blame the other end for bytes waiting in the socket all
 * along. So `expire` runs one immediate later (an immediate runs after the poll for I/O), and only
 * if nothing read meanwhile moved the timeout (`refresh`) or ended the wait (`clear`).
 */
export class IoAwareTimeout {
  private readonly timer: NodeJS.Timeout;
  /** How many times it was moved: a run-out is acted on only if it has not moved since. */
  private moves = 0;
  private cleared = false;

  constructor(ms: number, expire: () => void) {
    this.timer = setTimeout(() => {
      const seen = this.moves;
      setImmediate(() => {
        if (!this.cleared && this.moves === seen) expire();
      });
    }, ms);
  }

  /** Starts its time again (a stream's idle clock on every chunk), allocating nothing; a run-out not yet acted on is dropped. */
  refresh(): void {
    this.moves += 1;
    this.timer.refresh();
  }

  /** Ends the wait: it will not expire, a run-out not yet acted on included. */
  clear(): void {
    this.cleared = true;
    clearTimeout(this.timer);
  }

  /** Lets the process exit while it is pending. */
  unref(): this {
    this.timer.unref();
    return this;
  }
}
