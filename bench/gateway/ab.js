// Interleaved A/B of two syndicate checkouts (each built): one fast upstream, both gateways
// running, measurements alternating A, B, B, A, ... so both see the same machine. On a shared VM
// run-to-run noise (±20 %) swamps a 10 % change between two separate `bench:gateway` runs.
// Run: node bench/gateway/ab.js /path/to/other/checkout [rounds=4]
// (A = the other checkout, B = this one; both need `npm run build` first.)
// AB_NODE_ARGS_A / AB_NODE_ARGS_B give one side node options, through NODE_OPTIONS (e.g. `--max-semi-space-size=16 --v8-pool-size=4`,
// node's defaults, against what the bin gives `serve`),
// AB_ENV_A / AB_ENV_B environment variables (e.g. `MALLOC_ARENA_MAX=2`, space-separated NAME=value);
// the other checkout may be this one, to compare options alone.
import autocannon from 'autocannon';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { firstContentTimes } from './first-content.js';
import { BenchProcesses, cpuSeconds, median, nodeArgsFrom, pause, peakRssMb } from './processes.js';

const other = process.argv[2];
if (other === undefined || !existsSync(join(resolve(other), 'dist/cli/main.js'))) {
  process.stderr.write('usage: node bench/gateway/ab.js <other checkout, built> [rounds]\n');
  process.exit(2);
}
const rounds = Number(process.argv[3] ?? 4);
const builds = { A: join(resolve(other), 'bin/syndicate.js'), B: fileURLToPath(new URL('../../bin/syndicate.js', import.meta.url)) };
const prompt =
  'Summarise the following release note for a changelog in one sentence: the scheduler now retries failed jobs ' +
  'with exponential backoff, the dashboard shows queue depth per worker, and the CLI gained a --dry-run flag.';
const body = (stream) => JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: prompt }], max_tokens: 64, stream });

const processes = new BenchProcesses();
try {
  const upstreamUrl = await processes.startUpstream();
  const gateways = {};
  for (const [name, bin] of Object.entries(builds)) {
    const nodeArgs = nodeArgsFrom(process.env[`AB_NODE_ARGS_${name}`] ?? process.env.BENCH_GATEWAY_NODE_ARGS);
    const env = Object.fromEntries((process.env[`AB_ENV_${name}`] ?? '').split(/\s+/).filter((pair) => pair.includes('=')).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
    gateways[name] = await processes.startGateway(name, bin, upstreamUrl, { nodeArgs, env });
  }

  const firstContent = async (gateway, count) => median(await firstContentTimes(`${gateway.url}/v1/chat/completions`, gateway.headers, body(true), count));
  const load = async (gateway, connections, seconds) => {
    const before = cpuSeconds(gateway.pid);
    const processBefore = cpuSeconds(gateway.pid, true);
    const result = await autocannon({ url: `${gateway.url}/v1/chat/completions`, method: 'POST', headers: gateway.headers, body: body(false), connections, duration: seconds });
    const perRequest = (cpu) => (cpu * 1000) / result.requests.total;
    return {
      requestsPerSecond: result.requests.average,
      cpuMs: perRequest(cpuSeconds(gateway.pid) - before),
      // Every thread's: V8's GC helpers and libuv's pool included (an option that moves work off the main thread shows here).
      processCpuMs: perRequest(cpuSeconds(gateway.pid, true) - processBefore),
    };
  };

  for (const gateway of Object.values(gateways)) {
    await load(gateway, 4, 2);
    await firstContent(gateway, 100);
  }
  await pause(6000); // aborted warm-up calls mark the engine down for the health TTL
  const results = { A: [], B: [] };
  for (let round = 0; round < rounds; round += 1) {
    for (const name of round % 2 === 0 ? ['A', 'B'] : ['B', 'A']) {
      const gateway = gateways[name];
      const firstContentMs = await firstContent(gateway, 300);
      const c1 = await load(gateway, 1, 5);
      const c32 = await load(gateway, 32, 6);
      results[name].push({ firstContentMs, c1, c32 });
      await pause(6000);
    }
    process.stderr.write(`round ${round + 1}/${rounds} done\n`);
  }
  const lines = [
    `Interleaved A/B, ${rounds} rounds, medians (A = ${resolve(other)}, B = this checkout; ${new Date().toISOString().slice(0, 10)}, node ${process.version})`,
    '',
    '| build | stream first content p50 ms | c=1 req/s | c=1 main-thread CPU ms/request | c=32 req/s | c=32 main-thread CPU ms/request | c=32 process CPU ms/request | RSS peak MB |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const name of ['A', 'B']) {
    const of = (pick) => median(results[name].map(pick));
    lines.push(
      `| ${name} | ${of((r) => r.firstContentMs).toFixed(3)} | ${of((r) => r.c1.requestsPerSecond).toFixed(0)} | ${of((r) => r.c1.cpuMs).toFixed(3)} | ${of((r) => r.c32.requestsPerSecond).toFixed(0)} | ${of((r) => r.c32.cpuMs).toFixed(3)} | ${of((r) => r.c32.processCpuMs).toFixed(3)} | ${peakRssMb(gateways[name].pid).toFixed(1)} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await processes.stopAll();
}
