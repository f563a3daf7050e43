/**
 * Preloaded (`node --require`) into a syndicate process: every worker thread it starts exits (code
 * 70) on the first message its parent posts, before answering it — a classifier thread that dies
 * with a request in hand. The main thread is left as it is.
 */
const { isMainThread, parentPort } = require('node:worker_threads');

if (!isMainThread) parentPort?.once('message', () => process.exit(70));
