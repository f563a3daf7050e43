/**
 * What a coding agent's tools read back — `~/.docker/config.json`, `kubectl get secret -o yaml`,
 * an ODBC connection string — carries credentials in shapes of its own (base64 `user:password`
 * under `auth`, a Secret's data values, `Pwd=…;`). Sent as a tool result through each API with
 * its official client, naming a hosted model, the request is refused as restricted and the
 * hosted provider receives nothing.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges } from '../helpers/scenario.js';
import { startTestGateway, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const GPT_MODEL = 'gpt-4o-mini';
const CLAUDE_MODEL = 'claude-sonnet-4-20250514';
const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** `cat ~/.docker/config.json` after `docker login` without a credential helper. */
const DOCKER_CONFIG = JSON.stringify({ auths: { 'registry.corp.example:5000': { auth: base64('deploy-bot:9f8e7d6c5b4a3928') } } }, null, 2);
/** `kubectl get secret mail -o yaml`: the data key names nothing sensitive, its value is a secret all the same. */
const KUBERNETES_SECRET = `apiVersion: v1\nkind: Secret\nmetadata:\n  name: mail\n  namespace: prod\ntype: Opaque\ndata:\n  smtp: ${base64('Xk9vLm2q7')}\n`;
const ODBC = 'Driver={ODBC Driver 18 for SQL Server};Server=tcp:db.corp.example,1433;Database=prod;Uid=sa;Pwd=Xk9vLm2q7;';

let openai: FakeEngine;
let claude: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  [openai, claude] = await Promise.all([startFakeEngine({ kind: 'openai', models: [{ id: GPT_MODEL }] }), startFakeEngine({ kind: 'anthropic' })]);
  gateway = await startTestGateway({
    providers: [
      { id: 'openai', class: 'approved_hosted', wire: 'openai', baseUrl: openai.baseUrl, auth: true, models: [{ id: GPT_MODEL, tags: ['tools'], price: { inputPerMTok: 0.15, outputPerMTok: 0.6 } }] },
      { id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: claude.baseUrl, auth: true, models: [{ id: CLAUDE_MODEL, tags: ['tools'], price: { inputPerMTok: 3, outputPerMTok: 15 } }] },
    ],
  });
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([openai?.close(), claude?.close()]);
});

const readFile = { type: 'function' as const, function: { name: 'read_file', description: 'Read a file', parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } } };

describe('credentials in configuration files a tool read', () => {
  it('Chat Completions: ~/.docker/config.json as a tool result is restricted; OpenAI receives nothing', async () => {
    const before = inferenceExchanges(openai).length;
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const failure = await client.chat.completions
      .create({
        model: `openai:${GPT_MODEL}`,
        tools: [readFile],
        messages: [
          { role: 'user', content: 'Why does docker push to our registry fail?' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'read_file', arguments: '{"path":"~/.docker/config.json"}' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: DOCKER_CONFIG },
        ],
      })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((failure as InstanceType<typeof OpenAI.PermissionDeniedError>).message).toContain('restricted');
    expect(inferenceExchanges(openai)).toHaveLength(before);
  });

  it('Messages: a Kubernetes Secret manifest in a tool_result is restricted; Claude receives nothing', async () => {
    const before = inferenceExchanges(claude).length;
    const client = new Anthropic({ baseURL: gateway.url, apiKey: TEST_TOKEN, maxRetries: 0 });
    const failure = await client.messages
      .create({
        model: `claude:${CLAUDE_MODEL}`,
        max_tokens: 64,
        messages: [
          { role: 'user', content: 'Is the mail secret in prod set?' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'shell', input: { command: 'kubectl get secret mail -n prod -o yaml' } }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: KUBERNETES_SECRET }] },
        ],
      })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((failure as InstanceType<typeof Anthropic.PermissionDeniedError>).message).toContain('restricted');
    expect(inferenceExchanges(claude)).toHaveLength(before);
  });

  it('Responses: an ODBC connection string in a function_call_output is restricted; OpenAI receives nothing', async () => {
    const before = inferenceExchanges(openai).length;
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0 });
    const failure = await client.responses
      .create({
        model: `openai:${GPT_MODEL}`,
        tools: [{ type: 'function', name: 'read_file', description: 'Read a file', parameters: readFile.function.parameters, strict: false }],
        input: [
          { role: 'user', content: 'Why does the report job fail to connect?' },
          { type: 'function_call', call_id: 'call_2', name: 'read_file', arguments: '{"path":"report.ini"}' },
          { type: 'function_call_output', call_id: 'call_2', output: `[database]\nconnection=${ODBC}\n` },
        ],
      })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((failure as InstanceType<typeof OpenAI.PermissionDeniedError>).message).toContain('restricted');
    expect(inferenceExchanges(openai)).toHaveLength(before);
  });
});
