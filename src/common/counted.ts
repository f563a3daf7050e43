/** `1 row`, `2 rows`: a count and its noun, plural with an s. */
export function counted(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
