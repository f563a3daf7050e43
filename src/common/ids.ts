import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * A sortable, collision-resistant id: `<prefix>_<10 chars of time><16 chars of randomness>`.
 * Time first so ids sort by creation, which keeps evidence listings and exports stable.
 */
export function newId(prefix: string, now: number = Date.now()): string {
  let time = '';
  let remaining = now;
  for (let index = 0; index < 10; index += 1) {
    time = CROCKFORD[remaining % 32] + time;
    remaining = Math.floor(remaining / 32);
  }
  const random = pooledRandomBytes(10);
  let tail = '';
  for (const byte of random) tail += CROCKFORD[byte % 32];
  return `${prefix}_${time}${tail.slice(0, 16)}`;
}

const RANDOM_POOL_BYTES = 4096;
let randomPool = Buffer.alloc(0);
let randomOffset = 0;

/**
 * `length` bytes from the CSPRNG, drawn from a pool refilled 4 KB at a time: one `randomBytes`
 * call costs microseconds whatever its size, and the gateway takes several ids per request.
 * Each byte is handed out once. Returns a copy, never a view of the pool.
 */
export function pooledRandomBytes(length: number): Buffer {
  if (length > RANDOM_POOL_BYTES) return randomBytes(length);
  if (randomOffset + length > randomPool.length) {
    randomPool = randomBytes(RANDOM_POOL_BYTES);
    randomOffset = 0;
  }
  const bytes = Buffer.from(randomPool.subarray(randomOffset, randomOffset + length));
  randomOffset += length;
  return bytes;
}
