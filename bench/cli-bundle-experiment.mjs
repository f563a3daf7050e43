// An experiment, not part of the build: bundles the CLI built by `npm run build` (dist/cli/main.js)
// into dist/bundle/ with rolldown (present here through vitest's vite; not a declared dependency),
// to measure whether fewer modules make `syndicate` start cheaper (bench/RESULTS.md, "A bundled CLI"):
//
//   npm run build && node bench/cli-bundle-experiment.mjs
//   node bench/cli-start.js bin/syndicate.js dist/bundle/main.js     # interleaved, median CPU
//
// ESM with rolldown's automatic code splitting, so each dynamic import (a command's module, the
// gateway, the classifier, the tokenizer, prom-client, the MCP SDK) stays a chunk of its own, loaded
// when its path runs. Every chunk is written one folder below dist/, as each source module was, so
// the paths syndicate reads relative to its own module (`../../schemas/`, `../../providers/`,
// `../../package.json`, `../../dist/validation/generated/`) still resolve. better-sqlite3 stays
// external (native; the checkpoint worker requires it by the path `import.meta.resolve` gives).
// yaml, required synchronously through `createRequire` (validation/yaml-source.ts), is bundled
// into one CommonJS file (dist/bundle/yaml.cjs) that both that require and `policy show`'s
// `import('yaml')` load. The npm registry packages bundled along: commander, chalk, ajv's runtime…
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/bundle`;
const EXTERNAL = /^(node:|better-sqlite3)/;

const vendoredYaml = {
  name: 'vendored-yaml',
  resolveId: (source) => (source === 'yaml' ? { id: './yaml.cjs', external: true } : null),
  transform(code, id) {
    if (!id.endsWith('/validation/yaml-source.js')) return null;
    const required = "createRequire(import.meta.url)('yaml')";
    if (!code.includes(required)) throw new Error(`${id} no longer requires yaml as ${required}: update this experiment`);
    return code.replace(required, "createRequire(import.meta.url)('./yaml.cjs')");
  },
};

rmSync(out, { recursive: true, force: true });
await build({ input: `${root}node_modules/yaml/dist/index.js`, platform: 'node', output: { file: `${out}/yaml.cjs`, format: 'cjs' }, logLevel: 'warn' });
await build({
  input: { main: `${root}dist/cli/main.js` },
  platform: 'node',
  plugins: [vendoredYaml],
  external: (id) => EXTERNAL.test(id),
  output: { dir: out, format: 'esm', chunkFileNames: '[name]-[hash].js' },
  logLevel: 'silent',
});
console.log(`bundled into ${out}`);
