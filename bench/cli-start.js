// Start-up cost of everyday commands: median user+sys CPU and wall of each command line below,
// run as a shell script runs them (`node bin/syndicate.js …` under /usr/bin/time), in a home
// prepared with `init` and one local engine registered: the gateway benchmark's OpenAI-wire
// upstream on loopback (bench/gateway/upstream.js; it answers `run hello`, non-streamed).
// `BENCH_RUNS` runs each (default 5); `SYNDICATE_BIN` measures another build's launcher (e.g. a worktree of main, for a before/after).
// Prints markdown rows for bench/RESULTS.md.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startUpstream } from './gateway/upstream.js';

const bin = process.env.SYNDICATE_BIN ?? fileURLToPath(new URL('../bin/syndicate.js', import.meta.url));
const runs = Number(process.env.BENCH_RUNS ?? 5);
const MODEL = 'bench-model'; // the upstream's one model

const COMMANDS = [
  ['--version'],
  ['provider', 'list'],
  ['evidence', 'list'],
  ['route', 'hello'],
  ['run', 'hello'],
  ['evidence', 'verify'],
  ['session', 'list'],
  ['policy', 'show'],
  ['metrics'],
];

/** One command line under /usr/bin/time: its CPU (user+sys) and wall seconds. Asynchronous, so the engine in this process answers. */
function timeOnce(args, home) {
  const report = join(home, 'time.txt');
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', '%U %S %e', '-o', report, process.execPath, bin, ...args], {
      env: { ...process.env, SYNDICATE_HOME: home, NO_COLOR: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`syndicate ${args.join(' ')} exited ${code}: ${stderr}`));
      const [user, system, wall] = readFileSync(report, 'utf8').trim().split(/\s+/).slice(-3).map(Number);
      resolve({ cpu: user + system, wall });
    });
  });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

export async function runCliStartBenchmark() {
  const engine = await startUpstream();
  const home = mkdtempSync(join(tmpdir(), 'syndicate-cli-start-'));
  const rows = [];
  try {
    execFileSync(process.execPath, [bin, 'init'], { env: { ...process.env, SYNDICATE_HOME: home }, stdio: 'ignore' });
    const record = join(home, 'bench-local.yaml');
    writeFileSync(
      record,
      [
        'apiVersion: syndicate/v1',
        'kind: Provider',
        'id: bench-local',
        'class: local',
        'wire: openai',
        `baseUrl: ${engine.url}/v1`,
        'models:',
        `  - id: ${MODEL}`,
        '    contextWindow: 8192',
        '    capabilityClass: small',
        'deviations: []',
        '',
      ].join('\n'),
    );
    await timeOnce(['provider', 'register', record], home);
    for (const args of COMMANDS) {
      await timeOnce(args, home); // warm the file cache
      const samples = [];
      for (let run = 0; run < runs; run += 1) samples.push(await timeOnce(args, home));
      const cpu = median(samples.map((sample) => sample.cpu));
      const wall = median(samples.map((sample) => sample.wall));
      rows.push(`| CLI start | \`syndicate ${args.join(' ')}\` (${runs} runs, median) | CPU ${cpu.toFixed(2)} s, wall ${wall.toFixed(2)} s | - | - |`);
    }
  } finally {
    await engine.close();
    rmSync(home, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const row of await runCliStartBenchmark()) console.log(row);
}
