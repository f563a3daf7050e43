/**
 * Preloaded (`node --import`) into the CLI by a test: every module the process loads, ES modules
 * (this file's resolve hook, which the CommonJS `require.cache` of modules-loaded-at-exit.cjs does
 * not see: gpt-tokenizer, chalk, commander's ESM entry, syndicate's own dist/) and CommonJS ones
 * (read as the process exits), is appended to the file `SYNDICATE_TEST_MODULES_OUT` names, one
 * path a line, so a test can tell what a command did not load.
 */
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const out = process.env.SYNDICATE_TEST_MODULES_OUT;
register(new URL('./modules-imported-hooks.mjs', import.meta.url), { data: { out } });
const require = createRequire(import.meta.url);
process.once('exit', () => {
  const loaded = Object.keys(require.cache).filter((path) => path.startsWith('/'));
  appendFileSync(out, loaded.map((path) => `${path}\n`).join(''));
});
