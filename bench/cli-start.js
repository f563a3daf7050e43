// Start-up cost of everyday commands: median user+sys CPU and wall of each command line below,
// run as a shell script runs them (`node bin/syndicate.js …` under /usr/bin/time), in a home
// prepared with `init` and one local engine registered: the gateway benchmark's OpenAI-wire
// upstream on loopback (bench/gateway/upstream.js; it answers `run hello`, non-streamed).
// `BENCH_RUNS` runs each (default 5); `SYNDICATE_BIN` measures another build's launcher (e.g. a worktree of main, for a before/after).
// Prints markdown rows for bench/RESULTS.md.
//
// `node bench/cli-start.js A.js B.js …` compares launchers instead, interleaved (A, B, A, B, … for each
// command, same home and engine), so that a load that comes and goes on a shared machine weighs on
// each alike: median CPU (user+sys) of each, and B's against A's in %.
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
  ['--help'],
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
function timeOnce(args, home, launcher = bin) {
  const report = join(home, 'time.txt');
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', '%U %S %e', '-o', report, process.execPath, launcher, ...args], {
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

/** A home prepared with `init` and the engine registered, for `body`; removed after it. */
async function withBenchHome(body) {
  const engine = await startUpstream();
  const home = mkdtempSync(join(tmpdir(), 'syndicate-cli-start-'));
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
    return await body(home);
  } finally {
    await engine.close();
    rmSync(home, { recursive: true, force: true });
  }
}

export async function runCliStartBenchmark() {
  return withBenchHome(async (home) => {
    const rows = [];
    for (const args of COMMANDS) {
      await timeOnce(args, home); // warm the file cache
      const samples = [];
      for (let run = 0; run < runs; run += 1) samples.push(await timeOnce(args, home));
      const cpu = median(samples.map((sample) => sample.cpu));
      const wall = median(samples.map((sample) => sample.wall));
      rows.push(`| CLI start | \`syndicate ${args.join(' ')}\` (${runs} runs, median) | CPU ${cpu.toFixed(2)} s, wall ${wall.toFixed(2)} s | - | - |`);
    }
    return rows;
  });
}

/** Each command on each launcher in turn, `runs` rounds: one markdown row per command. */
export async function compareLaunchers(launchers) {
  return withBenchHome(async (home) => {
    const rows = [];
    for (const args of COMMANDS) {
      for (const launcher of launchers) await timeOnce(args, home, launcher); // warm the file cache
      const samples = launchers.map(() => []);
      for (let run = 0; run < runs; run += 1) {
        for (const [index, launcher] of launchers.entries()) samples[index].push((await timeOnce(args, home, launcher)).cpu);
      }
      const cpus = samples.map(median);
      const cells = cpus.map((cpu, index) => (index === 0 ? `${cpu.toFixed(3)} s` : `${cpu.toFixed(3)} s (${(((cpu - cpus[0]) / cpus[0]) * 100).toFixed(0)} %)`));
      rows.push(`| \`syndicate ${args.join(' ')}\` | ${cells.join(' | ')} |`);
    }
    return rows;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const launchers = process.argv.slice(2);
  if (launchers.length === 0) {
    for (const row of await runCliStartBenchmark()) console.log(row);
  } else {
    console.log(`| command (median CPU of ${runs}, interleaved) | ${launchers.join(' | ')} |`);
    console.log(`| --- |${launchers.map(() => ' --- |').join('')}`);
    for (const row of await compareLaunchers(launchers)) console.log(row);
  }
}
