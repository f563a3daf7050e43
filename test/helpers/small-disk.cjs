/**
 * Preloaded (`node --require`) into a syndicate process to make its file systems look nearly full:
 * `fs.statfsSync` reports SYNDICATE_TEST_FREE_BYTES available (its other fields as they are), for
 * the `import { statfsSync } from 'node:fs'` of the ES modules too.
 */
const fs = require('node:fs');
const { syncBuiltinESMExports } = require('node:module');

const freeBytes = Number(process.env.SYNDICATE_TEST_FREE_BYTES);
if (!Number.isSafeInteger(freeBytes) || freeBytes < 0) throw new Error(`small-disk.cjs: SYNDICATE_TEST_FREE_BYTES must be a number of bytes, got ${process.env.SYNDICATE_TEST_FREE_BYTES}`);
const statfsSync = fs.statfsSync;
fs.statfsSync = (path, options) => {
  const stats = statfsSync(path, options);
  const bavail = Math.floor(freeBytes / Number(stats.bsize));
  return Object.assign(Object.create(Object.getPrototypeOf(stats)), stats, { bavail: typeof stats.bavail === 'bigint' ? BigInt(bavail) : bavail });
};
syncBuiltinESMExports();
