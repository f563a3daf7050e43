// Soak: one `syndicate serve` (this checkout's build) driven for minutes with varied traffic, its
// heap after a full GC and its RSS sampled over time, and two heap snapshots diffed by constructor:
// a steady climb after warm-up, or a constructor whose count grows with the traffic, is a leak.
// Traffic: distinct prompts; sessions (x-syndicate-session, Claude Code's header) mostly new; models
// declared, unknown and `provider:unknown`; a blocked provider (policy refusals); a provider whose
// upstream answers 500 (upstream errors, health holds); streams read to the end and streams the
// client aborts mid-way; inline images (distinct and repeated); tools and tool calls; the OpenAI,
// Anthropic and Ollama APIs; `/metrics` scrapes; MCP at /mcp from many SDK clients never closed.
// Run: node bench/gateway/soak.js [minutes=6] [workers=4]   (not part of `npm run bench`)
// SOAK_SNAPSHOTS=0 takes no heap snapshot (writing one leaves the RSS ~250 MB higher for good), so
// the RSS over time means something; SOAK_KEEP=1 keeps the snapshots and samples.
// It prints one line per sample (minutes, heap used after GC, RSS, handles) and, at the end, the
// constructors whose live object count grew most between the snapshot after warm-up and the last.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { BenchProcesses, pause } from './processes.js';

const minutes = Number(process.argv[2] ?? 6);
const workers = Number(process.argv[3] ?? 4);
const bin = fileURLToPath(new URL('../../bin/syndicate.js', import.meta.url));
const probe = fileURLToPath(new URL('./soak-probe.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'syndicate-soak-'));
const probeFile = join(work, 'memory.jsonl');
const snapshots = process.env.SOAK_SNAPSHOTS !== '0';

// The upstream: OpenAI chat completions, in this process. `/flaky/…` always answers 500; a prompt
// with SLOW streams 200 words 10 ms apart (for the aborts); with tools, a prompt with TOOL gets a tool call.
const upstream = createServer((request, response) => {
  if (request.url?.startsWith('/flaky/')) {
    request.resume();
    response.writeHead(500, { 'content-type': 'application/json' });
    response.end(`{"error":{"message":"upstream exploded ${randomBytes(4).toString('hex')}","type":"server_error"}}`);
    return;
  }
  if (request.method === 'GET') {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ object: 'list', data: [{ id: 'soak-model', object: 'model', created: 0, owned_by: 'soak' }] }));
    return;
  }
  const chunks = [];
  request.on('data', (data) => chunks.push(data));
  request.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const text = JSON.stringify(body.messages);
    const id = `chatcmpl-${randomBytes(6).toString('hex')}`;
    const toolCall = body.tools !== undefined && text.includes('TOOL');
    const usage = { prompt_tokens: 20 + (text.length % 50), completion_tokens: 9, total_tokens: 29 + (text.length % 50) };
    if (body.stream !== true) {
      const message = toolCall
        ? { role: 'assistant', content: null, tool_calls: [{ id: `call_${randomBytes(4).toString('hex')}`, type: 'function', function: { name: 'lookup', arguments: '{"query":"x"}' } }] }
        : { role: 'assistant', content: `Answer ${randomBytes(8).toString('hex')}.` };
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ id, object: 'chat.completion', created: 1700000000, model: body.model, choices: [{ index: 0, message, finish_reason: toolCall ? 'tool_calls' : 'stop' }], usage }));
      return;
    }
    const chunk = (delta, finish) => `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1700000000, model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write(chunk({ role: 'assistant', content: '' }, null));
    const words = text.includes('SLOW') ? 200 : 5;
    let sent = 0;
    const timer = setInterval(() => {
      sent += 1;
      if (sent <= words) {
        response.write(chunk({ content: ` w${sent}` }, null));
        return;
      }
      clearInterval(timer);
      response.end(`${chunk({}, 'stop')}data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1700000000, model: body.model, choices: [], usage })}\n\ndata: [DONE]\n\n`);
    }, text.includes('SLOW') ? 10 : 1);
    response.once('close', () => clearInterval(timer));
  });
});
await new Promise((done) => upstream.listen(0, '127.0.0.1', done));
const upstreamUrl = `http://127.0.0.1:${upstream.address().port}`;

const processes = new BenchProcesses();
const stats = new Map();
const count = (name) => stats.set(name, (stats.get(name) ?? 0) + 1);
let stopping = false;
let gatewayPid;
let home;
try {
  const gateway = await processes.startGateway('soak', bin, upstreamUrl, {
    nodeArgs: [`--import=${probe}`, '--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${work}`],
    env: { SOAK_PROBE_FILE: probeFile },
  });
  gatewayPid = gateway.pid;
  home = processes.homes.at(-1);
  const cli = (args) => {
    const result = spawnSync(process.execPath, [bin, '--home', home, ...args], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`syndicate ${args.join(' ')}: ${result.stderr}`);
  };
  // More providers beside the bench's: vision and tools on `soak`, a failing one and a blocked one.
  const provider = (id, providerClass, path, model) =>
    `apiVersion: syndicate/v1\nkind: Provider\nid: ${id}\nclass: ${providerClass}\nwire: openai\nbaseUrl: ${upstreamUrl}${path}\nmodels:\n  - id: ${model}\n    contextWindow: 8192\n    capabilityClass: small\n    tags: [chat, vision, tools]\n`;
  for (const [id, providerClass, path, model] of [['soak', 'local', '/v1', 'soak-model'], ['flaky', 'local', '/flaky/v1', 'flaky-model'], ['walled', 'blocked', '/v1', 'walled-model']]) {
    writeFileSync(join(home, `${id}.yaml`), provider(id, providerClass, path, model));
    cli(['provider', 'register', join(home, `${id}.yaml`)]);
  }
  const headers = gateway.headers;
  const post = async (path, body, extra = {}, abortAfterFirstChunk = false) => {
    const controller = new AbortController();
    try {
      const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { ...headers, ...extra }, body: JSON.stringify(body), signal: controller.signal });
      count(`${path} ${response.status}`);
      if (abortAfterFirstChunk && response.body !== null) {
        const reader = response.body.getReader();
        await reader.read();
        controller.abort();
        return;
      }
      await response.arrayBuffer();
    } catch (error) {
      if (error.name !== 'AbortError') count(`error ${error.cause?.code ?? error.message}`);
    }
  };
  const word = () => randomBytes(5).toString('hex');
  const prompt = () => `Please summarise ticket ${word()} about ${word()} and ${Math.random()}.`;
  const session = () => (Math.random() < 0.8 ? { 'x-syndicate-session': `soak-${word()}` } : Math.random() < 0.5 ? { 'x-claude-code-session-id': `cc-${word()}` } : {});
  const png = (bytes) => `data:image/png;base64,${Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), bytes]).toString('base64')}`;
  const repeatedImage = png(randomBytes(2048));
  const tools = [{ type: 'function', function: { name: 'lookup', description: 'Looks something up', parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] } } }];
  const mcpClients = [];
  const steps = [
    () => post('/v1/chat/completions', { model: 'soak-model', messages: [{ role: 'user', content: prompt() }] }, session()),
    () => post('/v1/chat/completions', { model: 'auto', stream: true, messages: [{ role: 'user', content: prompt() }] }, session()),
    () => post('/v1/chat/completions', { model: 'soak:soak-model', stream: true, messages: [{ role: 'user', content: `SLOW ${prompt()}` }] }, session(), true),
    () => post('/v1/messages', { model: 'soak-model', max_tokens: 64, messages: [{ role: 'user', content: prompt() }] }, { 'anthropic-version': '2023-06-01', ...session() }),
    () => post('/v1/messages', { model: 'soak-model', max_tokens: 64, stream: true, messages: [{ role: 'user', content: prompt() }] }, { 'anthropic-version': '2023-06-01', ...session() }),
    () => post('/v1/messages', { model: 'soak-model', max_tokens: 64, stream: true, messages: [{ role: 'user', content: `SLOW ${prompt()}` }] }, { 'anthropic-version': '2023-06-01' }, true),
    () => post('/v1/chat/completions', { model: `unknown-${word()}`, messages: [{ role: 'user', content: prompt() }] }),
    () => post('/v1/chat/completions', { model: `soak:${word()}`, messages: [{ role: 'user', content: prompt() }] }),
    () => post('/v1/chat/completions', { model: 'walled:walled-model', messages: [{ role: 'user', content: prompt() }] }),
    () => post('/v1/chat/completions', { model: 'flaky:flaky-model', messages: [{ role: 'user', content: prompt() }] }, session()),
    () => post('/v1/chat/completions', { model: 'soak-model', messages: [{ role: 'user', content: `My key is AKIA${randomBytes(8).toString('hex').toUpperCase()} and mail ${word()}@example.com` }] }, session()),
    () => post('/v1/chat/completions', { model: 'soak-model', messages: [{ role: 'user', content: [{ type: 'text', text: prompt() }, { type: 'image_url', image_url: { url: png(randomBytes(1024 + Math.floor(Math.random() * 4096))) } }] }] }, session()),
    () => post('/v1/chat/completions', { model: 'soak-model', messages: [{ role: 'user', content: [{ type: 'text', text: prompt() }, { type: 'image_url', image_url: { url: repeatedImage } }] }] }, session()),
    () => post('/v1/chat/completions', { model: 'soak-model', tools, messages: [{ role: 'user', content: `TOOL ${prompt()}` }] }, session()),
    () => post('/api/chat', { model: 'soak-model', stream: false, messages: [{ role: 'user', content: prompt() }] }, session()),
    () => post('/api/chat', { model: `ghost-${word()}`, stream: false, messages: [{ role: 'user', content: prompt() }] }),
    () => post('/v1/chat/completions', { model: 'soak-model', messages: [{ role: 'user', content: prompt() }] }, { 'x-syndicate-session': `bad session ${word()}` }),
    async () => {
      const response = await fetch(`${gateway.url}/metrics`, { headers });
      count(`/metrics ${response.status}`);
      await response.arrayBuffer();
    },
    async () => {
      // An MCP client that connects, calls a tool and is then dropped without close.
      const client = new Client({ name: `soak-${word()}`, version: '1.0.0' });
      try {
        await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`), { requestInit: { headers: { authorization: headers.authorization } } }));
        await client.callTool({ name: Math.random() < 0.5 ? 'classify' : 'complete', arguments: Math.random() < 0.5 ? { text: prompt() } : { prompt: prompt() } });
        count('mcp call');
      } catch (error) {
        count(`mcp error ${String(error.message).slice(0, 40)}`);
      }
      if (mcpClients.push(client) > 2000) mcpClients.shift();
    },
    async () => {
      const response = await fetch(`${gateway.url}/mcp`, {
        method: 'POST',
        headers: { ...headers, accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18', 'mcp-session-id': word() },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'classify', arguments: { text: prompt() } } }),
      });
      count(`/mcp raw ${response.status}`);
      await response.arrayBuffer();
    },
  ];
  const worker = async () => {
    while (!stopping) await steps[Math.floor(Math.random() * steps.length)]();
  };
  const sample = async () => {
    const lines = existsSync(probeFile) ? readFileSync(probeFile, 'utf8').trim().split('\n').length : 0;
    process.kill(gateway.pid, 'SIGWINCH');
    for (let tries = 0; tries < 100; tries += 1) {
      await pause(100);
      const all = existsSync(probeFile) ? readFileSync(probeFile, 'utf8').trim().split('\n') : [];
      if (all.length > lines) return JSON.parse(all.at(-1));
    }
    throw new Error('the probe did not answer');
  };
  const snapshot = async () => {
    const before = new Set(readdirSync(work).filter((name) => name.endsWith('.heapsnapshot')));
    process.kill(gateway.pid, 'SIGUSR2');
    for (;;) {
      await pause(500);
      const written = readdirSync(work).find((name) => name.endsWith('.heapsnapshot') && !before.has(name));
      // Written once its size stops changing.
      if (written !== undefined) {
        const size = statSync(join(work, written)).size;
        await pause(1000);
        if (size > 0 && statSync(join(work, written)).size === size) return join(work, written);
      }
    }
  };
  const started = Date.now();
  const running = Array.from({ length: workers }, worker);
  const samples = [];
  let warm;
  process.stdout.write(`soak: ${minutes} min, ${workers} workers, gateway pid ${gateway.pid}\n`);
  while (Date.now() - started < minutes * 60_000) {
    await pause(20_000);
    const memory = await sample();
    samples.push(memory);
    const requests = [...stats.values()].reduce((sum, value) => sum + value, 0);
    process.stdout.write(`${((Date.now() - started) / 60_000).toFixed(1).padStart(5)} min  heap ${(memory.heapUsed / 2 ** 20).toFixed(1)} MB  rss ${(memory.rss / 2 ** 20).toFixed(1)} MB  external ${(memory.external / 2 ** 20).toFixed(1)} MB  handles ${memory.handles}  requests ${requests}\n`);
    if (snapshots && warm === undefined && Date.now() - started > Math.min(90_000, (minutes * 60_000) / 3)) warm = await snapshot();
  }
  stopping = true;
  await Promise.all(running);
  await pause(2000);
  process.stdout.write(`${JSON.stringify(Object.fromEntries([...stats].sort()))}\n`);
  process.stdout.write(`store: ${(storeBytes(home) / 2 ** 20).toFixed(1)} MB on disk\n`);
  if (snapshots) {
    const last = await snapshot();
    const growth = diffSnapshots(countByConstructor(warm), countByConstructor(last));
    process.stdout.write(`constructors that grew most between the snapshots (${warm} → ${last}):\n`);
    for (const [name, before, after] of growth.slice(0, 25)) process.stdout.write(`  ${String(after - before).padStart(8)}  ${before} → ${after}  ${name}\n`);
  }
  const afterWarm = samples.filter((entry) => entry.at >= samples[Math.min(samples.length - 1, 3)].at);
  if (afterWarm.length > 1) {
    const slope = (afterWarm.at(-1).heapUsed - afterWarm[0].heapUsed) / ((afterWarm.at(-1).at - afterWarm[0].at) / 60_000);
    process.stdout.write(`heap after GC, after warm-up: ${(afterWarm[0].heapUsed / 2 ** 20).toFixed(1)} → ${(afterWarm.at(-1).heapUsed / 2 ** 20).toFixed(1)} MB (${(slope / 2 ** 10).toFixed(0)} KB/min)\n`);
  }
} finally {
  stopping = true;
  await processes.stopAll();
  upstream.closeAllConnections();
  upstream.close();
  if (process.env.SOAK_KEEP === undefined) rmSync(work, { recursive: true, force: true });
  else process.stdout.write(`kept ${work}\n`);
}

/** Live objects of a V8 heap snapshot counted by constructor (node name), for objects and closures. */
function countByConstructor(path) {
  const snapshot = JSON.parse(readFileSync(path, 'utf8'));
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const counts = new Map();
  for (let index = 0; index < snapshot.nodes.length; index += fields.length) {
    const type = types[snapshot.nodes[index + typeAt]];
    if (type !== 'object' && type !== 'closure' && type !== 'string' && type !== 'array') continue;
    const name = type === 'string' ? '(string)' : type === 'array' ? `(array) ${snapshot.strings[snapshot.nodes[index + nameAt]]}` : snapshot.strings[snapshot.nodes[index + nameAt]];
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

/** Bytes of the store's files (the database, its WAL). */
function storeBytes(home) {
  return readdirSync(home, { recursive: true })
    .filter((name) => /syndicate\.db(-wal|-shm)?$/.test(name))
    .reduce((sum, name) => sum + statSync(join(home, name)).size, 0);
}

function diffSnapshots(before, after) {
  return [...after].map(([name, count]) => [name, before.get(name) ?? 0, count]).sort((a, b) => b[2] - b[1] - (a[2] - a[1]));
}

