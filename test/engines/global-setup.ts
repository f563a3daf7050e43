import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { installEngine } from '../../src/engines/runtime.js';

const run = promisify(execFile);

/**
 * Makes the two real engines available to the suite through the environment the test workers
 * inherit: `SYNDICATE_ENGINE_DIR` (node-llama-cpp, installed by `installEngine` unless already
 * present) and `SYNDICATE_LLAMA_SERVER` (built by scripts/build-llama-server.sh from the engine's
 * own llama.cpp source bundle, cached per machine). Either may be given from outside instead.
 */
export default async function setup(): Promise<void> {
  const started = Date.now();
  const log = (text: string): void => {
    process.stderr.write(`[engines setup ${((Date.now() - started) / 1000).toFixed(0)}s] ${text}\n`);
  };
  const install = await installEngine({ onProgress: (line) => log(`npm: ${line}`) });
  const engineDirectory = install.installation.directory;
  process.env['SYNDICATE_ENGINE_DIR'] = engineDirectory;
  log(`${install.changed ? 'installed' : 'found'} node-llama-cpp ${install.installation.version} (${install.installation.binaryPackages.join(', ')}) in ${engineDirectory}`);

  if (process.env['SYNDICATE_LLAMA_SERVER'] === undefined || process.env['SYNDICATE_LLAMA_SERVER'] === '') {
    const bundle = join(engineDirectory, 'node_modules', 'node-llama-cpp', 'llama', 'gitRelease.bundle');
    if (!existsSync(bundle)) throw new Error(`llama.cpp source bundle missing: ${bundle}`);
    log('building llama-server from that bundle (cached per machine; the first build takes 4-15 min on two cores)');
    const script = join(import.meta.dirname, '..', '..', 'scripts', 'build-llama-server.sh');
    const child = run('bash', [script], { env: { ...process.env, SYNDICATE_LLAMA_BUNDLE: bundle }, maxBuffer: 1 << 20 });
    child.child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    const { stdout } = await child;
    const binary = stdout.trim().split('\n').pop() ?? '';
    if (!existsSync(binary)) throw new Error(`build-llama-server.sh did not produce a binary (stdout: ${stdout})`);
    process.env['SYNDICATE_LLAMA_SERVER'] = binary;
    log(`llama-server: ${binary}`);
  }
}
