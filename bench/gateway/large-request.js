// A very large request and the other clients (README Known limitations): one client sends a ~30 MB
// chat request through `syndicate serve` while another polls `/healthz` (and a small chat
// completion) every 50 ms; prints how long the large one took, and the longest wait of the others.
//
// BENCH_LARGE_SHAPE: `prose` (one huge user message, default), `messages` (many ~3 KB messages) or
// `tiny` (a million tiny messages); BENCH_LARGE_MB (default 30);
// BENCH_GATEWAY_NODE_ARGS as in run.js (e.g. the cpu-profile.js preload).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const shape = process.env.BENCH_LARGE_SHAPE ?? 'prose';
const megabytes = Number(process.env.BENCH_LARGE_MB ?? 30);
const bin = fileURLToPath(new URL('../../bin/syndicate.js', import.meta.url));

function cli(home, args) {
  const result = spawnSync(process.execPath, [bin, '--home', home, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`syndicate ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

/** Prose-like text of `bytes` bytes: varied words, sentences, no secrets. */
function prose(bytes) {
  const words = ['the', 'scheduler', 'retries', 'failed', 'jobs', 'with', 'backoff', 'dashboard', 'shows', 'queue', 'depth', 'per', 'worker', 'and', 'cli', 'gained', 'a', 'flag', 'release', 'note', 'summary', 'changelog', 'module', 'function'];
  const out = [];
  let length = 0;
  let seed = 12345;
  while (length < bytes) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const word = words[seed % words.length] + (seed % 97 === 0 ? `${seed % 1000}` : '');
    out.push(word);
    length += word.length + 1;
    if (seed % 13 === 0) {
      out.push('.\n');
      length += 2;
    }
  }
  return out.join(' ');
}

function largeBody() {
  const bytes = megabytes * 1024 * 1024 * 0.95;
  if (shape === 'prose') return JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: prose(bytes) }], max_tokens: 16 });
  if (shape === 'messages') {
    const text = prose(3000);
    const count = Math.floor(bytes / 3040);
    const messages = Array.from({ length: count }, (_, index) => ({ role: index % 2 === 0 ? 'user' : 'assistant', content: `${index} ${text}` }));
    messages.push({ role: 'user', content: 'summarise' });
    return JSON.stringify({ model: 'auto', messages, max_tokens: 16 });
  }
  const count = Math.floor(bytes / 32);
  const messages = Array.from({ length: count }, (_, index) => ({ role: index % 2 === 0 ? 'user' : 'assistant', content: `m${index}` }));
  messages.push({ role: 'user', content: 'summarise' });
  return JSON.stringify({ model: 'auto', messages, max_tokens: 16 });
}

// The body is built first, and the upstream runs in its own process: building 30 MB here would
// otherwise hold the upstream (the gateway's health probe would find it down).
const body = largeBody();
const upstreamScript = fileURLToPath(new URL('./upstream.js', import.meta.url));
const upstreamChild = spawn(process.execPath, [upstreamScript], { stdio: ['ignore', 'pipe', 'inherit'] });
const upstream = {
  url: await new Promise((resolve) => {
    let out = '';
    upstreamChild.stdout.on('data', (data) => {
      out += data;
      if (out.includes('\n')) resolve(out.trim());
    });
  }),
};
const home = mkdtempSync(join(tmpdir(), 'syndicate-bench-large-'));
let gateway;
try {
  cli(home, ['init']);
  const providerFile = join(home, 'bench.yaml');
  writeFileSync(
    providerFile,
    `apiVersion: syndicate/v1\nkind: Provider\nid: bench\nclass: local\nwire: openai\nbaseUrl: ${upstream.url}/v1\nmodels:\n  - id: bench-model\n    contextWindow: 10000000\n    capabilityClass: small\n`,
  );
  cli(home, ['provider', 'register', providerFile]);
  const token = readFileSync(join(home, 'gateway.token'), 'utf8').trim();
  const nodeOptions = [process.env.NODE_OPTIONS, process.env.BENCH_GATEWAY_NODE_ARGS].filter(Boolean).join(' ');
  gateway = spawn(bin, ['--home', home, '--json', 'serve', '--port', '0'], { env: { ...process.env, NODE_OPTIONS: nodeOptions }, stdio: ['ignore', 'pipe', 'ignore'] });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    gateway.stdout.on('data', (data) => {
      out += data;
      try {
        resolve(JSON.parse(out).url);
      } catch {
        /* not yet */
      }
    });
    gateway.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
  });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const small = JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 16 });
  const chat = (body) => fetch(`${url}/v1/chat/completions`, { method: 'POST', headers, body });
  for (let index = 0; index < 20; index += 1) await (await chat(small)).text();

  process.stderr.write(`large body: ${shape}, ${(Buffer.byteLength(body) / 1048576).toFixed(1)} MiB\n`);
  let done = false;
  const waits = { healthz: [], chat: [] };
  const poll = async (name, request) => {
    while (!done) {
      const started = performance.now();
      try {
        await (await request()).text();
        waits[name].push(performance.now() - started);
      } catch {
        // A keep-alive socket the server closed as this request went out: not a wait, try again.
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const pollers = [poll('healthz', () => fetch(`${url}/healthz`)), poll('chat', () => chat(small))];
  const started = performance.now();
  const response = await chat(body);
  const answer = await response.text();
  const took = performance.now() - started;
  done = true;
  await Promise.all(pollers);
  const max = (list) => Math.max(...list).toFixed(0);
  const result = { shape, mib: +(Buffer.byteLength(body) / 1048576).toFixed(1), status: response.status, largeMs: +took.toFixed(0), healthzMaxMs: +max(waits.healthz), chatMaxMs: +max(waits.chat), healthzCount: waits.healthz.length, chatCount: waits.chat.length };
  if (response.status !== 200) result.answer = answer.slice(0, 300);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  const exited = gateway === undefined ? Promise.resolve() : new Promise((resolve) => gateway.once('exit', resolve));
  gateway?.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10000))]);
  upstreamChild.kill('SIGTERM');
  rmSync(home, { recursive: true, force: true });
}
