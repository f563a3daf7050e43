// Bytes the gateway allocates per request (V8 heap), which is what its young-generation GCs follow
// and which, unlike req/s, a loaded machine does not change. Starts the bench upstream and a
// gateway (as ab.js does) with alloc-hook.js preloaded, warms it up, then sends N requests at c=1
// and c=32, non-streamed and streamed, and reads the gateway's allocation count around each.
// Run: node bench/gateway/alloc.js [N=2000] [--checkout=/other/built/checkout] [--profile[=bytes]] [--no-inlining] [--top=25] [--save=DIR]
// `--profile` also samples the heap (every 8 KiB allocated by default) and prints, per phase, the
// functions that allocated most: by the allocating function itself, and by the innermost frame of
// syndicate's own code (dist/) on its stack, where node's and the libraries' allocations land.
// V8's heap profiler names the outermost function of optimised code, inlined callees' allocations
// included: `--no-inlining` turns TurboFan's inlining off, to attribute them (the count changes
// with it: escape analysis removes fewer allocations, so measure before/after without it).
import autocannon from 'autocannon';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchProcesses, pause } from './processes.js';

const options = Object.fromEntries(
  process.argv.slice(2).filter((arg) => arg.startsWith('--')).map((arg) => {
    const [name, value] = arg.slice(2).split('=');
    return [name, value ?? true];
  }),
);
const positional = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const checkout = typeof options.checkout === 'string' ? resolve(options.checkout) : fileURLToPath(new URL('../..', import.meta.url));
const count = Number(positional[0] ?? 2000);
const samplingInterval = options.profile === undefined ? 0 : options.profile === true ? 8192 : Number(options.profile);
const top = Number(options.top ?? 25);

const prompt =
  'Summarise the following release note for a changelog in one sentence: the scheduler now retries failed jobs ' +
  'with exponential backoff, the dashboard shows queue depth per worker, and the CLI gained a --dry-run flag.';
const body = (stream) => JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: prompt }], max_tokens: 64, stream });

const directory = mkdtempSync(join(tmpdir(), 'syndicate-alloc-'));
const processes = new BenchProcesses();
try {
  const upstreamUrl = await processes.startUpstream();
  const gateway = await processes.startGateway('alloc', join(checkout, 'bin/syndicate.js'), upstreamUrl, {
    nodeArgs: [`--import=${fileURLToPath(new URL('./alloc-hook.js', import.meta.url))}`],
    env: { BENCH_ALLOC_DIR: directory, BENCH_HEAP_PROFILE_INTERVAL: String(samplingInterval), BENCH_NO_INLINING: options['no-inlining'] === true ? '1' : '0' },
  });
  let seq = 0;
  const snapshot = async () => {
    seq += 1;
    process.kill(gateway.pid, 'SIGUSR2');
    for (;;) {
      await pause(20);
      try {
        const state = JSON.parse(readFileSync(join(directory, `gateway-${gateway.pid}.json`), 'utf8'));
        if (state.seq === seq) return state;
      } catch {
        // not written yet, or being written
      }
    }
  };
  const send = async (connections, stream, amount) => {
    const result = await autocannon({ url: `${gateway.url}/v1/chat/completions`, method: 'POST', headers: gateway.headers, body: body(stream), connections, amount });
    const failed = result.non2xx + result.errors + result.timeouts;
    if (failed > 0) throw new Error(`${failed} of ${amount} requests failed (c=${connections}, stream ${stream})`);
  };

  for (const stream of [false, true]) {
    await send(1, stream, 300);
    await send(32, stream, 600);
  }
  await pause(500);
  const phases = [];
  let before = await snapshot();
  const measure = async (name, requests, run) => {
    await run();
    await pause(200); // the group commit's last batch, the access log
    const after = await snapshot();
    phases.push({ name, requests, seq: after.seq, bytes: after.allocatedBytes - before.allocatedBytes, scavenges: after.scavenges - before.scavenges, markCompacts: after.markCompacts - before.markCompacts });
    before = after;
  };
  await measure('idle 1 s (no request)', 0, () => pause(1000));
  for (const stream of [false, true]) {
    for (const connections of [1, 32]) {
      await measure(`${stream ? 'streamed' : 'non-streamed'} c=${connections}`, count, () => send(connections, stream, count));
    }
  }

  const lines = [
    `Gateway heap allocation, ${count} requests per phase (${checkout}; ${new Date().toISOString().slice(0, 16)}Z, node ${process.version})`,
    '',
    '| phase | KB allocated per request | scavenges per 1 000 requests | mark-compacts |',
    '|---|---|---|---|',
  ];
  for (const phase of phases) {
    const perRequest = phase.requests === 0 ? `(${(phase.bytes / 1024).toFixed(0)} KB in all)` : (phase.bytes / phase.requests / 1024).toFixed(1);
    const scavenges = phase.requests === 0 ? String(phase.scavenges) : ((phase.scavenges * 1000) / phase.requests).toFixed(1);
    lines.push(`| ${phase.name} | ${perRequest} | ${scavenges} | ${phase.markCompacts} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (samplingInterval > 0) {
    for (const phase of phases.filter((p) => p.requests > 0)) {
      const file = join(directory, `gateway-${gateway.pid}-${phase.seq}.heapprofile`);
      // `--save=DIR` keeps each phase's profile, for Chrome DevTools (Memory tab) or speedscope.
      if (typeof options.save === 'string') copyFileSync(file, join(resolve(options.save), `${phase.name.replace(/[^a-z0-9]+/gi, '-')}.heapprofile`));
      const profile = JSON.parse(readFileSync(file, 'utf8'));
      process.stdout.write(`\n${phase.name}: sampled heap allocation per request (KB)\n${sites(profile, phase.requests)}\n`);
    }
  }
} finally {
  await processes.stopAll();
  rmSync(directory, { recursive: true, force: true });
}

/** The sampling profile's top allocating functions, by themselves and by the innermost syndicate frame on their stack. */
function sites(profile, requests) {
  const self = new Map();
  const ours = new Map();
  const add = (map, key, size) => map.set(key, (map.get(key) ?? 0) + size);
  const frameName = ({ functionName, url, lineNumber }) => `${functionName || '(anonymous)'} ${url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${lineNumber + 1}`;
  const isOurs = ({ url }) => url.includes('/dist/') && !url.includes('/node_modules/');
  const walk = (node, nearestOurs) => {
    const ownFrame = isOurs(node.callFrame) ? frameName(node.callFrame) : nearestOurs;
    if (node.selfSize > 0) {
      add(self, frameName(node.callFrame), node.selfSize);
      add(ours, ownFrame ?? '(no syndicate frame)', node.selfSize);
    }
    for (const child of node.children) walk(child, ownFrame);
  };
  walk(profile.head, undefined);
  const total = [...self.values()].reduce((sum, size) => sum + size, 0);
  const table = (map) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, size]) => `  ${(size / requests / 1024).toFixed(2).padStart(7)}  ${((100 * size) / total).toFixed(1).padStart(5)} %  ${key}`)
      .join('\n');
  return `total sampled ${(total / requests / 1024).toFixed(1)} KB per request\n by allocating function:\n${table(self)}\n by innermost syndicate frame:\n${table(ours)}`;
}
