// Per-request cost of the gateway's MCP endpoint (`/mcp`, Streamable HTTP, stateless: one server and
// transport per POST). The official SDK client calls `tools/list` and `classify` one at a time; the
// median and p90 latency of each, and the gateway's CPU per call, against `GET /v1/models` on the
// same gateway as the floor of an authenticated request.
// Run: node bench/gateway/mcp-http.js [calls=200] [other checkout, built: measured instead of this one]
// BENCH_GATEWAY_NODE_ARGS gives the gateway node options (e.g. `--import=$PWD/bench/gateway/cpu-profile.js` to profile it: see there).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchProcesses, cpuSeconds, median } from './processes.js';

const calls = Number(process.argv[2] ?? 200);
const bin = process.argv[3] === undefined ? fileURLToPath(new URL('../../bin/syndicate.js', import.meta.url)) : join(resolve(process.argv[3]), 'bin/syndicate.js');
const percentile = (values, share) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * share))];

const processes = new BenchProcesses();
try {
  const upstreamUrl = await processes.startUpstream();
  const gateway = await processes.startGateway('mcp', bin, upstreamUrl);
  const client = new Client({ name: 'syndicate-bench', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${gateway.token}` } } }));
  const measure = async (name, once) => {
    for (let index = 0; index < 20; index++) await once(); // warm-up
    const cpuBefore = cpuSeconds(gateway.pid);
    const times = [];
    for (let index = 0; index < calls; index++) {
      const started = performance.now();
      await once();
      times.push(performance.now() - started);
    }
    const cpuMs = ((cpuSeconds(gateway.pid) - cpuBefore) * 1000) / calls;
    process.stdout.write(`${name.padEnd(16)} median ${median(times).toFixed(2)} ms  p90 ${percentile(times, 0.9).toFixed(2)} ms  gateway CPU ${cpuMs.toFixed(2)} ms/call\n`);
  };
  await measure('GET /v1/models', async () => {
    const response = await fetch(`${gateway.url}/v1/models`, { headers: gateway.headers });
    await response.arrayBuffer();
  });
  // The same request without the SDK client (which compiles every tool's output schema on each list).
  const listBody = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
  const mcpHeaders = { ...gateway.headers, accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' };
  await measure('tools/list POST', async () => {
    const response = await fetch(`${gateway.url}/mcp`, { method: 'POST', headers: mcpHeaders, body: listBody });
    await response.arrayBuffer();
  });
  await measure('tools/list', () => client.listTools());
  await measure('classify', () => client.callTool({ name: 'classify', arguments: { text: 'Summarise the release notes for the 2.3 changelog.' } }));
  await client.close();
} finally {
  await processes.stopAll();
}
