import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { readEvidence, envelopeToJson } from '../../src/evidence/index.js';
import { resolveHome } from '../../src/home/home.js';
import { loadPolicy } from '../../src/policy/load.js';
import type { Policy } from '../../src/policy/types.js';
import { listProviders, retireProvider } from '../../src/registry/registry.js';
import type { ModelPrice } from '../../src/registry/types.js';
import { holdsInForce, releaseHolds } from '../../src/router/shared-holds.js';
import { promptRequestParts } from '../../src/cli/request-options.js';
import { createPipelineContext } from '../../src/invoke/context.js';
import { CLI_MODEL_NAMING } from '../../src/invoke/model-naming.js';
import { invokeInSession } from '../../src/sessions/converse.js';
import { sessionDetail, startSession, type StartSessionOptions } from '../../src/sessions/index.js';
import { openStore } from '../../src/store/store.js';
import { parseJsonDocument, runCli, type CliResult, type RunCliOptions } from './cli.js';
import { startFakeEngine, type FakeEngine, type FakeEngineOptions } from './fake-engines/index.js';
import { initialisedHome } from './prepared-home.js';
import { issuePermitInHome, registerFilesInHome, withStore } from './store.js';

export interface ProviderSpec {
  id: string;
  engine: FakeEngine;
  class?: 'local' | 'approved_hosted' | 'restricted_hosted' | 'blocked';
  model?: string;
  deviations?: string[];
  /** Environment variable holding the key (hosted providers). */
  authEnv?: string;
  price?: Pick<ModelPrice, 'inputPerMTok' | 'outputPerMTok' | 'tiers'>;
  /** Default 32768. */
  contextWindow?: number;
  tags?: string[];
  /** Default: small. */
  capabilityClass?: 'small' | 'medium' | 'large' | 'frontier';
  /** Default: chat. */
  kind?: 'chat' | 'embedding';
}

/** A temporary data directory, initialised, with a policy and provider records for fake engines. */
export class Scenario {
  readonly home: string;
  private readonly cleanupHome: () => void;

  private constructor(home: string, cleanup: () => void) {
    this.home = home;
    this.cleanupHome = cleanup;
  }

  static async create(options: { egressHosts?: string[]; policyExtra?: string } = {}): Promise<Scenario> {
    const { home, cleanup } = await initialisedHome('syndicate-scenario-');
    const scenario = new Scenario(home, cleanup);
    if (options.egressHosts !== undefined || options.policyExtra !== undefined) {
      const lines = ['apiVersion: syndicate/v1', 'kind: Policy'];
      if (options.egressHosts !== undefined) lines.push('egress:', `  allowHosts: [${options.egressHosts.join(', ')}]`);
      if (options.policyExtra !== undefined) lines.push(options.policyExtra);
      writeFileSync(join(home, 'policy.yaml'), `${lines.join('\n')}\n`, { mode: 0o600 });
    }
    return scenario;
  }

  /** Writes and registers one provider record per spec (exit 0 asserted). */
  async register(...specs: ProviderSpec[]): Promise<void> {
    const result = await this.cli(['provider', 'register', ...this.writeProviderFiles(specs)]);
    expect(result.exitCode, result.stderr).toBe(0);
  }

  /**
   * As `register`, but stored by this process through the function `provider register` calls: for
   * setups whose test is not about `provider register` (one CLI process fewer).
   */
  async registerInProcess(...specs: ProviderSpec[]): Promise<void> {
    await this.registerFilesInProcess(...this.writeProviderFiles(specs));
  }

  /** Registers provider record files in this process, as `provider register FILE...` stores them (throws where it would fail). */
  async registerFilesInProcess(...paths: string[]): Promise<void> {
    await registerFilesInHome(this.home, ...paths);
  }

  /** A permit issued in this process (issuePermitInHome): its token. */
  issuePermitInProcess(providerId: string, model: string, ttlMs?: number): string {
    return issuePermitInHome(this.home, providerId, model, ttlMs);
  }

  private writeProviderFiles(specs: ProviderSpec[]): string[] {
    return specs.map((spec) => {
      const path = join(this.home, `${spec.id}.yaml`);
      writeFileSync(path, providerYaml(spec));
      return path;
    });
  }

  /** Starts a session in this process, as `session start` does (the home's policy, the same options): its id. */
  startSessionInProcess(options: StartSessionOptions = {}): string {
    const policy = this.policy();
    return withStore(this.home, (store) => startSession(store, policy, options).id);
  }

  /**
   * A turn of stored session `sessionId` answered in this process, as `run PROMPT --session ID
   * [--image FILE...] --no-stream` answers it (the same pipeline over this home, `env` added to this
   * process's environment for the provider keys): for turns a test only needs in its session, its
   * subject being what comes after. Throws what `run` would exit with; returns the turn's evidence.
   */
  async runTurnInProcess(sessionId: string, prompt: string, options: { images?: string[]; env?: Record<string, string> } = {}): Promise<{ evidenceId: string; providerId: string; turn: number | null }> {
    const { images, settings } = await promptRequestParts({ ...(options.images === undefined ? {} : { image: options.images }) });
    const home = resolveHome({ home: this.home });
    const store = openStore(home.storePath);
    try {
      const pipeline = createPipelineContext(home, store, { ...process.env, ...options.env });
      const answered = await invokeInSession(pipeline, { caller: 'cli', modelNaming: CLI_MODEL_NAMING, sessionId, prompt, images, settings: { ...settings, stream: false } });
      await pipeline.commits?.idle();
      return { evidenceId: answered.result.evidenceId, providerId: answered.result.provider.id, turn: answered.turn };
    } finally {
      store.close();
    }
  }

  /**
   * Writes and registers provider records given as their YAML after `kind: Provider` (`id: …` to
   * `models: …`, several models included), by file name, each with `deviations: []` (exit 0 asserted).
   */
  async registerRecords(records: Readonly<Record<string, string>>): Promise<void> {
    const files = Object.entries(records).map(([name, body]) => {
      const path = join(this.home, `${name}.yaml`);
      writeFileSync(path, `apiVersion: syndicate/v1\nkind: Provider\n${body}\ndeviations: []\n`);
      return path;
    });
    const result = await this.cli(['provider', 'register', ...files]);
    expect(result.exitCode, result.stderr).toBe(0);
  }

  /** Retires provider `id` in this process, as `provider remove` does (retireProvider). */
  retireInProcess(id: string): void {
    withStore(this.home, (store) => retireProvider(store, id));
  }

  /** The home's policy, loaded in this process as the commands load it. */
  policy(): Policy {
    return loadPolicy(resolveHome({ home: this.home }).policyPath);
  }

  cli(args: string[], options: Omit<RunCliOptions, 'home'> = {}): Promise<CliResult> {
    return runCli(args, { ...options, home: this.home });
  }

  async json(args: string[], options: Omit<RunCliOptions, 'home'> = {}): Promise<{ result: CliResult; document: Record<string, unknown> }> {
    const result = await this.cli(['--json', ...args], options);
    return { result, document: parseJsonDocument(result.stdout) };
  }

  /** The full evidence row, bytes included, through `evidence show --json`. */
  async evidence(id: string): Promise<Record<string, unknown>> {
    const { result, document } = await this.json(['evidence', 'show', id]);
    expect(result.exitCode, result.stderr).toBe(0);
    return document.evidence as Record<string, unknown>;
  }

  /**
   * The full evidence row as `evidence show --json` prints it (`evidence`), read by this process:
   * for tests whose subject is what was recorded, not `evidence show`. A row that cannot be read
   * whole fails the test, as that command's exit 1 would.
   */
  storedEvidence(id: string): Record<string, unknown> {
    return withStore(this.home, (store) => {
      const envelope = readEvidence(store, id);
      expect(envelope, `no evidence row ${id}`).toBeDefined();
      expect(envelope!.damage).toBeUndefined();
      return JSON.parse(JSON.stringify(envelopeToJson(envelope!.record))) as Record<string, unknown>;
    });
  }

  /** Exact bytes of a stored request or response, as `evidence show --raw` writes them, read by this process (held bytes asserted). */
  storedRawEvidence(id: string, which: 'request' | 'response'): Buffer {
    return withStore(this.home, (store) => {
      const envelope = readEvidence(store, id);
      expect(envelope, `no evidence row ${id}`).toBeDefined();
      expect(envelope!.unreadable[which]).toBeUndefined();
      const bytes = envelope!.record[which].body;
      expect(bytes, `evidence ${id} holds no ${which} bytes`).not.toBeNull();
      return Buffer.from(bytes!);
    });
  }

  /** A stored session as `session show --json` prints it (`session`), read by this process. */
  storedSession(idOrName: string): Record<string, unknown> {
    return withStore(this.home, (store) => JSON.parse(JSON.stringify(sessionDetail(store, idOrName))) as Record<string, unknown>);
  }

  /** Exact raw bytes of a stored request or response, through `evidence show --raw`. */
  async rawEvidence(id: string, which: 'request' | 'response'): Promise<Buffer> {
    const result = await runCliBuffer(['evidence', 'show', id, '--raw', which], this.home);
    return result;
  }

  /**
   * Lifts what is held back from routes in this home, as an operator does (`provider release
   * --all`, which lifts tools refusals too): a 429, a reset or a missing model holds a provider or
   * model back for every later `run` (2 s to 30 s), which a test of the next failure must not meet.
   * Runs nothing when nothing but a tools refusal is held.
   */
  async releaseHolds(): Promise<void> {
    const held = withStore(this.home, (store) => holdsInForce(store, listProviders(store)).filter((hold) => hold.state !== 'tools_refused'));
    if (held.length === 0) return;
    const released = await this.cli(['provider', 'release', '--all']);
    expect(released.exitCode, released.stderr).toBe(0);
  }

  /**
   * As releaseHolds, in this process (releaseHolds of the router, what `provider release --all`
   * runs): for a test's own clean-up, without a CLI process to start.
   */
  releaseHoldsInProcess(): void {
    withStore(this.home, (store) => releaseHolds(store, listProviders(store).map((provider) => ({ provider, everyModel: true })), 'every'));
  }

  cleanup(): void {
    this.cleanupHome();
  }
}

export function providerYaml(spec: ProviderSpec): string {
  const providerClass = spec.class ?? 'local';
  const wire = spec.engine.kind === 'anthropic' ? 'anthropic' : 'openai';
  const model = spec.model ?? defaultModel(spec.engine);
  const lines = [
    'apiVersion: syndicate/v1',
    'kind: Provider',
    `id: ${spec.id}`,
    `class: ${providerClass}`,
    `wire: ${wire}`,
    `baseUrl: ${spec.engine.baseUrl}`,
  ];
  if (spec.authEnv !== undefined) lines.push('auth:', `  env: ${spec.authEnv}`);
  lines.push('models:', `  - id: "${model}"`, `    contextWindow: ${spec.contextWindow ?? 32768}`, `    capabilityClass: ${spec.capabilityClass ?? 'small'}`);
  if (spec.kind !== undefined) lines.push(`    kind: ${spec.kind}`);
  if (spec.tags !== undefined) lines.push(`    tags: [${spec.tags.join(', ')}]`);
  if (spec.price !== undefined) lines.push('    price:', `      inputPerMTok: ${spec.price.inputPerMTok}`, `      outputPerMTok: ${spec.price.outputPerMTok}`);
  if (spec.price?.tiers !== undefined) lines.push(`      tiers: ${JSON.stringify(spec.price.tiers)}`);
  lines.push(`deviations: [${(spec.deviations ?? []).join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

const FAKE_DEFAULT_MODELS: Record<string, string> = {
  ollama: 'llama3.2:latest',
  'llama.cpp': 'qwen2.5-0.5b-instruct-q4_k_m.gguf',
  vllm: 'Qwen/Qwen2.5-1.5B-Instruct',
  lmstudio: 'qwen2.5-7b-instruct',
  openai: 'gpt-4o-mini',
  anthropic: 'claude-sonnet-4-20250514',
};

export function defaultModel(engine: FakeEngine): string {
  return FAKE_DEFAULT_MODELS[engine.kind] ?? 'model';
}

/** The inference exchanges a fake engine saw (discovery and health GETs left out). */
export function inferenceExchanges(engine: FakeEngine): FakeEngine['exchanges'] {
  return engine.exchanges.filter((exchange) => exchange.method === 'POST');
}

async function runCliBuffer(args: string[], home: string): Promise<Buffer> {
  const { execa } = await import('execa');
  const { BIN, REPO_ROOT } = await import('./cli.js');
  const result = await execa('node', [BIN, ...args], {
    cwd: REPO_ROOT,
    env: { SYNDICATE_HOME: home, NO_COLOR: '1' },
    encoding: 'buffer',
    stripFinalNewline: false,
    reject: false,
  });
  expect(result.exitCode, Buffer.from(result.stderr).toString()).toBe(0);
  return Buffer.from(result.stdout);
}

/**
 * One fake engine registered as `providerId` in a fresh home, for the tests of one describe block:
 * filled in by the block's beforeAll, removed by its afterAll. Tests read `setup.scenario` and
 * `setup.engine` once the block runs. `registration`: through `provider register` (the default),
 * or stored by this process (`Scenario.registerInProcess`).
 */
export function registeredEngineScenario(providerId: string, engineOptions: FakeEngineOptions, registration: 'cli' | 'in-process' = 'cli'): { scenario: Scenario; engine: FakeEngine } {
  const setup = {} as { scenario: Scenario; engine: FakeEngine };
  beforeAll(async () => {
    setup.engine = await startFakeEngine(engineOptions);
    setup.scenario = await Scenario.create();
    const spec = { id: providerId, engine: setup.engine };
    await (registration === 'cli' ? setup.scenario.register(spec) : setup.scenario.registerInProcess(spec));
  });
  afterAll(async () => {
    setup.scenario?.cleanup();
    await setup.engine?.close();
  });
  return setup;
}

/**
 * A fake Anthropic registered as the hosted `claude` (serving `model`, its key in
 * `FAKE_ANTHROPIC_KEY`) and a fake Ollama as the local `ollama`, in a fresh home whose policy
 * prefers hosted models for interactive work, for one describe block (as registeredEngineScenario);
 * `specs` adds to either record.
 */
export function hostedPreferredScenario(
  model: string,
  specs: { claude?: Partial<ProviderSpec>; ollama?: Partial<ProviderSpec> } = {},
  /** The policy after its header and egress list; default: the interactive workflow prefers hosted. */
  policyExtra = ['workflows:', '  interactive:', '    prefer: [hosted]'].join('\n'),
): { scenario: Scenario; claude: FakeEngine; ollama: FakeEngine } {
  const setup = {} as { scenario: Scenario; claude: FakeEngine; ollama: FakeEngine };
  beforeAll(async () => {
    [setup.claude, setup.ollama] = await Promise.all([startFakeEngine({ kind: 'anthropic', models: [{ id: model }] }), startFakeEngine({ kind: 'ollama' })]);
    setup.scenario = await Scenario.create({ egressHosts: ['127.0.0.1'], policyExtra });
    await setup.scenario.register(
      { id: 'claude', engine: setup.claude, class: 'approved_hosted', model, authEnv: 'FAKE_ANTHROPIC_KEY', ...specs.claude },
      { id: 'ollama', engine: setup.ollama, ...specs.ollama },
    );
  }, 90_000);
  afterAll(async () => {
    setup.scenario?.cleanup();
    await Promise.all([setup.claude?.close(), setup.ollama?.close()]);
  });
  return setup;
}

/** A local provider record whose engine syndicate can start (`engine.launch`), one model. */
export interface LaunchedEngineSpec {
  id: string;
  baseUrl: string;
  kind: 'llama.cpp' | 'node-llama-cpp';
  command: string;
  args?: string[];
  readyPath: string;
  coldStartSeconds?: number;
  model: string;
  contextWindow: number;
}

export function launchedEngineYaml(spec: LaunchedEngineSpec): string {
  const launch = [`    command: ${JSON.stringify(spec.command)}`];
  if (spec.args !== undefined) launch.push(`    args: ${JSON.stringify(spec.args)}`);
  launch.push(`    readyPath: ${spec.readyPath}`);
  if (spec.coldStartSeconds !== undefined) launch.push(`    coldStartSeconds: ${spec.coldStartSeconds}`);
  return [
    'apiVersion: syndicate/v1',
    'kind: Provider',
    `id: ${spec.id}`,
    'class: local',
    'wire: openai',
    `baseUrl: ${spec.baseUrl}`,
    'engine:',
    `  kind: ${spec.kind}`,
    '  launch:',
    ...launch,
    'models:',
    `  - id: ${JSON.stringify(spec.model)}`,
    `    contextWindow: ${spec.contextWindow}`,
    '    capabilityClass: small',
    'deviations: []',
    '',
  ].join('\n');
}
