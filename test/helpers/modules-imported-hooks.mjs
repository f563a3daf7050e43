/** Resolve hook of modules-imported-at-exit.mjs: appends the path of every file module resolved to the file `initialize` was given. */
import { appendFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

let out;

export function initialize(data) {
  out = data.out;
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (resolved.url.startsWith('file:')) appendFileSync(out, `${fileURLToPath(resolved.url)}\n`);
  return resolved;
}
