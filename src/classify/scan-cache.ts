import { textDigest } from '../common/hash.js';
import { LruMap } from '../common/lru.js';
import type { Detector, DetectorContext, DetectorMatch } from './types.js';

/** `String.prototype.isWellFormed` (Node 20; the ES2024 lib this project does not build against). */
type WellFormedCheck = string & { isWellFormed(): boolean };

/** Parts shorter than this are scanned again: hashing and the lookup would cost about as much. */
export const MIN_CACHED_PART_LENGTH = 256;
/** Remembered part scans; the least recently used goes first. */
export const MAX_CACHED_PARTS = 4096;

/**
 * What the detectors found in request parts already scanned, so an agent resending its whole
 * conversation every turn (system prompt, tool definitions, earlier messages) has only the new
 * parts scanned. Keyed by the SHA-256 of the part's text (~1.3 GB/s here against the detectors'
 * ~50–80 MB/s) and the detector configuration: no prompt text is kept, and a policy reload (new
 * indicator words or patterns) starts from nothing. Callers store only complete, successful scans.
 */
export class PartScanCache {
  private readonly scans: LruMap<string, readonly DetectorMatch[]>;
  private readonly configurationIds = new WeakMap<object, number>();
  private nextConfigurationId = 1;

  constructor(capacity = MAX_CACHED_PARTS) {
    this.scans = new LruMap(capacity);
  }

  /**
   * The key of `text` under this configuration, or undefined when the part is too short to cache
   * or holds a lone surrogate: SHA-256 hashes its UTF-8, where every lone surrogate is U+FFFD, so
   * it would share its key with a different text.
   */
  keyOf(text: string, detectors: readonly Detector[], context: DetectorContext): string | undefined {
    if (text.length < MIN_CACHED_PART_LENGTH || !(text as WellFormedCheck).isWellFormed()) return undefined;
    return `${this.idOf(detectors)}.${this.idOf(context.indicatorWords)}.${this.idOf(context.patterns)}:${textDigest(text)}`;
  }

  get(key: string): readonly DetectorMatch[] | undefined {
    return this.scans.get(key);
  }

  set(key: string, matches: readonly DetectorMatch[]): void {
    this.scans.set(key, matches);
  }

  get size(): number {
    return this.scans.size;
  }

  private idOf(configuration: object): number {
    let id = this.configurationIds.get(configuration);
    if (id === undefined) {
      id = this.nextConfigurationId;
      this.nextConfigurationId += 1;
      this.configurationIds.set(configuration, id);
    }
    return id;
  }
}
