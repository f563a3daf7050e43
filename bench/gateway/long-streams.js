// Long streams through the gateway, as engines produce them: the upstream sends 60 one-word chunks
// 20 ms apart (1.2 s per answer), 32 clients stream concurrently for 15 s. The gateway forwards
// every chunk and records it (the recorder writes captured chunks at most every 50 ms per stream).
// Reports, per streamed answer, the gateway's main-thread CPU time and its whole-process CPU time.
// Run: node bench/gateway/long-streams.js [other checkout, built]  — with a checkout, interleaved
// A/B rounds (A = that checkout, B = this one). BENCH_ROUNDS (default 3), BENCH_DURATION (s, 15),
// BENCH_CONNECTIONS (32).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchProcesses, cpuSeconds, median, pause } from './processes.js';

const other = process.argv[2];
if (other !== undefined && !existsSync(join(resolve(other), 'dist/cli/main.js'))) {
  process.stderr.write('usage: node bench/gateway/long-streams.js [other checkout, built]\n');
  process.exit(2);
}
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const seconds = Number(process.env.BENCH_DURATION ?? 15);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const tokens = 60;
const intervalMs = 20;
const builds = {
  ...(other === undefined ? {} : { A: join(resolve(other), 'bin/syndicate.js') }),
  B: fileURLToPath(new URL('../../bin/syndicate.js', import.meta.url)),
};
const body = JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'Tell me a long story about the sea.' }], max_tokens: 256, stream: true });

/** `connections` clients streaming answers back to back for `seconds`; every answer must end with [DONE]. */
async function streamLoad(gateway) {
  const deadline = Date.now() + seconds * 1000;
  let completed = 0;
  const client = async () => {
    while (Date.now() < deadline) {
      const response = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: gateway.headers, body });
      const text = await response.text();
      if (response.status !== 200 || !text.includes(`word${tokens}`) || !text.trimEnd().endsWith('data: [DONE]')) {
        throw new Error(`stream ${completed + 1} did not complete: ${response.status} ${text.slice(-200)}`);
      }
      completed += 1;
    }
  };
  const main = cpuSeconds(gateway.pid);
  const whole = cpuSeconds(gateway.pid, true);
  const started = performance.now();
  await Promise.all(Array.from({ length: connections }, client));
  const elapsed = (performance.now() - started) / 1000;
  return {
    completed,
    perSecond: completed / elapsed,
    mainCpuMs: ((cpuSeconds(gateway.pid) - main) * 1000) / completed,
    processCpuMs: ((cpuSeconds(gateway.pid, true) - whole) * 1000) / completed,
  };
}

const processes = new BenchProcesses();
try {
  const upstreamUrl = await processes.startUpstream({ STREAM_TOKENS: String(tokens), STREAM_INTERVAL_MS: String(intervalMs) });
  const gateways = {};
  for (const [name, bin] of Object.entries(builds)) gateways[name] = await processes.startGateway(name, bin, upstreamUrl);
  const results = Object.fromEntries(Object.keys(builds).map((name) => [name, []]));
  for (let round = 0; round < rounds; round += 1) {
    for (const name of round % 2 === 0 ? Object.keys(builds) : Object.keys(builds).reverse()) {
      results[name].push(await streamLoad(gateways[name]));
      await pause(1000);
    }
    process.stderr.write(`round ${round + 1}/${rounds} done\n`);
  }
  const lines = [
    `Long streams (${tokens} chunks, ${intervalMs} ms apart), ${connections} concurrent clients, ${seconds} s, ${rounds} rounds, medians (${new Date().toISOString().slice(0, 10)}, node ${process.version})`,
    '',
    '| build | answers streamed | answers/s | gateway main-thread CPU ms/answer | gateway process CPU ms/answer |',
    '|---|---|---|---|---|',
  ];
  for (const name of Object.keys(builds)) {
    const of = (pick) => median(results[name].map(pick));
    lines.push(`| ${name === 'A' ? resolve(other) : 'this checkout'} | ${of((r) => r.completed)} | ${of((r) => r.perSecond).toFixed(1)} | ${of((r) => r.mainCpuMs).toFixed(3)} | ${of((r) => r.processCpuMs).toFixed(3)} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await processes.stopAll();
}
