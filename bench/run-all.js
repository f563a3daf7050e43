// `npm run bench`: runs every benchmark against the built dist/ and prints markdown rows
// for bench/RESULTS.md, headed by the machine and the date.
import { cpus, totalmem } from 'node:os';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const benches = ['startup.js', 'cli-start.js', 'evidence.js', 'classify.js', 'classify-images.js', 'metrics.js'].filter((name) => existsSync(`${here}${name}`));

const cpu = cpus()[0]?.model ?? 'unknown cpu';
console.log(`## ${new Date().toISOString().slice(0, 10)} — ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}/${process.arch}\n`);
console.log('| area | measurement | result | target | verdict |');
console.log('|---|---|---|---|---|');
let failed = false;
for (const name of benches) {
  const result = spawnSync(process.execPath, [`${here}${name}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  process.stdout.write(result.stdout);
  process.stdout.write('\n');
  if (result.status !== 0) {
    console.log(`| ${name} | exited ${result.status} | - | - | FAIL |`);
    failed = true;
  }
  if (/\| FAIL \|/.test(result.stdout)) failed = true;
}
process.exitCode = failed ? 1 : 0;
