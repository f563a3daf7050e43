#!/usr/bin/env node
// The README's first command: real, governed inference on a fresh machine, with no engine or
// model to install by hand. The only download is step 1's, once per machine: the embedded engine
// (node-llama-cpp with llama.cpp's CPU build, ~85 MB from the npm registry); everything after it
// runs offline. Every step is an ordinary syndicate command, printed before it runs so the
// operator can repeat it:
//   engine install (once per machine) -> init -> engine make-test-model -> engine serve
//   --register -> run (a public and a sensitive prompt, both answered locally) -> evidence
//   list -> metrics; the engine process it started is stopped on the way out, also on Ctrl-C.
// The state lives in .quickstart/home ($SYNDICATE_QUICKSTART_DIR/home), recreated on every run,
// so it never touches the operator's own store; the last lines say how to look around in it.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'syndicate.js');
const workDir = process.env.SYNDICATE_QUICKSTART_DIR || join(root, '.quickstart');
const home = join(workDir, 'home');
const modelPath = join(workDir, 'test-model.gguf');
const providerId = 'embedded';
const started = Date.now();
const env = { ...process.env, SYNDICATE_HOME: home, FORCE_COLOR: process.stdout.isTTY ? '1' : '0' };
/** The `engine serve` child, once started. */
let engine;
/** Settles with `{ code, signal }` when the engine process has exited, whatever the reason. */
let engineExited;
/** Set once the engine process has exited. */
let engineExit;
/** True once this script asked the engine to stop. */
let stopping = false;

function elapsed() {
  return `${((Date.now() - started) / 1000).toFixed(1)}s`;
}

function heading(text) {
  process.stdout.write(`\n[${elapsed()}] ${text}\n`);
}

function show(args) {
  process.stdout.write(`$ syndicate ${args.map((arg) => (/[\s"'$]/.test(arg) ? JSON.stringify(arg) : arg)).join(' ')}\n`);
}

/** Runs one syndicate command with its output passed through; fails the quickstart on a non-zero exit. */
function syndicate(args, { quiet = false, echo = false } = {}) {
  if (!quiet) show(args);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', quiet || echo ? 'pipe' : 'inherit', 'inherit'] });
    let stdout = '';
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
      if (echo) process.stdout.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`syndicate ${args[0]} ${args[1] ?? ''} exited with ${code}${args.includes('--json') ? jsonErrorText(stdout) : ''}`)),
    );
  });
}

/** `: message (hint: ...)` from a `--json` error document, which is the only place a --json command prints its error. */
function jsonErrorText(stdout) {
  try {
    const { error } = JSON.parse(stdout);
    return `: ${error.message}${error.hint === undefined ? '' : ` (hint: ${error.hint})`}`;
  } catch {
    return '';
  }
}

function describeExit({ code, signal }) {
  return signal === null ? `exit code ${code}` : `signal ${signal}`;
}

/**
 * Starts `engine serve --json` and resolves with its ready document once the model is loaded. An
 * engine that exits before it was asked to stop (a crash, the OOM killer) is reported at once.
 */
function startEngine() {
  const args = ['engine', 'serve', '--model', modelPath, '--port', '0', '--register', providerId, '--json'];
  show(args);
  return new Promise((resolve, reject) => {
    engine = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    // exitCode alone cannot tell a running engine from one killed by a signal (both null): keep the outcome.
    engineExited = new Promise((settle) =>
      engine.once('close', (code, signal) => {
        engineExit = { code, signal };
        if (!stopping) process.stderr.write(`quickstart: the engine (pid ${engine.pid}) exited unexpectedly with ${describeExit(engineExit)}\n`);
        settle(engineExit);
      }),
    );
    let buffered = '';
    const timer = setTimeout(() => reject(new Error('the engine did not report ready within 60 s')), 60_000);
    engine.stdout.on('data', (chunk) => {
      buffered += chunk;
      try {
        const ready = JSON.parse(buffered);
        clearTimeout(timer);
        if (ready.ok === false) reject(new Error(`engine serve failed${jsonErrorText(buffered)}`));
        else resolve(ready);
      } catch {
        // the JSON document is not complete yet
      }
    });
    engine.on('error', reject);
    void engineExited.then((exit) => {
      clearTimeout(timer);
      reject(new Error(`the engine exited with ${describeExit(exit)} before it was ready`));
    });
  });
}

/** Stops the engine this script started; throws when it had already died on its own. */
async function stopEngine() {
  if (engine === undefined || stopping) return;
  stopping = true;
  if (engineExit !== undefined) throw new Error(`the engine had already exited with ${describeExit(engineExit)}`);
  engine.kill('SIGTERM');
  const timeout = setTimeout(() => engine.kill('SIGKILL'), 10_000);
  await engineExited;
  clearTimeout(timeout);
}

/** Fails the quickstart when the engine is gone (a step against a dead engine would fail less clearly). */
function checkEngineAlive() {
  if (engineExit !== undefined) throw new Error(`the engine exited unexpectedly with ${describeExit(engineExit)}`);
}

process.on('SIGINT', () => {
  void stopEngine()
    .catch(() => undefined)
    .finally(() => process.exit(130));
});

async function main() {
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first (`npm run quickstart` does)');
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });

  heading('1. the embedded engine: node-llama-cpp with llama.cpp\'s CPU build (installed once per machine, ~85 MB from the npm registry)');
  await syndicate(['engine', 'install']);

  heading('2. a private home for this walkthrough, with the default policy');
  await syndicate(['init']);

  heading('3. a small generated model (real tokenizer, random weights: its answers are gibberish, its tokens and timings are real)');
  await syndicate(['engine', 'make-test-model', '--out', modelPath]);

  heading('4. serve it on loopback and register it as a local provider');
  const ready = await startEngine();
  process.stdout.write(`engine ready at ${ready.url} (pid ${engine.pid}, backend ${ready.backend}, context ${ready.contextWindow}, loaded in ${ready.loadMs} ms)\n`);

  checkEngineAlive();
  heading('5. a public prompt: classified, routed, permitted, answered locally, recorded');
  const answers = [];
  answers.push(await syndicate(['run', 'Write one sentence about the sea.', '--max-tokens', '24', '--no-stream'], { echo: true }));

  checkEngineAlive();
  heading('6. a sensitive prompt, with a hosted provider now registered too: the classifier finds the secret before anything is sent, and policy keeps it local');
  const secretPrompt = 'Why does this fail? psql "postgres://admin:S3cr3t-Pass@db.internal:5432/prod"';
  await syndicate(['classify', '--explain', secretPrompt]);
  await syndicate(['provider', 'add', 'anthropic']);
  await syndicate(['route', '--explain', secretPrompt]);
  answers.push(await syndicate(['run', secretPrompt, '--max-tokens', '24', '--no-stream'], { echo: true }));

  checkEngineAlive();
  heading('7. the evidence: both envelopes, hash-chained, with exact token counts from the engine');
  await syndicate(['evidence', 'list']);
  await syndicate(['evidence', 'verify']);

  checkEngineAlive();
  heading('8. metrics: how much stayed local');
  await syndicate(['metrics']);

  await stopEngine();
  const { evidence } = JSON.parse(await syndicate(['--json', 'evidence', 'list', '--limit', '2'], { quiet: true }));
  heading(`done in ${elapsed()}; the engine is stopped.`);
  [...evidence].reverse().forEach((row, index) => {
    process.stdout.write(`${row.sensitivity} prompt answered locally by ${row.provider.id}:${row.model}, ${row.inputTokens}+${row.outputTokens} tokens (${row.tokenAccounting}): ${JSON.stringify(answers[index]?.trim())} — evidence ${row.id}\n`);
  });
  process.stdout.write('Look around with:\n');
  process.stdout.write(`  export SYNDICATE_HOME=${relative(process.cwd(), home) || home}\n  node bin/syndicate.js evidence show <id> --raw response\n`);
}

main().catch(async (error) => {
  // An engine that died on its own has already said so on stderr, when it happened.
  await stopEngine().catch(() => undefined);
  process.stderr.write(`quickstart failed: ${error.message}\n`);
  process.exit(1);
});
