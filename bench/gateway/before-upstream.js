// The gateway's own time before each upstream call, as its /metrics reports it in production
// (`syndicate_gateway_before_upstream_seconds`: from the whole request in hand to the answering
// request handed to the socket — classification, routing, permit, the evidence commit). Loads a
// real `syndicate serve` against the fast bench upstream at concurrency 1 and 32 and divides the
// histogram's sum by its count over each run; compare with `bench:gateway`'s added latency, which
// also holds the answer's way back and the extra process hops. Run: node bench/gateway/before-upstream.js
import autocannon from 'autocannon';
import { fileURLToPath } from 'node:url';
import { BenchProcesses, pause } from './processes.js';

const bin = fileURLToPath(new URL('../../bin/syndicate.js', import.meta.url));
const seconds = Number(process.env.BENCH_DURATION ?? 8);
const body = JSON.stringify({
  model: 'auto',
  messages: [{ role: 'user', content: 'Summarise the following release note for a changelog in one sentence: the scheduler now retries failed jobs with exponential backoff.' }],
  max_tokens: 64,
  stream: false,
});

const processes = new BenchProcesses();
try {
  const upstream = await processes.startUpstream();
  const gateway = await processes.startGateway('B', bin, upstream);
  const scrape = async () => {
    const text = await (await fetch(`${gateway.url}/metrics`, { headers: gateway.headers })).text();
    const value = (series) => Number(new RegExp(`^syndicate_gateway_before_upstream_seconds_${series}\\{api="openai",class="local"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    return { sum: value('sum'), count: value('count') };
  };
  await autocannon({ url: `${gateway.url}/v1/chat/completions`, method: 'POST', headers: gateway.headers, body, connections: 4, duration: 2 });
  await pause(6000); // aborted warm-up calls mark the engine down for the health TTL
  console.log('| concurrency | gateway req/s | client p50 ms | gateway time before the upstream call, mean ms | answers |');
  console.log('|---|---:|---:|---:|---:|');
  for (const connections of [1, 32]) {
    const before = await scrape();
    const result = await autocannon({ url: `${gateway.url}/v1/chat/completions`, method: 'POST', headers: gateway.headers, body, connections, duration: seconds });
    const after = await scrape();
    const answers = after.count - before.count;
    console.log(`| ${connections} | ${result.requests.average} | ${result.latency.p50} | ${(((after.sum - before.sum) / answers) * 1000).toFixed(3)} | ${answers} |`);
    await pause(6000);
  }
} finally {
  await processes.stopAll();
}
