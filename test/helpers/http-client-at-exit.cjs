// Preloaded into a syndicate process (NODE_OPTIONS=--require …): when it exits, writes to the file
// SYNDICATE_TEST_BUILTINS_FILE the node builtins of `fetch` (undici) it loaded, as a JSON array.
// Node 20 loads undici on the first `fetch`, `Request`, `Response` or `Headers`.
const { writeFileSync } = require('node:fs');

process.once('exit', () => {
  const loaded = process.moduleLoadList.filter((name) => name.includes('internal/deps/undici'));
  writeFileSync(process.env.SYNDICATE_TEST_BUILTINS_FILE, JSON.stringify(loaded));
});
