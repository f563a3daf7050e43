// A coding agent's long conversation through the gateway: every request resends the whole
// conversation (a 20 KB system prompt, then 8 KB turns up to SIZE bytes, default 400 KB: ~90 000
// tokens, for a local model with a 128 K window, so the router counts the prompt) plus one
// new 2 KB message, sequentially, against the fast bench upstream. Real, non-repeating text
// (TypeScript's own `lib` declarations, which hold a few non-ASCII characters as real
// conversations do). Reports the client's latency and the gateway's main-thread CPU per request;
// with another built checkout as argument, both gateways run and the turns alternate between them.
// Run: node bench/gateway/agent-turns.js [other checkout] ; SIZE=100000 TURNS=40 narrow it.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { BenchProcesses, cpuSeconds, median } from './processes.js';

const size = Number(process.env.SIZE ?? 400_000);
const turns = Number(process.env.TURNS ?? 30);
const WARM_TURNS = 3;
const builds = { this: fileURLToPath(new URL('../../bin/syndicate.js', import.meta.url)) };
if (process.argv[2] !== undefined) builds.other = join(resolve(process.argv[2]), 'bin/syndicate.js');

const typescriptLib = dirname(createRequire(import.meta.url).resolve('typescript'));
let corpus = '';
for (const file of readdirSync(typescriptLib).filter((name) => name.endsWith('.d.ts')).sort()) {
  corpus += readFileSync(join(typescriptLib, file), 'utf8');
  if (corpus.length > size + turns * 2048 + 100_000) break;
}

const processes = new BenchProcesses();
try {
  const upstreamUrl = await processes.startUpstream();
  const results = {};
  const conversations = {};
  for (const [name, bin] of Object.entries(builds)) {
    const gateway = await processes.startGateway(name, bin, upstreamUrl, { contextWindow: 131_072 });
    const messages = [{ role: 'system', content: corpus.slice(0, 20_000) }];
    let offset = 20_000;
    while (offset < size) {
      messages.push({ role: messages.length % 2 === 1 ? 'user' : 'assistant', content: corpus.slice(offset, offset + 8000) });
      offset += 8000;
    }
    conversations[name] = { gateway, messages, offset, home: processes.homes.at(-1) };
    results[name] = { latencies: [], cpuMs: [] };
  }
  for (let turn = 0; turn < turns; turn += 1) {
    for (const name of turn % 2 === 0 ? Object.keys(builds) : Object.keys(builds).reverse()) {
      const conversation = conversations[name];
      conversation.messages.push({ role: 'user', content: corpus.slice(conversation.offset, conversation.offset + 2048) });
      conversation.offset += 2048;
      const body = JSON.stringify({ model: 'auto', messages: conversation.messages });
      const cpuBefore = cpuSeconds(conversation.gateway.pid);
      const started = performance.now();
      const response = await fetch(`${conversation.gateway.url}/v1/chat/completions`, { method: 'POST', headers: conversation.gateway.headers, body });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`${name}: HTTP ${response.status}`);
      if (turn >= WARM_TURNS) {
        results[name].latencies.push(performance.now() - started);
        results[name].cpuMs.push((cpuSeconds(conversation.gateway.pid) - cpuBefore) * 1000);
      }
      conversation.bytes = Buffer.byteLength(body);
    }
  }
  // /proc counts CPU in 10 ms ticks: the mean over the measured turns, not a per-turn median.
  console.log(`| build | request body | turns measured | latency p50 ms | gateway main-thread CPU ms per request (mean) | request bytes stored for ${turns} turns |`);
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const name of Object.keys(builds)) {
    const { latencies, cpuMs } = results[name];
    console.log(`| ${name === 'this' ? 'this checkout' : process.argv[2]} | ${(conversations[name].bytes / 1e6).toFixed(2)} MB | ${latencies.length} | ${median(latencies).toFixed(1)} | ${(cpuMs.reduce((sum, ms) => sum + ms, 0) / cpuMs.length).toFixed(1)} | ${(storedRequestBytes(conversations[name].home) / 1e6).toFixed(2)} MB |`);
  }
} finally {
  await processes.stopAll();
}

/** Bytes of request bodies in the evidence store: whole chunks plus distinct blocks (a build without blocks has none). */
function storedRequestBytes(home) {
  const db = new Database(join(home, 'syndicate.db'), { readonly: true });
  try {
    const chunks = db.prepare('SELECT coalesce(sum(length(bytes)), 0) FROM evidence_chunks WHERE key % 16777216 = 0').pluck().get();
    const hasBlocks = db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'evidence_blocks'").pluck().get() === 1;
    return chunks + (hasBlocks ? db.prepare('SELECT coalesce(sum(length(bytes)), 0) FROM evidence_blocks').pluck().get() : 0);
  } finally {
    db.close();
  }
}
