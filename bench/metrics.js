// `syndicate metrics` over a large store: N envelopes (default 100 000, BENCH_METRICS_ROWS) spread
// over the last 23 hours — three local answers for every hosted one — written through the real
// evidence API into a fresh home, then `metrics --since 24h --json` through the CLI (wall time and
// the process's peak RSS, from /usr/bin/time's figures in /proc) and `computeMetrics` in process.
// No target in the issues; the figures show how the summary scales with the evidence it reads.
// Prints markdown rows.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beginAttempt, completeAttempt, createRecorder } from '../dist/evidence/index.js';
import { computeMetrics } from '../dist/metrics/index.js';
import { defaultPolicy } from '../dist/policy/defaults.js';
import { openStore } from '../dist/store/store.js';

const bin = fileURLToPath(new URL('../bin/syndicate.js', import.meta.url));
const rows = Number(process.env.BENCH_METRICS_ROWS ?? 100_000);
const home = mkdtempSync(join(tmpdir(), 'syndicate-bench-metrics-'));
try {
  const init = spawnSync(process.execPath, [bin, '--home', home, 'init'], { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`init failed: ${init.stderr}`);
  const store = openStore(join(home, 'syndicate.db'));
  const now = Date.now();
  const route = { chosen: { provider: 'ollama', model: 'llama3.2:3b', warm: true }, candidates: ['ollama:llama3.2:3b', 'claude:claude-sonnet-4-5'], reasons: ['local preferred for interactive work'] };
  for (let index = 0; index < rows; index += 1) {
    const at = now - Math.floor((index / rows) * 23 * 3_600_000);
    const local = index % 4 !== 0;
    const id = beginAttempt(store, {
      requestId: `req_${index}`,
      hop: 0,
      kind: 'invocation',
      caller: 'bench',
      provider: local ? { id: 'ollama', version: 1, class: 'local' } : { id: 'claude', version: 1, class: 'approved_hosted' },
      model: local ? 'llama3.2:3b' : 'claude-sonnet-4-5',
      permitId: 'pmt_bench',
      permit: { providerId: 'ollama', providerVersion: 1, model: 'llama3.2:3b', maxSensitivity: 'internal', nonce: 'n', expiresAt: 0 },
      permitToken: 'syn1.bench.signature',
      sensitivity: index % 10 === 0 ? 'restricted' : 'internal',
      route: { ...route, chosen: { ...route.chosen, warm: index % 50 !== 0 } },
      streamed: false,
      now: at,
    });
    const recorder = createRecorder(store, id);
    recorder.onRequest({ method: 'POST', url: 'http://127.0.0.1:11434/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: '{"model":"llama3.2:3b","messages":[{"role":"user","content":"hi"}]}' });
    recorder.onResponseStart({ status: 200, headers: { 'content-type': 'application/json' }, atMs: 3 });
    recorder.onChunk(Buffer.from('{"choices":[{"message":{"content":"hello"}}]}'), 40);
    recorder.onEnd({ atMs: 41, complete: true });
    completeAttempt(store, id, {
      state: 'completed',
      firstTokenMs: 20 + (index % 97),
      totalMs: 40 + (index % 311),
      usage: { inputTokens: 500, outputTokens: 200, ...(local ? {} : { cachedInputTokens: 400 }) },
      tokenAccounting: 'exact',
      verbatimCapture: 'full',
      toolCallFidelity: 'not_applicable',
      markers: [],
      warnings: [],
      ...(local ? {} : { costUsd: 0.0042 }),
      now: at + 41,
    });
  }
  const started = performance.now();
  const summary = computeMetrics(store, defaultPolicy(), { sinceMs: now - 24 * 3_600_000, untilMs: now + 60_000 });
  const inProcessSeconds = (performance.now() - started) / 1000;
  store.close();
  if (summary.requests.total !== rows) throw new Error(`expected ${rows} answered requests, the summary has ${summary.requests.total}`);

  // GNU time gives the child's peak RSS; without it, the wall time alone.
  const timed = existsSync('/usr/bin/time');
  const command = [process.execPath, bin, '--home', home, '--json', 'metrics', '--since', '24h'];
  const cliStarted = performance.now();
  const cli = timed ? spawnSync('/usr/bin/time', ['-f', '%e %M', ...command], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }) : spawnSync(command[0], command.slice(1), { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const cliSeconds = (performance.now() - cliStarted) / 1000;
  if (cli.status !== 0) throw new Error(`metrics failed: ${cli.stderr}`);
  const peakKb = timed ? Number(cli.stderr.trim().split('\n').at(-1).split(' ')[1]) : undefined;
  const peak = peakKb === undefined ? '' : `; ${(peakKb / 1024).toFixed(0)} MB`;
  console.log(`| metrics | \`metrics --since 24h --json\` over ${rows} envelopes (CLI, wall${timed ? '; peak RSS' : ''}) | ${cliSeconds.toFixed(2)} s${peak} | - | - |`);
  console.log(`| metrics | \`computeMetrics\` over the same, in process | ${inProcessSeconds.toFixed(2)} s | - | - |`);
} finally {
  rmSync(home, { recursive: true, force: true });
}
