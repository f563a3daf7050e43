// `npm run bench:footprint`: what an install puts on disk. Installs syndicate's runtime
// dependencies alone (`npm ci --omit=dev`, as a user's install gets them) in a scratch copy of
// package.json + package-lock.json, and measures the embedded engine directory that
// `syndicate engine install` fills, and this checkout's full development node_modules.
// Prints markdown rows for bench/RESULTS.md.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { engineDirectory } = await import(join(root, 'dist', 'engines', 'runtime.js'));

function megabytes(path) {
  return Number(execFileSync('du', ['-sm', path], { encoding: 'utf8' }).split('\t')[0]);
}

const scratch = mkdtempSync(join(tmpdir(), 'syndicate-footprint-'));
copyFileSync(join(root, 'package.json'), join(scratch, 'package.json'));
copyFileSync(join(root, 'package-lock.json'), join(scratch, 'package-lock.json'));
console.error('npm ci --omit=dev in a scratch directory (better-sqlite3 may build from source: ~1 min)');
execFileSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: scratch, stdio: ['ignore', 'ignore', 'inherit'] });
const runtime = megabytes(join(scratch, 'node_modules'));
const largest = execFileSync('sh', ['-c', 'du -sm node_modules/* node_modules/@*/* 2>/dev/null | sort -rn | head -4'], { cwd: scratch, encoding: 'utf8' })
  .trim()
  .split('\n')
  .map((line) => line.replace(/\s+node_modules\//, ' MB ').trim())
  .join(', ');
rmSync(scratch, { recursive: true, force: true });

const engine = existsSync(engineDirectory()) ? megabytes(join(engineDirectory(), 'node_modules')) : undefined;
const development = existsSync(join(root, 'node_modules')) ? megabytes(join(root, 'node_modules')) : undefined;

console.log('| install | node_modules | target | verdict |');
console.log('|---|---:|---|---|');
console.log(`| default install (\`npm ci --omit=dev\`: what a user's install gets) — largest: ${largest} | ${runtime} MB | ≤ 150 MB | ${runtime <= 150 ? 'pass' : 'FAIL'} |`);
console.log(`| embedded engine, CPU (\`syndicate engine install\`, its own directory) | ${engine === undefined ? 'not installed' : `${engine} MB`} | - | - |`);
if (engine !== undefined) console.log(`| default install + CPU engine together | ${runtime + engine} MB | - | - |`);
console.log(`| this checkout with development dependencies (\`npm ci\`: TypeScript, vitest, the openai and anthropic SDKs) | ${development ?? '-'} MB | - | - |`);
