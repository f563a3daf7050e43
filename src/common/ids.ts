import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';

/** Reused by `newId`: the 10 time and 10 random characters, joined once. */
const idCharacters = new Array<string>(20);

/**
 * A sortable, collision-resistant id: `<prefix>_<10 chars of time><10 chars of randomness>`.
 * Time first so ids sort by creation, which keeps evidence listings and exports stable.
 */
export function newId(prefix: string, now: number = Date.now()): string {
  let remaining = now;
  for (let index = 9; index >= 0; index -= 1) {
    idCharacters[index] = CROCKFORD[remaining % 32]!;
    remaining = Math.floor(remaining / 32);
  }
  const offset = reserveRandom(10);
  for (let index = 0; index < 10; index += 1) idCharacters[10 + index] = CROCKFORD[randomPool[offset + index]! % 32]!;
  return `${prefix}_${idCharacters.join('')}`;
}

/** How many of an id's characters after `<prefix>_` are its creation time (`newId`). */
const ID_TIME_CHARACTERS = 10;
const ID_CHARACTERS = 20;

/**
 * When the ids that start with `given` (a whole id, or a prefix of one, lower-case) were created:
 * `newId` puts the creation time, in milliseconds, first. A whole time part gives one millisecond;
 * a shorter prefix the range every id starting with it falls in. Undefined when `given` is not
 * `<prefix>_` followed by at most 20 id characters.
 */
export function idCreationRange(given: string, prefix: string): { earliest: number; latest: number } | undefined {
  if (!given.startsWith(`${prefix}_`)) return undefined;
  const characters = given.slice(prefix.length + 1);
  if (characters.length > ID_CHARACTERS) return undefined;
  let earliest = 0;
  let latest = 0;
  for (let index = 0; index < characters.length; index += 1) {
    const value = CROCKFORD.indexOf(characters[index] as string);
    if (value < 0) return undefined;
    if (index < ID_TIME_CHARACTERS) {
      earliest = earliest * 32 + value;
      latest = latest * 32 + value;
    }
  }
  for (let index = characters.length; index < ID_TIME_CHARACTERS; index += 1) {
    earliest *= 32;
    latest = latest * 32 + 31;
  }
  return { earliest, latest };
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
  const offset = reserveRandom(length);
  return Buffer.from(randomPool.subarray(offset, offset + length));
}

/** Marks `length` (at most the pool's size) unused pool bytes as taken; returns where they start. */
function reserveRandom(length: number): number {
  if (randomOffset + length > randomPool.length) {
    randomPool = randomBytes(RANDOM_POOL_BYTES);
    randomOffset = 0;
  }
  const offset = randomOffset;
  randomOffset += length;
  return offset;
}
