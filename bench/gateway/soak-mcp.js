// Soak of `syndicate mcp` (the MCP stdio server an agent keeps open for days): one server driven for
// minutes by the official SDK client over stdio with varied calls — `complete` with distinct
// prompts (some with secrets, some naming unknown models or an upstream that fails, some cancelled
// by the client mid-answer), `classify`, `route_explain`, `providers`, `metrics` — and its heap
// after a full GC sampled over time (bench/gateway/soak-probe.js; the product is unchanged).
// Run: node bench/gateway/soak-mcp.js [minutes=4] [calls in flight=4]   (not part of `npm run bench`)
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchProcesses, pause } from './processes.js';

const minutes = Number(process.argv[2] ?? 4);
const inFlight = Number(process.argv[3] ?? 4);
const bin = fileURLToPath(new URL('../../bin/syndicate.js', import.meta.url));
const probe = fileURLToPath(new URL('./soak-probe.js', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'syndicate-soak-mcp-'));
const probeFile = join(home, 'memory.jsonl');
const processes = new BenchProcesses();
let client;
try {
  // The bench upstream, streaming 40 words 10 ms apart: long enough for a cancellation to land mid-answer.
  const upstreamUrl = await processes.startUpstream({ STREAM_TOKENS: '40', STREAM_INTERVAL_MS: '10' });
  const cli = (args) => {
    const result = spawnSync(process.execPath, [bin, '--home', home, ...args], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`syndicate ${args.join(' ')}: ${result.stderr}`);
  };
  cli(['init']);
  for (const [id, path] of [['bench', '/v1'], ['flaky', '/nothing-here/v1']]) {
    writeFileSync(join(home, `${id}.yaml`), `apiVersion: syndicate/v1\nkind: Provider\nid: ${id}\nclass: local\nwire: openai\nbaseUrl: ${upstreamUrl}${path}\nmodels:\n  - id: ${id}-model\n    contextWindow: 8192\n    capabilityClass: small\n`);
    cli(['provider', 'register', join(home, `${id}.yaml`)]);
  }
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [bin, '--home', home, 'mcp'],
    env: { ...process.env, NODE_OPTIONS: [process.env.NODE_OPTIONS, `--import=${probe}`].filter(Boolean).join(' '), SOAK_PROBE_FILE: probeFile, NO_COLOR: '1' },
    stderr: 'ignore',
  });
  client = new Client({ name: 'syndicate-soak', version: '1.0.0' });
  await client.connect(transport);
  const pid = transport.pid;
  const stats = new Map();
  const count = (name) => stats.set(name, (stats.get(name) ?? 0) + 1);
  const word = () => randomBytes(5).toString('hex');
  const prompt = () => `Please summarise ticket ${word()} about ${word()} and ${Math.random()}.`;
  const call = async (name, args, options) => {
    try {
      const result = await client.callTool({ name, arguments: args }, undefined, options);
      count(`${name} ${result.isError === true ? 'isError' : 'ok'}`);
    } catch (error) {
      count(`${name} ${error.name === 'AbortError' || /abort|cancel/i.test(String(error.message)) ? 'cancelled' : `threw ${String(error.message).slice(0, 40)}`}`);
    }
  };
  const steps = [
    () => call('complete', { prompt: prompt() }),
    () => call('complete', { prompt: prompt(), session: `soak-${word()}` }),
    () => call('complete', { prompt: `my key is AKIA${randomBytes(8).toString('hex').toUpperCase()}` }),
    () => call('complete', { prompt: prompt(), model: `ghost-${word()}` }),
    () => call('complete', { prompt: prompt(), model: 'flaky:flaky-model' }),
    () => {
      // Cancelled mid-answer: with a progress token the answer streams, and the abort sends notifications/cancelled.
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 50 + Math.random() * 200);
      return call('complete', { prompt: prompt() }, { signal: controller.signal, onprogress: () => {} });
    },
    () => call('classify', { text: `${prompt()} mail ${word()}@example.com` }),
    () => call('route_explain', { prompt: prompt() }),
    () => call('providers', {}),
    () => call('metrics', {}),
  ];
  let stopping = false;
  const worker = async () => {
    while (!stopping) await steps[Math.floor(Math.random() * steps.length)]();
  };
  const sample = async () => {
    const lines = existsSync(probeFile) ? readFileSync(probeFile, 'utf8').trim().split('\n').length : 0;
    process.kill(pid, 'SIGWINCH');
    for (let tries = 0; tries < 100; tries += 1) {
      await pause(100);
      const all = existsSync(probeFile) ? readFileSync(probeFile, 'utf8').trim().split('\n') : [];
      if (all.length > lines) return JSON.parse(all.at(-1));
    }
    throw new Error('the probe did not answer');
  };
  const started = Date.now();
  const running = Array.from({ length: inFlight }, worker);
  const samples = [];
  process.stdout.write(`soak of syndicate mcp (stdio): ${minutes} min, ${inFlight} calls in flight, pid ${pid}\n`);
  while (Date.now() - started < minutes * 60_000) {
    await pause(20_000);
    const memory = await sample();
    samples.push(memory);
    const calls = [...stats.values()].reduce((sum, value) => sum + value, 0);
    process.stdout.write(`${((Date.now() - started) / 60_000).toFixed(1).padStart(5)} min  heap ${(memory.heapUsed / 2 ** 20).toFixed(1)} MB  rss ${(memory.rss / 2 ** 20).toFixed(1)} MB  handles ${memory.handles}  calls ${calls}\n`);
  }
  stopping = true;
  await Promise.all(running);
  process.stdout.write(`${JSON.stringify(Object.fromEntries([...stats].sort()))}\n`);
  const afterWarm = samples.slice(Math.min(samples.length - 1, 3));
  if (afterWarm.length > 1) {
    const slope = (afterWarm.at(-1).heapUsed - afterWarm[0].heapUsed) / ((afterWarm.at(-1).at - afterWarm[0].at) / 60_000);
    process.stdout.write(`heap after GC, after warm-up: ${(afterWarm[0].heapUsed / 2 ** 20).toFixed(1)} → ${(afterWarm.at(-1).heapUsed / 2 ** 20).toFixed(1)} MB (${(slope / 2 ** 10).toFixed(0)} KB/min)\n`);
  }
} finally {
  await client?.close();
  await processes.stopAll();
  rmSync(home, { recursive: true, force: true });
}
