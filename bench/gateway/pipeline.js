// The pipeline alone, in process (no HTTP in front): invoke() against the bench upstream at
// concurrency 1 and 32 for 5 s each, with a file-backed store. Attributes the gateway's cost.
// Run: node bench/gateway/pipeline.js
import { startUpstream } from './upstream.js';
import { openStore } from '../../dist/store/store.js';
import { registerProviderRecord } from '../../dist/registry/register.js';
import { invoke } from '../../dist/invoke/pipeline.js';
import { PermitKey } from '../../dist/permits/index.js';
import { defaultPolicy } from '../../dist/policy/defaults.js';
import { HealthMonitor } from '../../dist/router/health.js';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { performance, monitorEventLoopDelay } from 'node:perf_hooks';
const up = await startUpstream();
const dir = mkdtempSync('/tmp/invbench-');
const store = openStore(dir + '/s.db');
await registerProviderRecord(store, { apiVersion: 'syndicate/v1', kind: 'Provider', id: 'bench', class: 'local', wire: 'openai', baseUrl: up.url + '/v1', models: [{ id: 'bench-model', contextWindow: 8192, capabilityClass: 'small' }] }, 'x');
const context = { store, policy: defaultPolicy(), permitKey: PermitKey.fromBytes(randomBytes(32)), health: new HealthMonitor(), env: {} };
const request = { model: 'auto', messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise the following release note for a changelog in one sentence' }] }], stream: false };
for (let i = 0; i < 200; i++) await invoke(context, { request, caller: 'x' });
for (const conc of [1, 32]) {
let done = 0; const t0 = performance.now(); const cpu0 = process.cpuUsage();
const h = monitorEventLoopDelay(); h.enable();
await Promise.all(Array.from({ length: conc }, async () => { while (performance.now() - t0 < 5000) { await invoke(context, { request, caller: 'x' }); done++; } }));
const cpu = process.cpuUsage(cpu0); const wall = performance.now() - t0;
console.log('conc', conc, 'req/s', (done / wall * 1000).toFixed(0), 'cpu%', ((cpu.user + cpu.system) / 1000 / wall * 100).toFixed(0), 'loop delay p99 ms', (h.percentile(99)/1e6).toFixed(1));
}
await up.close();
