/**
 * Coding agents through a real gateway, as they send their requests: Claude Code
 * (`POST /v1/messages?beta=true`, Bearer token, betas, a system prompt of cached blocks naming the
 * working directory) and Codex CLI (`POST /v1/responses`, its `<environment_context>` naming the
 * working directory, its hosted web search declared beside its own tools). What the README's
 * recipe for them says: a home-directory path in every request makes each one confidential, so the
 * default policy keeps the agent local; a policy that lets confidential data reach approved_hosted
 * lets the agent use Claude, and a secret (restricted) in a tool result still stays local.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges } from '../helpers/scenario.js';
import { startTestGateway, testPolicy, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';
import type { Policy } from '../../src/policy/types.js';

const BETAS = ['claude-code-20250219', 'interleaved-thinking-2025-05-14', 'fine-grained-tool-streaming-2025-05-14'];
/** Claude Code's system prompt as it sends it: cached text blocks, its environment block naming the working directory. */
const CLAUDE_CODE_SYSTEM: Anthropic.Beta.BetaTextBlockParam[] = [
  { type: 'text', text: "You are Claude Code, Anthropic's official CLI for Claude.", cache_control: { type: 'ephemeral' } },
  { type: 'text', text: 'You are an interactive CLI tool that helps users with software engineering tasks.\n<env>\nWorking directory: /home/dev/shop-api\nIs directory a git repo: Yes\nPlatform: linux\n</env>', cache_control: { type: 'ephemeral' } },
];
const BASH: Anthropic.Beta.BetaTool = { name: 'Bash', description: 'Executes a bash command', input_schema: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'], additionalProperties: false } };
const PRIVATE_KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----';

const HOSTED_PREFERRED: Partial<Policy> = { workflows: { interactive: { prefer: ['hosted'], latencyBudget: {} }, batch: { prefer: ['hosted'], latencyBudget: {} } } };

let claude: FakeEngine;
let ollama: FakeEngine;

beforeAll(async () => {
  [claude, ollama] = await Promise.all([startFakeEngine({ kind: 'anthropic', models: [{ id: 'claude-sonnet-4-5-20250929' }] }), startFakeEngine({ kind: 'ollama', models: [{ id: 'qwen2.5-coder:7b' }] })]);
}, 30_000);

afterAll(async () => {
  await Promise.all([claude?.close(), ollama?.close()]);
});

async function gatewayWith(policy: Partial<Policy>): Promise<TestGateway> {
  return startTestGateway({
    policy: testPolicy(policy),
    providers: [
      { id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: claude.baseUrl, auth: true, models: [{ id: 'claude-sonnet-4-5-20250929', tags: ['tools'], price: { inputPerMTok: 3, outputPerMTok: 15 } }] },
      { id: 'ollama', class: 'local', wire: 'openai', baseUrl: ollama.baseUrl, engine: 'ollama', models: [{ id: 'qwen2.5-coder:7b', tags: ['tools'] }] },
    ],
  });
}

/** Claude Code's client: the gateway's token as `ANTHROPIC_AUTH_TOKEN` (a Bearer header), its own headers. */
const claudeCode = (gateway: TestGateway): Anthropic =>
  new Anthropic({ baseURL: gateway.url, authToken: TEST_TOKEN, apiKey: null, maxRetries: 0, defaultHeaders: { 'x-app': 'cli', 'x-claude-code-session-id': 'a1b2c3d4-session' } });

/** One turn of Claude Code's, streamed as it streams them (`model` as ANTHROPIC_DEFAULT_*_MODEL=auto maps it). */
async function claudeCodeTurn(gateway: TestGateway, messages: Anthropic.Beta.BetaMessageParam[]): Promise<Anthropic.Beta.BetaMessage> {
  return claudeCode(gateway)
    .beta.messages.stream({ model: 'auto', max_tokens: 32_000, system: CLAUDE_CODE_SYSTEM, tools: [BASH], metadata: { user_id: 'user_0123_account__session_a1b2c3d4' }, betas: BETAS, messages })
    .finalMessage();
}

const toolLoop = (result: string): Anthropic.Beta.BetaMessageParam[] => [
  { role: 'user', content: 'why does the deploy fail?' },
  { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_01', name: 'Bash', input: { command: 'cat ~/.ssh/deploy_key' } }] },
  { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: result }] },
];

describe('under the default sensitivity map', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await gatewayWith(HOSTED_PREFERRED);
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('each Claude Code turn is confidential (its working directory is a home-directory path) and answered by the local model, though the policy prefers hosted ones', async () => {
    const before = inferenceExchanges(claude).length;
    const message = await claudeCodeTurn(gateway, [{ role: 'user', content: 'list the files' }]);
    expect(message.model).toBe('ollama:qwen2.5-coder:7b');
    expect(inferenceExchanges(claude).length).toBe(before);
  });

  it('each Codex turn too (its environment_context names the working directory); its hosted web search, declared in every request, is refused with 400 saying to turn it off', async () => {
    const codex = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0, defaultHeaders: { session_id: 'codex-1' } });
    const input: OpenAI.Responses.ResponseInputItem[] = [
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: '<environment_context>\n  <cwd>/home/dev/shop-api</cwd>\n  <shell>bash</shell>\n</environment_context>' }] },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'list the files' }] },
    ];
    const shell: OpenAI.Responses.FunctionTool = { type: 'function', name: 'shell', strict: false, parameters: { type: 'object', properties: { command: { type: 'array', items: { type: 'string' } } }, required: ['command'] } };
    const request = { model: 'auto', instructions: 'You are Codex.', store: false, parallel_tool_calls: false, include: ['reasoning.encrypted_content' as const], input };
    const response = await codex.responses.stream({ ...request, tools: [shell] }).finalResponse();
    expect(response.model).toBe('ollama:qwen2.5-coder:7b');
    const refusal = await codex.responses.create({ ...request, tools: [shell, { type: 'web_search' }] }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refusal as InstanceType<typeof OpenAI.BadRequestError>).message).toMatch(/\/tools\/1\/type: .*"web_search".*Codex CLI: turn its web search off in config\.toml/);
  });
});

describe('with `sensitivity.confidential: [local, approved_hosted]`', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    const defaults = testPolicy().sensitivity;
    gateway = await gatewayWith({ ...HOSTED_PREFERRED, sensitivity: { ...defaults, confidential: ['local', 'approved_hosted'] } });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('a Claude Code turn goes to Claude, and one whose tool result holds a private key (restricted) stays local', async () => {
    const hosted = await claudeCodeTurn(gateway, toolLoop('Permission denied (publickey).'));
    expect(hosted.model).toBe('claude:claude-sonnet-4-5-20250929');
    expect(hosted.content).toEqual([{ type: 'text', text: DEFAULT_ANSWER }]);
    const before = inferenceExchanges(claude).length;
    const local = await claudeCodeTurn(gateway, toolLoop(PRIVATE_KEY));
    expect(local.model).toBe('ollama:qwen2.5-coder:7b');
    expect(inferenceExchanges(claude).length).toBe(before);
  });

  it('that turn pinned to the hosted model (a Claude model name kept instead of auto) is refused with 403, not sent anywhere', async () => {
    const before = inferenceExchanges(claude).length;
    const refusal = await claudeCode(gateway)
      .beta.messages.create({ model: 'claude-sonnet-4-5-20250929', max_tokens: 8192, system: CLAUDE_CODE_SYSTEM, tools: [BASH], betas: BETAS, messages: toolLoop(PRIVATE_KEY) })
      .catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((refusal as Error).message).toContain('restricted');
    expect(inferenceExchanges(claude).length).toBe(before);
  });
});
