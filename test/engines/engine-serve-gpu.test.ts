import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binaryPackagesFor, findEngine } from '../../src/engines/runtime.js';
import { parseJsonDocument } from '../helpers/cli.js';
import { Scenario } from '../helpers/scenario.js';

/**
 * `syndicate engine serve --gpu <backend>` for real, on a machine without that backend's binaries:
 * the real node-llama-cpp throws its bare `NoBinaryFoundError`, which the operator reads in words.
 * The backend is the first GPU one whose binaries the installed engine lacks (CUDA, else Vulkan:
 * the CPU-only install the global setup makes has neither).
 */
const missingBackend = (['cuda', 'vulkan'] as const).find((backend) => {
  let wanted: string[];
  try {
    wanted = binaryPackagesFor(backend);
  } catch {
    return false;
  }
  return wanted.some((name) => !(findEngine()?.binaryPackages ?? []).includes(name));
});

describe('syndicate engine serve --gpu on a machine without that backend (node-llama-cpp, generated test model)', () => {
  let scenario: Scenario;
  const modelPath = (): string => join(scenario.home, 'tiny.gguf');

  beforeAll(async () => {
    expect(findEngine(), 'the global setup installs node-llama-cpp').toBeDefined();
    expect(missingBackend, `the installed engine has every GPU backend's binaries (${findEngine()?.binaryPackages.join(', ')}): nothing to test here`).toBeDefined();
    scenario = await Scenario.create();
    const made = await scenario.json(['engine', 'make-test-model', '--out', modelPath(), '--seed', '7']);
    expect(made.result.exitCode, made.result.stderr).toBe(0);
  }, 90_000);
  afterAll(() => scenario?.cleanup());

  it('says that no prebuilt llama.cpp binary for that GPU backend is on this machine, with the install hint, exit 2; the same in --json', async () => {
    const backend = missingBackend!;
    const message = `no prebuilt llama.cpp binary for the ${backend} GPU backend on this machine: the embedded engine has none installed for it (it has ${findEngine()!.binaryPackages.join(', ')})`;
    const hint = `install its binaries with \`syndicate engine install --gpu ${backend}\`, or use \`--gpu cpu\``;
    const human = await scenario.cli(['engine', 'serve', '--model', modelPath(), '--port', '0', '--threads', '1', '--gpu', backend]);
    expect(human.exitCode, human.stderr).toBe(2);
    expect(human.stderr).toContain(`error: ${message}\nhint: ${hint}`);
    expect(human.stderr).not.toContain('NoBinaryFoundError');
    const json = await scenario.json(['engine', 'serve', '--model', modelPath(), '--port', '0', '--threads', '1', '--gpu', backend]);
    expect(json.result.exitCode).toBe(2);
    expect(parseJsonDocument(json.result.stdout)).toMatchObject({ ok: false, error: { code: 'gpu_backend_unavailable', message, hint } });
  }, 90_000);
});
