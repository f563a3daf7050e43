// The gateway layer alone: core + node:http adapter with a stub pipeline that answers at once
// (no classification, routing, permit or evidence), loaded by autocannon in the same process.
// Separates the HTTP layer's own cost from the pipeline's. Run: node bench/gateway/layer.js
import autocannon from 'autocannon';
import { createGateway, listenGateway } from '../../dist/gateway/index.js';
import { openStore } from '../../dist/store/store.js';
import { defaultPolicy } from '../../dist/policy/defaults.js';
const response = { id: 'x', model: 'm', text: 'Hello from the bench upstream.', toolCalls: [], finishReason: 'stop', rawFinishReason: 'stop', usage: { inputTokens: 12, outputTokens: 7 } };
const result = { requestId: 'r', evidenceId: 'e', permitId: 'p', provider: { id: 'bench', version: 1, class: 'local' }, model: 'bench-model', response, usage: response.usage, fidelity: {}, markers: [], warnings: [], latency: { firstTokenMs: 1, totalMs: 1, beforeUpstreamMs: 0.1 }, classification: { level: 'public', failedClosed: false, findings: [] }, route: {}, attempts: [] };
const gateway = createGateway({ pipeline: { store: openStore(':memory:'), policy: defaultPolicy() }, invoke: async () => result, token: 't' });
const running = await listenGateway(gateway, { host: '127.0.0.1', port: 0 });
const body = JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'Summarise the following release note for a changelog in one sentence' }] });
for (const connections of [1, 32]) {
  const lat = [];
  const r = await new Promise((res) => { const i = autocannon({ url: running.url + '/v1/chat/completions', method: 'POST', headers: { authorization: 'Bearer t', 'content-type': 'application/json' }, body, connections, duration: 5 }, (e, r) => res(r)); i.on('response', (_c, s, _b, t) => lat.push(t)); });
  lat.sort((a, b) => a - b);
  console.log(`stub pipeline c=${connections}: ${r.requests.average} req/s p50 ${lat[Math.floor(lat.length / 2)].toFixed(3)} ms p99 ${lat[Math.floor(lat.length * 0.99)].toFixed(3)} non2xx ${r.non2xx}`);
}
console.log('rss MB', (process.memoryUsage().rss / 1048576).toFixed(1));
await running.close();
