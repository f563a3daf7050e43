// Shared by the interleaved benchmarks (ab.js, long-streams.js): start the bench upstream and
// `syndicate serve` processes of one or more builds, read their CPU time from /proc.
// BENCH_GATEWAY_NODE_ARGS (e.g. `--import=$PWD/bench/gateway/cpu-profile.js`, to profile) is given to every gateway, through
// NODE_OPTIONS (so only the options node allows there).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const upstreamScript = fileURLToPath(new URL('./upstream.js', import.meta.url));

export const pause = (ms) => new Promise((done) => setTimeout(done, ms));
export const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

/** CPU seconds (user + system) of a process's main thread, or of the whole process with `wholeProcess`. */
export function cpuSeconds(pid, wholeProcess = false) {
  const path = wholeProcess ? `/proc/${pid}/stat` : `/proc/${pid}/task/${pid}/stat`;
  const fields = readFileSync(path, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Processes started here, stopped by `stopAll`. */
export class BenchProcesses {
  children = [];
  homes = [];

  /** The bench upstream in its own process; `env` passes its options (STREAM_TOKENS, STREAM_INTERVAL_MS). */
  async startUpstream(env = {}) {
    const upstream = spawn(process.execPath, [upstreamScript], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    this.children.push(upstream);
    return new Promise((done) => upstream.stdout.once('data', (data) => done(String(data).trim())));
  }

  /** `syndicate serve` of the build whose bin is `bin`, with the upstream registered as a local provider. */
  async startGateway(name, bin, upstreamUrl, { contextWindow = 8192, nodeArgs = nodeArgsFrom(process.env.BENCH_GATEWAY_NODE_ARGS), env = {} } = {}) {
    const home = mkdtempSync(join(tmpdir(), `syndicate-bench-${name}-`));
    this.homes.push(home);
    const cli = (args) => {
      const result = spawnSync(process.execPath, [bin, '--home', home, ...args], { encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`${name}: syndicate ${args.join(' ')}: ${result.stderr}`);
    };
    cli(['init']);
    writeFileSync(
      join(home, 'bench.yaml'),
      `apiVersion: syndicate/v1\nkind: Provider\nid: bench\nclass: local\nwire: openai\nbaseUrl: ${upstreamUrl}/v1\nmodels:\n  - id: bench-model\n    contextWindow: ${contextWindow}\n    capabilityClass: small\n`,
    );
    cli(['provider', 'register', join(home, 'bench.yaml')]);
    const token = readFileSync(join(home, 'gateway.token'), 'utf8').trim();
    // Started as an operator starts it: the bin as a program (its shell part gives node the options
    // `serve` runs with); node options reach node through NODE_OPTIONS.
    const nodeOptions = [process.env.NODE_OPTIONS, ...nodeArgs].filter(Boolean).join(' ');
    const child = spawn(bin, ['--home', home, '--json', 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env, NODE_OPTIONS: nodeOptions } });
    this.children.push(child);
    const url = await new Promise((done, fail) => {
      let out = '';
      // A gateway that exits before it listens (a node option NODE_OPTIONS refuses, a bad home) fails the
      // bench instead of leaving it waiting, with the other processes it started, for ever.
      child.once('exit', (code, signal) => fail(new Error(`${name}: syndicate serve exited (${signal ?? code}) before it listened: ${out}`)));
      child.stdout.on('data', (data) => {
        out += data;
        let document;
        try {
          document = JSON.parse(out);
        } catch {
          return; // not complete yet
        }
        if (document.ok === false) fail(new Error(`syndicate serve: ${document.error.message}`));
        else done(document.url);
      });
    });
    return { url, token, pid: child.pid, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } };
  }

  async stopAll() {
    for (const child of this.children) child.kill('SIGTERM');
    await pause(500);
    for (const home of this.homes) rmSync(home, { recursive: true, force: true });
  }
}

/** Node options from a space-separated environment value (e.g. `--max-semi-space-size=8`). */
export function nodeArgsFrom(value) {
  return (value ?? '').split(' ').filter(Boolean);
}

/** Peak resident set size of a process so far, in MB (VmHWM). */
export function peakRssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024;
}
