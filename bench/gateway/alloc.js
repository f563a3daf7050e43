// Bytes the gateway allocates per request (V8 heap), which is what its young-generation GCs follow
// and which, unlike req/s, a loaded machine does not change. Starts the bench upstream and a
// gateway (as ab.js does) with alloc-hook.js preloaded, warms it up, then sends N requests at c=1
// and c=32, non-streamed and streamed, and reads the gateway's allocation count around each; then
// N/10 streams of 100 chunks each through a second gateway (what each streamed chunk costs).
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
  const hook = `--import=${fileURLToPath(new URL('./alloc-hook.js', import.meta.url))}`;
  const env = { BENCH_ALLOC_DIR: directory, BENCH_HEAP_PROFILE_INTERVAL: String(samplingInterval), BENCH_NO_INLINING: options['no-inlining'] === true ? '1' : '0' };
  const bin = join(checkout, 'bin/syndicate.js');
  const gateway = await processes.startGateway('alloc', bin, await processes.startUpstream(), { nodeArgs: [hook], env });
  // A second gateway whose upstream streams 100 one-word chunks, one a millisecond: what each chunk costs.
  const longStreams = await processes.startGateway('alloc-long', bin, await processes.startUpstream({ STREAM_TOKENS: '100', STREAM_INTERVAL_MS: '1' }), { nodeArgs: [hook], env });
  let seq = 0;
  /** Both gateways' counts (each gateway's `seq` is the number of snapshots taken, the same for both). */
  const snapshot = async () => {
    seq += 1;
    const states = [];
    for (const { pid } of [gateway, longStreams]) {
      process.kill(pid, 'SIGUSR2');
      for (;;) {
        await pause(20);
        try {
          const state = JSON.parse(readFileSync(join(directory, `gateway-${pid}.json`), 'utf8'));
          if (state.seq === seq) {
            states.push(state);
            break;
          }
        } catch {
          // not written yet, or being written
        }
      }
    }
    return states;
  };
  const send = async (target, connections, stream, amount) => {
    const result = await autocannon({ url: `${target.url}/v1/chat/completions`, method: 'POST', headers: target.headers, body: body(stream), connections, amount });
    const failed = result.non2xx + result.errors + result.timeouts;
    if (failed > 0) throw new Error(`${failed} of ${amount} requests failed (c=${connections}, stream ${stream})`);
  };

  for (const stream of [false, true]) {
    await send(gateway, 1, stream, 300);
    await send(gateway, 32, stream, 600);
  }
  await send(longStreams, 8, true, 100);
  await pause(500);
  const phases = [];
  let before = await snapshot();
  const measure = async (name, target, requests, run) => {
    await run();
    await pause(200); // the group commit's last batch, the access log
    const after = await snapshot();
    const index = target === longStreams ? 1 : 0;
    phases.push({
      name,
      pid: target.pid,
      requests,
      seq: after[index].seq,
      bytes: after[index].allocatedBytes - before[index].allocatedBytes,
      scavenges: after[index].scavenges - before[index].scavenges,
      markCompacts: after[index].markCompacts - before[index].markCompacts,
    });
    before = after;
  };
  await measure('idle 1 s (no request)', gateway, 0, () => pause(1000));
  for (const stream of [false, true]) {
    for (const connections of [1, 32]) {
      await measure(`${stream ? 'streamed' : 'non-streamed'} c=${connections}`, gateway, count, () => send(gateway, connections, stream, count));
    }
  }
  const longCount = Math.max(10, Math.round(count / 10));
  await measure('streamed, 100 chunks, c=8', longStreams, longCount, () => send(longStreams, 8, true, longCount));

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
      const file = join(directory, `gateway-${phase.pid}-${phase.seq}.heapprofile`);
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
