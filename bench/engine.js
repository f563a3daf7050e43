// `npm run bench:engine`: the embedded engine (`syndicate engine serve`, node-llama-cpp on CPU,
// 1 thread) serving the generated test model, and llama.cpp's own llama-server on the same
// model when a built one is found, for scale. Prints markdown rows for bench/RESULTS.md:
// model load time, time to first token and generation speed (streamed, p50 of N requests).
//
// Usage: node bench/engine.js [--requests 20] [--max-tokens 64]
// Needs the engine (`syndicate engine install`); llama-server from $SYNDICATE_LLAMA_SERVER or
// the cache scripts/build-llama-server.sh fills (skipped when absent).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { requests: { type: 'string', default: '20' }, 'max-tokens': { type: 'string', default: '64' } } });
const requestCount = Number(values.requests);
const maxTokens = Number(values['max-tokens']);
const { writeTestModel } = await import(join(root, 'dist', 'engines', 'test-model.js'));
const { findEngine } = await import(join(root, 'dist', 'engines', 'runtime.js'));

if (findEngine() === undefined) {
  console.error('the embedded engine is not installed: run `node bin/syndicate.js engine install` first');
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'syndicate-bench-engine-'));
const modelPath = join(work, 'test-model.gguf');
const model = await writeTestModel(modelPath);

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** One streamed request: time to the first content delta, then tokens per second of generation. */
async function measure(baseUrl, index) {
  const started = performance.now();
  const response = await fetch(`${baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'test-model',
      messages: [{ role: 'user', content: `Tell me a story about the number ${index}.` }],
      max_tokens: maxTokens,
      temperature: 0.8,
      seed: index,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (!response.ok) throw new Error(`${baseUrl}: HTTP ${response.status} ${await response.text()}`);
  let firstToken;
  let usage;
  let buffered = '';
  const decoder = new TextDecoder();
  for await (const chunk of response.body) {
    buffered += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const frame = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const data = frame.startsWith('data: ') ? frame.slice(6) : undefined;
      if (data === undefined || data === '[DONE]') continue;
      const parsed = JSON.parse(data);
      if (firstToken === undefined && parsed.choices?.[0]?.delta?.content) firstToken = performance.now();
      if (parsed.usage) usage = parsed.usage;
    }
  }
  const ended = performance.now();
  const generated = usage?.completion_tokens ?? 0;
  return {
    firstTokenMs: (firstToken ?? ended) - started,
    // tokens after the first, over the time after the first: the decode rate
    tokensPerSecond: generated > 1 && firstToken !== undefined ? ((generated - 1) * 1000) / (ended - firstToken) : undefined,
    generated,
  };
}

async function runSeries(name, baseUrl) {
  await measure(baseUrl, -1); // warm-up
  const samples = [];
  for (let index = 0; index < requestCount; index += 1) samples.push(await measure(baseUrl, index));
  const rates = samples.map((sample) => sample.tokensPerSecond).filter((rate) => rate !== undefined);
  const tokens = samples.map((sample) => sample.generated);
  return {
    name,
    firstTokenP50: percentile(samples.map((sample) => sample.firstTokenMs), 50),
    firstTokenP95: percentile(samples.map((sample) => sample.firstTokenMs), 95),
    tokensPerSecond: rates.length === 0 ? undefined : percentile(rates, 50),
    meanTokens: tokens.reduce((sum, value) => sum + value, 0) / tokens.length,
  };
}

function waitForExit(child) {
  return new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
}

async function embedded() {
  const started = performance.now();
  const child = spawn(process.execPath, [join(root, 'bin', 'syndicate.js'), '--json', 'engine', 'serve', '--model', modelPath, '--port', '0'], {
    env: { ...process.env, SYNDICATE_HOME: join(work, 'home') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = await new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      let document;
      try {
        document = JSON.parse(stdout);
      } catch {
        return; // incomplete
      }
      if (document.ok === false) reject(new Error(`engine serve: ${document.error.message}`));
      else resolve(document);
    });
    child.once('exit', (code) => reject(new Error(`engine serve exited with ${code}`)));
  });
  const readyMs = performance.now() - started;
  try {
    const series = await runSeries('embedded engine (node-llama-cpp)', `${ready.url.replace(/\/$/, '')}${ready.url.endsWith('/v1') ? '' : '/v1'}`);
    return { ...series, loadMs: ready.loadMs, readyMs, backend: ready.backend };
  } finally {
    child.kill('SIGTERM');
    await waitForExit(child);
  }
}

function cachedLlamaServer() {
  if (process.env.SYNDICATE_LLAMA_SERVER) return process.env.SYNDICATE_LLAMA_SERVER;
  const cache = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'syndicate', 'llama-server');
  if (!existsSync(cache)) return undefined;
  for (const commit of readdirSync(cache)) if (existsSync(join(cache, commit, 'llama-server'))) return join(cache, commit, 'llama-server');
  return undefined;
}

async function llamaServer(binary) {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(binary, ['-m', modelPath, '--host', '127.0.0.1', '--port', String(port), '-t', '1', '-c', '2048'], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`llama-server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const readyMs = performance.now() - started;
  try {
    return { ...(await runSeries("llama.cpp's llama-server", `${url}/v1`)), readyMs, backend: 'cpu' };
  } finally {
    child.kill('SIGTERM');
    await waitForExit(child);
  }
}

const rows = [await embedded()];
const binary = cachedLlamaServer();
if (binary !== undefined) rows.push(await llamaServer(binary));
rmSync(work, { recursive: true, force: true });

const fixed = (value, digits = 1) => (value === undefined ? '-' : value.toFixed(digits));
console.log(`generated test model: ${(model.bytes / 2 ** 20).toFixed(1)} MiB, vocabulary ${model.vocabularySize}, ${model.blockCount} layers, n_embd ${model.embeddingLength}; ${requestCount} streamed requests each (max_tokens ${maxTokens}, 1 thread)\n`);
console.log('| engine | backend | model load ms | ready (process start → healthy) ms | first token p50 / p95 ms | decode tokens/s p50 | mean tokens per reply |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const row of rows) {
  console.log(`| ${row.name} | ${row.backend} | ${fixed(row.loadMs, 0)} | ${fixed(row.readyMs, 0)} | ${fixed(row.firstTokenP50)} / ${fixed(row.firstTokenP95)} | ${fixed(row.tokensPerSecond, 0)} | ${fixed(row.meanTokens)} |`);
}
