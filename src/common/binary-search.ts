/**
 * The index of the last item for which `isAtOrBefore` holds, in a list where it holds for a
 * prefix (items in increasing order, the predicate comparing each with a target); -1 when it
 * holds for none. O(log n).
 */
export function lastAtOrBefore<T>(items: readonly T[], isAtOrBefore: (item: T) => boolean): number {
  let low = 0;
  let high = items.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (isAtOrBefore(items[middle] as T)) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}

/**
 * The smallest index in `[0, count)` for which `holds` resolves true, where it holds for a suffix
 * of the indices (false, …, false, true, …, true); `count` when it holds for none. Asks `holds`
 * at most ⌈log₂(count + 1)⌉ times, and always for the index it returns when that is below `count`
 * (and for `count - 1` when none holds), so a caller that caches what each answer cost can reuse it.
 */
export async function firstHolding(count: number, holds: (index: number) => Promise<boolean>): Promise<number> {
  let low = 0;
  let high = count - 1;
  let found = count;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (await holds(middle)) {
      found = middle;
      high = middle - 1;
    } else {
      low = middle + 1;
    }
  }
  return found;
}
