/** How much an LRU map may hold in all, by a weight of each entry (its size in bytes, say). */
export interface LruWeights<K, V> {
  /** The most the entries may weigh together; an entry weighing more on its own is not kept. */
  max: number;
  weigh(key: K, value: V): number;
}

interface Entry<K, V> {
  key: K;
  value: V;
  weight: number;
  older: Entry<K, V> | undefined;
  newer: Entry<K, V> | undefined;
}

/**
 * A map of at most `capacity` entries (and, given `weights`, of at most `weights.max` in all) that
 * forgets the least recently used one first.
 */
export class LruMap<K, V> {
  private readonly entries = new Map<K, Entry<K, V>>();
  /**
   * The ends of a list of the entries from the least to the most recently used. Kept beside the Map
   * rather than by re-inserting a used key into it: that would look the key up twice more, and a
   * long string key (an image's base64) is compared character by character at each lookup.
   */
  private oldest: Entry<K, V> | undefined;
  private newest: Entry<K, V> | undefined;
  private totalWeight = 0;

  constructor(
    readonly capacity: number,
    private readonly weights?: LruWeights<K, V>,
  ) {}

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.unlink(entry);
    this.append(entry);
    return entry.value;
  }

  set(key: K, value: V): void {
    this.delete(key);
    const weight = this.weights?.weigh(key, value) ?? 0;
    // Keeping it would mean forgetting everything else, and still be over.
    if (this.weights !== undefined && weight > this.weights.max) return;
    const entry: Entry<K, V> = { key, value, weight, older: undefined, newer: undefined };
    this.entries.set(key, entry);
    this.append(entry);
    this.totalWeight += weight;
    while (this.oldest !== undefined && (this.entries.size > this.capacity || (this.weights !== undefined && this.totalWeight > this.weights.max))) this.remove(this.oldest);
  }

  delete(key: K): void {
    const entry = this.entries.get(key);
    if (entry !== undefined) this.remove(entry);
  }

  get size(): number {
    return this.entries.size;
  }

  /** What the entries weigh together (0 without `weights`). */
  get weight(): number {
    return this.totalWeight;
  }

  private remove(entry: Entry<K, V>): void {
    // The key the entry was stored under: the Map finds it by identity, without comparing.
    this.entries.delete(entry.key);
    this.unlink(entry);
    this.totalWeight -= entry.weight;
  }

  private unlink(entry: Entry<K, V>): void {
    if (entry.older === undefined) this.oldest = entry.newer;
    else entry.older.newer = entry.newer;
    if (entry.newer === undefined) this.newest = entry.older;
    else entry.newer.older = entry.older;
    entry.older = undefined;
    entry.newer = undefined;
  }

  private append(entry: Entry<K, V>): void {
    entry.older = this.newest;
    if (this.newest === undefined) this.oldest = entry;
    else this.newest.newer = entry;
    this.newest = entry;
  }
}
