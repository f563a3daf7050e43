import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatInputProblem } from '../../../src/errors.js';
import { prepareProviderFile } from '../../../src/registry/register.js';

const PROVIDERS = resolve(import.meta.dirname, '..', '..', '..', 'providers');

const files = readdirSync(PROVIDERS, { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.yaml') || file.endsWith('.yml'))
  .sort();

describe('every file under providers/', () => {
  it('exists in both catalog/ and examples/', () => {
    expect(files.filter((file) => file.startsWith('catalog/')).length).toBeGreaterThanOrEqual(7);
    expect(files).toEqual(expect.arrayContaining(['examples/ollama-local.yaml', 'examples/llamacpp-local.yaml', 'examples/anthropic-hosted.yaml']));
  });

  it.each(files)('%s validates (schema, credentials, uniqueness, local-class rule)', async (file) => {
    const { prepared, problems } = await prepareProviderFile(join(PROVIDERS, file));
    expect(problems.map(formatInputProblem)).toEqual([]);
    expect(prepared?.record.apiVersion).toBe('syndicate/v1');
  });

  it('the llama.cpp example declares how to launch the engine', async () => {
    const { prepared } = await prepareProviderFile(join(PROVIDERS, 'examples', 'llamacpp-local.yaml'));
    expect(prepared?.record.engine).toMatchObject({ kind: 'llama.cpp', launch: { command: 'llama-server', readyPath: '/health' } });
  });
});
