// The first request of a freshly started `syndicate serve` against the ones after it: for each of
// ROUNDS rounds (default 5) a new home and gateway, the time from spawning `serve` to its
// "listening" line, then 6 requests one after the other, each followed by a /metrics scrape whose
// `syndicate_gateway_before_upstream_seconds` sum says that request's time before the upstream.
// PRICED=1 also registers a priced hosted model (never called), with which every route counts the
// prompt's tokens. BINS=a/bin/syndicate.js,b/bin/syndicate.js interleaves builds round by round.
// Run: node bench/gateway/first-request.js
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchProcesses, median, pause } from './processes.js';

const bins = (process.env.BINS ?? fileURLToPath(new URL('../../bin/syndicate.js', import.meta.url))).split(',');
const rounds = Number(process.env.ROUNDS ?? 5);
const priced = process.env.PRICED === '1';
const body = JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'Summarise the following release note in one sentence: the scheduler now retries failed jobs with exponential backoff.' }], max_tokens: 64, stream: false });

async function oneRound(bin, upstream) {
  const home = mkdtempSync(join(tmpdir(), 'syndicate-bench-first-'));
  const cli = (args) => {
    const result = spawnSync(process.execPath, [bin, '--home', home, ...args], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`syndicate ${args.join(' ')}: ${result.stderr}`);
  };
  cli(['init']);
  writeFileSync(join(home, 'bench.yaml'), `apiVersion: syndicate/v1\nkind: Provider\nid: bench\nclass: local\nwire: openai\nbaseUrl: ${upstream}/v1\nmodels:\n  - id: bench-model\n    contextWindow: 8192\n    capabilityClass: small\n`);
  cli(['provider', 'register', join(home, 'bench.yaml')]);
  if (priced) {
    writeFileSync(join(home, 'hosted.yaml'), 'apiVersion: syndicate/v1\nkind: Provider\nid: hosted\nclass: approved_hosted\nwire: anthropic\nbaseUrl: https://api.anthropic.com\nauth:\n  env: BENCH_UNSET_KEY\nmodels:\n  - id: claude-bench\n    contextWindow: 200000\n    capabilityClass: large\n    price:\n      inputPerMTok: 3\n      outputPerMTok: 15\n');
    cli(['provider', 'register', join(home, 'hosted.yaml')]);
  }
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${readFileSync(join(home, 'gateway.token'), 'utf8').trim()}` };
  const started = performance.now();
  const child = spawn(bin, ['--home', home, '--json', 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const url = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (data) => {
        out += data;
        try {
          resolve(JSON.parse(out).url);
        } catch {
          // not a whole line yet
        }
      });
      child.once('exit', () => reject(new Error('serve exited')));
    });
    const readyMs = performance.now() - started;
    const scrape = async () => {
      const text = await (await fetch(`${url}/metrics`, { headers })).text();
      return Number(/^syndicate_gateway_before_upstream_seconds_sum\{api="openai",class="local"\} (\S+)$/m.exec(text)?.[1] ?? 0) * 1000;
    };
    const before = [];
    let sum = 0;
    for (let request = 0; request < 6; request += 1) {
      await (await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers, body })).text();
      const now = await scrape();
      before.push(now - sum);
      sum = now;
    }
    return { readyMs, first: before[0], next: median(before.slice(1)) };
  } finally {
    child.kill('SIGTERM');
    await pause(300);
    rmSync(home, { recursive: true, force: true });
  }
}

const processes = new BenchProcesses();
try {
  const upstream = await processes.startUpstream();
  await (await fetch(`${upstream}/v1/models`)).text(); // this process's own fetch loaded, not timed
  const results = bins.map(() => []);
  for (let round = 0; round < rounds; round += 1) for (const [index, bin] of bins.entries()) results[index].push(await oneRound(bin, upstream));
  console.log(`| build | serve start to listening, median ms | first request before upstream, median ms (min–max) | next 5, median of their medians ms |`);
  console.log('|---|---:|---:|---:|');
  for (const [index, bin] of bins.entries()) {
    const rows = results[index];
    const firsts = rows.map((row) => row.first);
    console.log(`| ${bin} | ${median(rows.map((row) => row.readyMs)).toFixed(0)} | ${median(firsts).toFixed(1)} (${Math.min(...firsts).toFixed(1)}–${Math.max(...firsts).toFixed(1)}) | ${median(rows.map((row) => row.next)).toFixed(1)} |`);
  }
} finally {
  await processes.stopAll();
}
