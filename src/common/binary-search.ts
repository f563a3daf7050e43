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
