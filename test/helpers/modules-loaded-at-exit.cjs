/**
 * Preloaded (`node --require`) into the CLI by a test: as the process exits, appends one JSON line to
 * the file `SYNDICATE_TEST_MODULES_OUT` names — the CommonJS modules it loaded (ajv and the other
 * CommonJS packages syndicate loads with `createRequire`), so a test can tell what a command did not load.
 */
process.once('exit', () => {
  require('node:fs').appendFileSync(process.env.SYNDICATE_TEST_MODULES_OUT, `${JSON.stringify(Object.keys(require.cache))}\n`);
});
