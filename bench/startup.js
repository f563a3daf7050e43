// Start-up benchmark: wall time of `syndicate --version` as an operator's shell sees it
// (process spawn + Node start + CLI import). Target: median <= 100 ms.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/syndicate.js', import.meta.url));
const runs = Number(process.env.BENCH_RUNS ?? 30);

function timeOnce(args, script = bin) {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, script === null ? args : [script, ...args], { encoding: 'utf8' });
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`syndicate ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return elapsed;
}

function summarize(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { median: at(0.5), p95: at(0.95), min: sorted[0] };
}

export function runStartupBenchmark() {
  const rows = [];
  for (const args of [['--version'], ['--help']]) {
    timeOnce(args); // warm the file cache
    const samples = Array.from({ length: runs }, () => timeOnce(args));
    const { median, p95, min } = summarize(samples);
    const target = args[0] === '--version' ? '≤ 100 ms median' : '-';
    const verdict = args[0] === '--version' ? (median <= 100 ? 'pass' : 'FAIL') : '-';
    rows.push(`| start-up | \`syndicate ${args.join(' ')}\` (${runs} runs) | median ${median.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, min ${min.toFixed(1)} ms | ${target} | ${verdict} |`);
  }
  // The floor on this machine: Node starting and exiting with nothing to do. On a shared VM it
  // moves from day to day, and with it every start-up figure above.
  timeOnce(['-e', '0'], null);
  const bare = summarize(Array.from({ length: runs }, () => timeOnce(['-e', '0'], null)));
  rows.push(`| start-up | \`node -e 0\` (${runs} runs): Node alone, the floor under the rows above | median ${bare.median.toFixed(1)} ms, p95 ${bare.p95.toFixed(1)} ms, min ${bare.min.toFixed(1)} ms | - | - |`);
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const row of runStartupBenchmark()) console.log(row);
}
