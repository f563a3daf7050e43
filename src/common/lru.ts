/** How much an LRU map may hold in all, by a weight of each entry (its size in bytes, say). */
export interface LruWeights<K, V> {
  /** The most the entries may weigh together; an entry weighing more on its own is not kept. */
  max: number;
  weigh(key: K, value: V): number;
}

/**
 * A map of at most `capacity` entries (and, given `weights`, of at most `weights.max` in all) that
 * forgets the least recently used one first.
 */
export class LruMap<K, V> {
  private readonly entries = new Map<K, { value: V; weight: number }>();
  private totalWeight = 0;

  constructor(
    readonly capacity: number,
    private readonly weights?: LruWeights<K, V>,
  ) {}

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      // A Map iterates in insertion order: re-inserting makes this the most recently used.
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry?.value;
  }

  set(key: K, value: V): void {
    this.delete(key);
    const weight = this.weights?.weigh(key, value) ?? 0;
    // Keeping it would mean forgetting everything else, and still be over.
    if (this.weights !== undefined && weight > this.weights.max) return;
    this.entries.set(key, { value, weight });
    this.totalWeight += weight;
    while (this.entries.size > this.capacity || (this.weights !== undefined && this.totalWeight > this.weights.max)) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.delete(oldest.value);
    }
  }

  delete(key: K): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.totalWeight -= entry.weight;
  }

  get size(): number {
    return this.entries.size;
  }

  /** What the entries weigh together (0 without `weights`). */
  get weight(): number {
    return this.totalWeight;
  }
}
