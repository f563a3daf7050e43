// Gateway benchmark (issue 6): the same load sent directly to a fast fake upstream and through
// `syndicate serve` (classification, routing, permit, evidence recording all ON), with autocannon
// at concurrency 1 and 32; plus the streaming first-content-byte time added, and the gateway
// process's RSS. Targets (2 cores): added p50 <= 0.3 ms at c=1, >= 3000 req/s at c=32,
// streaming first byte added <= 1 ms, RSS <= 120 MB. Also the gateway's own time before the upstream
// call at c=1, as its /metrics reports it (the part of the added latency that is its work, not the
// extra process hops). Prints markdown rows.
//
// BENCH_DURATION (seconds per run, default 15), BENCH_STREAM_REQUESTS (default 500),
// BENCH_CONNECTIONS (default `1,32`; the summary needs both),
// BENCH_GATEWAY_NODE_ARGS (e.g. `--import=$PWD/bench/gateway/cpu-profile.js` to profile the gateway: see there; given
// through NODE_OPTIONS, so only the options node allows there).
import autocannon from 'autocannon';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { firstContentTimes } from './first-content.js';

const duration = Number(process.env.BENCH_DURATION ?? 15);
const streamRequests = Number(process.env.BENCH_STREAM_REQUESTS ?? 500);
const concurrencies = (process.env.BENCH_CONNECTIONS ?? '1,32').split(',').map(Number);
const bin = fileURLToPath(new URL('../../bin/syndicate.js', import.meta.url));
const upstreamScript = fileURLToPath(new URL('./upstream.js', import.meta.url));

const prompt =
  'Summarise the following release note for a changelog in one sentence: the scheduler now retries failed jobs ' +
  'with exponential backoff, the dashboard shows queue depth per worker, and the CLI gained a --dry-run flag.';
const body = (model, stream) => JSON.stringify({ model, messages: [{ role: 'user', content: prompt }], max_tokens: 64, stream });

/** Spawns a process and resolves with it once `ready(stdoutSoFar)` returns a value. */
function startProcess(args, env, ready, command = process.execPath) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data) => {
      stdout += data;
      const value = ready(stdout);
      if (value !== undefined) resolve({ child, value });
    });
    child.stderr.on('data', (data) => (stderr += data));
    // A --json command's error is its document on stdout, nothing on stderr.
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${stderr}${stdout}`)));
  });
}

function cli(home, args) {
  const result = spawnSync(process.execPath, [bin, '--home', home, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`syndicate ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/** autocannon run; latencies collected exactly (autocannon's own histogram has 1 ms resolution). */
function load(url, headers, requestBody, connections, seconds) {
  return new Promise((resolve, reject) => {
    const latencies = [];
    const instance = autocannon(
      { url, method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: requestBody, connections, duration: seconds },
      (error, result) => {
        if (error) return reject(error);
        latencies.sort((a, b) => a - b);
        resolve({
          requestsPerSecond: result.requests.average,
          total: result.requests.total,
          non2xx: result.non2xx,
          errors: result.errors,
          p50: percentile(latencies, 0.5),
          p99: percentile(latencies, 0.99),
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode === 200) latencies.push(responseTime);
    });
  });
}

/** CPU seconds (user + system) the process has used so far, from /proc (clock ticks of 10 ms). */
function cpuSecondsOf(pid, thread) {
  const path = thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`;
  const fields = readFileSync(path, 'utf8').split(') ')[1].split(' ');
  if (process.env.BENCH_CPU_SPLIT === '1') process.stderr.write(`cpu ${path}: user ${fields[11]} system ${fields[12]} ticks\n`);
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
}

const fixed = (value, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

/** The gateway's own pre-upstream time histogram (sum and count, seconds) from its /metrics. */
async function beforeUpstream(gatewayUrl, headers) {
  const text = await (await fetch(`${gatewayUrl}/metrics`, { headers })).text();
  const value = (series) => Number(new RegExp(`^syndicate_gateway_before_upstream_seconds_${series}\\{api="openai",class="local"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { sum: value('sum'), count: value('count') };
}

const home = mkdtempSync(join(tmpdir(), 'syndicate-bench-gateway-'));
let upstream;
let gateway;
try {
  upstream = await startProcess([upstreamScript], {}, (out) => (out.includes('\n') ? out.trim() : undefined));
  const upstreamUrl = upstream.value;
  cli(home, ['init']);
  const providerFile = join(home, 'bench.yaml');
  writeFileSync(
    providerFile,
    `apiVersion: syndicate/v1\nkind: Provider\nid: bench\nclass: local\nwire: openai\nbaseUrl: ${upstreamUrl}/v1\nmodels:\n  - id: bench-model\n    contextWindow: 8192\n    capabilityClass: small\n`,
  );
  cli(home, ['provider', 'register', providerFile]);
  const token = readFileSync(join(home, 'gateway.token'), 'utf8').trim();
  // Started as an operator starts it (the bin as a program, which gives node its options for
  // `serve`); BENCH_GATEWAY_NODE_ARGS reach node through NODE_OPTIONS.
  const nodeOptions = [process.env.NODE_OPTIONS, process.env.BENCH_GATEWAY_NODE_ARGS].filter(Boolean).join(' ');
  gateway = await startProcess(['--home', home, '--json', 'serve', '--port', '0'], { NODE_OPTIONS: nodeOptions }, (out) => {
    try {
      return JSON.parse(out).url;
    } catch {
      return undefined;
    }
  }, bin);
  const gatewayUrl = gateway.value;
  const startMemory = memoryOf(gateway.child.pid);
  const auth = { authorization: `Bearer ${token}` };
  const direct = { url: `${upstreamUrl}/v1/chat/completions`, headers: {}, body: body('bench-model', false) };
  const through = { url: `${gatewayUrl}/v1/chat/completions`, headers: auth, body: body('auto', false) };

  // autocannon cuts the requests in flight when a run ends; the pipeline reports those aborted
  // calls as engine failures, so the engine counts as down for the health TTL (5 s): wait it out.
  const cooldown = () => new Promise((resolve) => setTimeout(resolve, 6000));
  // Warm both paths (JIT, SQLite page cache, health probe).
  await load(direct.url, direct.headers, direct.body, 4, 2);
  await load(through.url, through.headers, through.body, 4, 2);
  await cooldown();

  const rows = [];
  for (const connections of concurrencies) {
    const directResult = await load(direct.url, direct.headers, direct.body, connections, duration);
    const cpuBefore = cpuSecondsOf(gateway.child.pid);
    const mainBefore = cpuSecondsOf(gateway.child.pid, gateway.child.pid);
    const ownBefore = await beforeUpstream(gatewayUrl, auth);
    const gatewayResult = await load(through.url, through.headers, through.body, connections, duration);
    const ownAfter = await beforeUpstream(gatewayUrl, auth);
    // What the gateway itself reports: from the request in hand to the upstream request on the socket.
    gatewayResult.beforeUpstreamMs = ((ownAfter.sum - ownBefore.sum) * 1000) / (ownAfter.count - ownBefore.count);
    // The gateway's own CPU per request: steadier than req/s on a machine shared with other work.
    gatewayResult.cpuMsPerRequest = ((cpuSecondsOf(gateway.child.pid) - cpuBefore) * 1000) / gatewayResult.total;
    gatewayResult.mainThreadCpuMsPerRequest = ((cpuSecondsOf(gateway.child.pid, gateway.child.pid) - mainBefore) * 1000) / gatewayResult.total;
    await cooldown();
    rows.push({ connections, directResult, gatewayResult });
    process.stderr.write(`c=${connections}: direct ${JSON.stringify(directResult)}\n          gateway ${JSON.stringify(gatewayResult)}\n`);
  }

  const directStream = await firstContentTimes(direct.url, {}, body('bench-model', true), streamRequests);
  const gatewayStream = await firstContentTimes(through.url, auth, body('auto', true), streamRequests);
  const memory = memoryOf(gateway.child.pid);
  process.stderr.write(`gateway RSS: start ${fixed(startMemory.rssMb, 1)} MB, end ${fixed(memory.rssMb, 1)} MB, peak ${fixed(memory.peakRssMb, 1)} MB\n`);

  const lines = [
    `Gateway benchmark: ${duration} s per run, non-streamed chat completions, classification + routing + permit + evidence ON (${new Date().toISOString().slice(0, 10)}, node ${process.version})`,
    '',
    '| concurrency | target | req/s | p50 ms | p99 ms | non-2xx | errors | gateway CPU ms/request (main thread) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const { connections, directResult, gatewayResult } of rows) {
    for (const [name, result] of [['direct', directResult], ['gateway', gatewayResult]]) {
      const cpu = result.cpuMsPerRequest === undefined ? '-' : `${fixed(result.cpuMsPerRequest, 3)} (${fixed(result.mainThreadCpuMsPerRequest, 3)})`;
      lines.push(`| ${connections} | ${name} | ${fixed(result.requestsPerSecond, 0)} | ${fixed(result.p50, 3)} | ${fixed(result.p99, 3)} | ${result.non2xx} | ${result.errors} | ${cpu} |`);
    }
  }
  const c1 = rows.find((row) => row.connections === 1);
  const c32 = rows.find((row) => row.connections === 32);
  // The summary compares c=1 and c=32 (BENCH_CONNECTIONS may leave one out).
  if (c1 !== undefined && c32 !== undefined) {
    const addedP50 = c1.gatewayResult.p50 - c1.directResult.p50;
    const addedFirstByte = percentile(gatewayStream, 0.5) - percentile(directStream, 0.5);
    lines.push(
      '',
      '| measure | value | target | met |',
      '|---|---|---|---|',
      `| added p50 latency at c=1 | ${fixed(addedP50, 3)} ms | <= 0.3 ms | ${addedP50 <= 0.3 ? 'yes' : 'no'} |`,
      `| added p99 latency at c=1 | ${fixed(c1.gatewayResult.p99 - c1.directResult.p99, 3)} ms | - | - |`,
      `| gateway's own time before the upstream call at c=1, mean (its /metrics) | ${fixed(c1.gatewayResult.beforeUpstreamMs, 3)} ms | - | - |`,
      `| gateway req/s at c=32 | ${fixed(c32.gatewayResult.requestsPerSecond, 0)} | >= 3000 | ${c32.gatewayResult.requestsPerSecond >= 3000 ? 'yes' : 'no'} |`,
      `| streaming first content byte, p50 direct / gateway | ${fixed(percentile(directStream, 0.5), 3)} / ${fixed(percentile(gatewayStream, 0.5), 3)} ms | - | - |`,
      `| streaming first byte added (p50 of ${streamRequests}) | ${fixed(addedFirstByte, 3)} ms | <= 1 ms | ${addedFirstByte <= 1 ? 'yes' : 'no'} |`,
      `| gateway RSS at start / after the runs (peak) | ${fixed(startMemory.rssMb, 1)} / ${fixed(memory.rssMb, 1)} MB (${fixed(memory.peakRssMb, 1)} MB) | <= 120 MB | ${memory.peakRssMb <= 120 ? 'yes' : 'no'} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  const exited = gateway === undefined ? Promise.resolve() : new Promise((resolve) => gateway.child.once('exit', resolve));
  gateway?.child.kill('SIGTERM');
  upstream?.child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
  rmSync(home, { recursive: true, force: true });
}
