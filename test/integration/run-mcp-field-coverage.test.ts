/**
 * The field sweep of gateway-field-coverage, for `run` and MCP `complete`: every input that leaves
 * with the request (prompt, stdin, system prompt, tool definitions, answer schema and the name it
 * takes from its file, images) holds a secret in turn, with a hosted Claude preferred and a local
 * Ollama behind it. The request is classified restricted and answered locally; Claude receives
 * nothing. An image that is no image is refused before anything is sent.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, REPO_ROOT } from '../helpers/cli.js';
import { hostedPreferredScenario, inferenceExchanges } from '../helpers/scenario.js';

const KEY = 'AKIAIOSFODNN7EXAMPLE';
const PRIVATE_KEY_BODY = 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW';
const PRIVATE_KEY = `-----BEGIN OPENSSH PRIVATE KEY-----\n${PRIVATE_KEY_BODY}\n-----END OPENSSH PRIVATE KEY-----`;
const KEYS = { FAKE_ANTHROPIC_KEY: 'sk-ant-fake' };

const setup = hostedPreferredScenario('claude-opus-4-1', { claude: { tags: ['chat', 'tools', 'vision'], contextWindow: 200000 }, ollama: { tags: ['chat', 'tools', 'vision'], contextWindow: 8192 } });

const tool = (definition: Record<string, unknown>): Record<string, unknown> => ({ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } }, ...definition } });

/** One input: the secret to look for, `run`'s arguments (files written into the home by name) and stdin, and `complete`'s arguments. */
interface Field {
  field: string;
  secret?: string;
  files?: Record<string, string | Buffer>;
  run: string[];
  stdin?: string;
  complete: Record<string, unknown>;
  /** `local`: answered by Ollama, restricted; `refused`: nothing is sent. */
  outcome?: 'local' | 'refused';
}

const FIELDS: Field[] = [
  { field: 'the prompt', run: [`deploy with ${KEY}`], complete: { prompt: `deploy with ${KEY}` } },
  { field: 'the prompt on stdin', run: [], stdin: `deploy with ${KEY}`, complete: { prompt: `deploy with ${KEY}` } },
  { field: 'the system prompt', run: ['hi', '--system', `keys: ${KEY}`], complete: { prompt: 'hi', system: `keys: ${KEY}` } },
  { field: 'the system prompt (a private key)', secret: PRIVATE_KEY_BODY, run: ['hi', '--system', PRIVATE_KEY], complete: { prompt: 'hi', system: PRIVATE_KEY } },
  { field: "a tool's name", files: { 'tools.json': JSON.stringify([tool({ name: `f${KEY}` })]) }, run: ['hi', '--tools', '{tools.json}'], complete: { prompt: 'hi', tools: [tool({ name: `f${KEY}` })] } },
  { field: "a tool's description", files: { 'tools.json': JSON.stringify([tool({ description: KEY })]) }, run: ['hi', '--tools', '{tools.json}'], complete: { prompt: 'hi', tools: [tool({ description: KEY })] } },
  {
    field: "a tool's parameter default (a private key)",
    secret: PRIVATE_KEY_BODY,
    files: { 'tools.json': JSON.stringify([tool({ parameters: { type: 'object', properties: { q: { type: 'string', default: PRIVATE_KEY } } } })]) },
    run: ['hi', '--tools', '{tools.json}'],
    complete: { prompt: 'hi', tools: [tool({ parameters: { type: 'object', properties: { q: { type: 'string', default: PRIVATE_KEY } } } })] },
  },
  { field: "an Anthropic tool's input_schema enum", files: { 'tools.json': JSON.stringify([{ name: 'lookup', input_schema: { type: 'object', properties: { q: { enum: [KEY] } } } }]) }, run: ['hi', '--tools', '{tools.json}'], complete: { prompt: 'hi', tools: [{ name: 'lookup', input_schema: { type: 'object', properties: { q: { enum: [KEY] } } } }] } },
  { field: 'the answer schema', files: { 'answer.json': JSON.stringify({ type: 'object', properties: { a: { type: 'string', description: KEY } } }) }, run: ['hi', '--schema', '{answer.json}'], complete: { prompt: 'hi', schema: { type: 'object', properties: { a: { type: 'string', description: KEY } } } } },
  // run names the schema after its file: the name leaves with it.
  { field: "the answer schema's name (its file's)", files: { [`${KEY}.json`]: JSON.stringify({ type: 'object' }) }, run: ['hi', '--schema', `{${KEY}.json}`], complete: { prompt: 'hi', schema: { type: 'object', title: KEY } } },
  {
    field: 'an image that is text',
    files: { 'note.png': Buffer.from(`deploy with ${KEY}`) },
    run: ['what does it say?', '--image', '{note.png}'],
    complete: { prompt: 'what does it say?', images: [{ type: 'image', data: Buffer.from(`deploy with ${KEY}`).toString('base64'), mimeType: 'image/png' }] },
    outcome: 'refused',
  },
];

describe('run and MCP complete: every input is classified before it can leave', { timeout: 90_000 }, () => {
  let client: Client;

  beforeAll(async () => {
    client = new Client({ name: 'syndicate-test', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp'], cwd: REPO_ROOT, env: { SYNDICATE_HOME: setup.scenario.home, NO_COLOR: '1', ...KEYS }, stderr: 'pipe' }));
  }, 90_000);

  afterAll(async () => {
    await client?.close();
  });

  /** What Claude and Ollama were sent while `act` ran. */
  async function sentDuring(act: () => Promise<void>): Promise<{ claude: string[]; ollama: string[] }> {
    const claudeBefore = inferenceExchanges(setup.claude).length;
    const ollamaBefore = inferenceExchanges(setup.ollama).length;
    await act();
    return {
      claude: inferenceExchanges(setup.claude)
        .slice(claudeBefore)
        .map((exchange) => `${JSON.stringify(exchange.requestHeaders)} ${exchange.requestBody.toString('latin1')}`),
      ollama: inferenceExchanges(setup.ollama)
        .slice(ollamaBefore)
        .map((exchange) => exchange.requestBody.toString('latin1')),
    };
  }

  it.each(FIELDS.map((entry) => [entry.field, entry] as const))('run: %s', async (_field, { files = {}, run, stdin, outcome = 'local', secret = KEY }) => {
    const paths: Record<string, string> = {};
    for (const [name, content] of Object.entries(files)) writeFileSync((paths[name] = join(setup.scenario.home, name)), content);
    const args = run.map((arg) => arg.replace(/^\{(.+)\}$/, (_whole, name: string) => paths[name] ?? name));
    let document: Record<string, unknown> = {};
    let exitCode: number | undefined;
    const sent = await sentDuring(async () => {
      const ran = await setup.scenario.json(['run', '--no-stream', ...args], { env: KEYS, ...(stdin === undefined ? {} : { input: stdin }) });
      ({ document } = ran);
      exitCode = ran.result.exitCode;
    });
    expect(sent.claude).toEqual([]);
    if (outcome === 'local') {
      expect(exitCode, JSON.stringify(document)).toBe(0);
      expect(document).toMatchObject({ provider: { id: 'ollama' }, sensitivity: 'restricted' });
      // The field really leaves with the request: the local engine is sent it.
      expect(sent.ollama).toHaveLength(1);
      expect(sent.ollama[0]).toContain(secret);
    } else {
      expect(exitCode).not.toBe(0);
      expect(sent.ollama).toEqual([]);
    }
  });

  it.each(FIELDS.map((entry) => [entry.field, entry] as const))('complete: %s', async (_field, { complete, outcome = 'local', secret = KEY }) => {
    let result: CallToolResult | undefined;
    const sent = await sentDuring(async () => {
      result = (await client.callTool({ name: 'complete', arguments: complete })) as CallToolResult;
    });
    expect(sent.claude).toEqual([]);
    if (outcome === 'local') {
      expect(result?.isError, JSON.stringify(result)).not.toBe(true);
      expect(result?.structuredContent).toMatchObject({ provider: { id: 'ollama' }, sensitivity: 'restricted' });
      expect(sent.ollama).toHaveLength(1);
      expect(sent.ollama[0]).toContain(secret);
    } else {
      expect(result?.isError).toBe(true);
      expect(sent.ollama).toEqual([]);
    }
  });
});
