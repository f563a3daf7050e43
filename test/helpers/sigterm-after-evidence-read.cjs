/**
 * Preloaded (`node --require`) into the CLI by a test: the moment `evidence list` has read a full
 * page of rows and asks for their COUNT, the process sends itself SIGTERM. The signal is handled at
 * the next turn of the event loop, so it lands in what the command does after its read (rendering
 * the table, serialising the document) on any machine, however loaded.
 */
const { createRequire } = require('node:module');
const { join } = require('node:path');

const Database = createRequire(join(__dirname, '..', '..', 'package.json'))('better-sqlite3');
const prepare = Database.prototype.prepare;
Database.prototype.prepare = function prepareThenSignal(source) {
  if (/^SELECT COUNT\(\*\) FROM evidence\b/.test(source)) process.kill(process.pid, 'SIGTERM');
  return prepare.call(this, source);
};
