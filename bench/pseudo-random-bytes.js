/** `count` bytes that look random (mulberry32 from `seed`): compressed image data to the classifier, the same on every run. */
export function pseudoRandomBytes(count, seed) {
  const bytes = Buffer.alloc(count);
  let state = seed >>> 0;
  for (let index = 0; index < count; index += 1) {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed);
    bytes[index] = (mixed ^ (mixed >>> 14)) & 0xff;
  }
  return bytes;
}
