/**
 * Stop strings applied to the generated text the way llama-server applies them: the answer ends
 * right before the first occurrence, and while streaming, text that could still turn out to be
 * the start of a stop string is held back until it cannot. (node-llama-cpp's own stop triggers
 * re-detokenize a token cut by the trigger, which can change its spacing.)
 */
export class StopStringFilter {
  private text = '';
  private emitted = 0;
  private stopped = false;

  constructor(private readonly stops: readonly string[]) {}

  /** True once a stop string was found; later text is ignored. */
  get matched(): boolean {
    return this.stopped;
  }

  /** The answer so far, cut before the stop string once one was found. */
  get answer(): string {
    return this.text;
  }

  /** Adds generated text; returns the part that is now safe to send. */
  push(chunk: string): string {
    if (this.stopped || chunk === '') return '';
    this.text += chunk;
    let cut = -1;
    for (const stop of this.stops) {
      const index = this.text.indexOf(stop, Math.max(0, this.emitted - stop.length + 1));
      if (index !== -1 && (cut === -1 || index < cut)) cut = index;
    }
    if (cut !== -1) {
      this.stopped = true;
      this.text = this.text.slice(0, cut);
      return this.release(this.text.length);
    }
    return this.release(this.text.length - this.heldBack());
  }

  /** The end of generation: everything not yet sent. */
  flush(): string {
    return this.release(this.text.length);
  }

  /** Length of the longest suffix of the text that is a proper prefix of some stop string. */
  private heldBack(): number {
    let longest = 0;
    for (const stop of this.stops) {
      for (let length = Math.min(stop.length - 1, this.text.length); length > longest; length -= 1) {
        if (this.text.endsWith(stop.slice(0, length))) {
          longest = length;
          break;
        }
      }
    }
    return longest;
  }

  private release(upTo: number): string {
    if (upTo <= this.emitted) return '';
    const part = this.text.slice(this.emitted, upTo);
    this.emitted = upTo;
    return part;
  }
}
