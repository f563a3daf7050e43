// Start-up cost of everyday commands: median user+sys CPU and wall of each command line below,
// run as a shell script runs them (`node bin/syndicate.js …` under /usr/bin/time), in a home
// prepared with `init` and one local engine registered: a minimal OpenAI-wire server on loopback
// (`run hello` is answered by it, non-streamed). `BENCH_RUNS` runs each (default 5);
// `SYNDICATE_BIN` measures another build's launcher (e.g. a worktree of main, for a before/after).
// Prints markdown rows for bench/RESULTS.md.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = process.env.SYNDICATE_BIN ?? fileURLToPath(new URL('../bin/syndicate.js', import.meta.url));
const runs = Number(process.env.BENCH_RUNS ?? 5);
const MODEL = 'bench-model';

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

/** An OpenAI-wire engine: its model list and one non-streamed chat answer, with usage. */
function startEngine() {
  const server = createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      let body;
      if (request.method === 'GET' && request.url === '/v1/models') {
        body = { object: 'list', data: [{ id: MODEL, object: 'model', created: 1700000000, owned_by: 'bench' }] };
      } else if (request.method === 'POST' && request.url === '/v1/chat/completions') {
        body = {
          id: 'chatcmpl-bench',
          object: 'chat.completion',
          created: 1700000000,
          model: MODEL,
          choices: [{ index: 0, message: { role: 'assistant', content: 'hi there' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 },
        };
      } else {
        response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

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
  const engine = await startEngine();
  const home = mkdtempSync(join(tmpdir(), 'syndicate-cli-start-'));
  const rows = [];
  try {
    execFileSync(process.execPath, [bin, 'init'], { env: { ...process.env, SYNDICATE_HOME: home }, stdio: 'ignore' });
    const record = join(home, 'bench-local.yaml');
    const { port } = engine.address();
    writeFileSync(
      record,
      [
        'apiVersion: syndicate/v1',
        'kind: Provider',
        'id: bench-local',
        'class: local',
        'wire: openai',
        `baseUrl: http://127.0.0.1:${port}/v1`,
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
    engine.close();
    rmSync(home, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const row of await runCliStartBenchmark()) console.log(row);
}
