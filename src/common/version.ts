import { readFileSync } from 'node:fs';

/** syndicate's own version, from its package.json (`--version`, the MCP server's `initialize`). */
export function syndicateVersion(): string {
  const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return packageJson.version;
}
