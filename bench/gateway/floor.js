// The floor under the gateway targets: a bare node:http proxy (read the JSON body, set `model`,
// forward through a keep-alive agent, parse the answer, reply) in front of the same fast
// upstream, driven like bench/gateway/run.js. No classification, routing, permit or evidence.
// Run: node bench/gateway/floor.js   (BENCH_DURATION seconds per run, default 10)
import autocannon from 'autocannon';
import { fork } from 'node:child_process';
import { Agent, createServer, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { startUpstream } from './upstream.js';

if (process.argv[2] === 'proxy') {
  const target = new URL(process.argv[3]);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const server = createServer((incoming, outgoing) => {
    const parts = [];
    incoming.on('data', (part) => parts.push(part));
    incoming.on('end', () => {
      const body = JSON.parse(Buffer.concat(parts));
      body.model = 'bench-model';
      const payload = JSON.stringify(body);
      const upstream = request(
        { host: target.hostname, port: target.port, path: '/v1/chat/completions', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
        (answer) => {
          const chunks = [];
          answer.on('data', (chunk) => chunks.push(chunk));
          answer.on('end', () => {
            const bytes = Buffer.concat(chunks);
            JSON.parse(bytes);
            outgoing.writeHead(200, { 'content-type': 'application/json', 'content-length': bytes.length });
            outgoing.end(bytes);
          });
        },
      );
      upstream.end(payload);
    });
  });
  server.listen(0, '127.0.0.1', () => process.send(server.address().port));
} else {
  const duration = Number(process.env.BENCH_DURATION ?? 10);
  const upstream = await startUpstream();
  const proxy = fork(fileURLToPath(import.meta.url), ['proxy', upstream.url], { stdio: 'inherit' });
  const port = await new Promise((resolve) => proxy.once('message', resolve));
  const body = JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'Summarise the following release note for a changelog in one sentence.' }], max_tokens: 64, stream: false });
  const run = (url, connections) =>
    autocannon({ url, method: 'POST', body, headers: { 'content-type': 'application/json' }, connections, duration });
  console.log('| concurrency | target | req/s | p50 ms | p99 ms |\n|---|---|---|---|---|');
  for (const connections of [1, 32]) {
    for (const [name, url] of [['direct', `${upstream.url}/v1/chat/completions`], ['bare proxy', `http://127.0.0.1:${port}/v1/chat/completions`]]) {
      const result = await run(url, connections);
      console.log(`| ${connections} | ${name} | ${result.requests.average.toFixed(0)} | ${result.latency.p50} | ${result.latency.p99} |`);
    }
  }
  proxy.kill();
  await upstream.close();
}
