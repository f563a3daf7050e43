import { describe, expect, it } from 'vitest';
import { classifyRequest, requestParts } from '../../../src/classify/index.js';
import type { CanonicalRequest } from '../../../src/wire/canonical.js';

const OPTIONS = { indicatorWords: [], patterns: [] };

/** A request with one distinct sensitive item in every part that carries content. */
const REQUEST: CanonicalRequest = {
  model: 'local-model',
  system: 'You are a helper. Escalations go to ops.lead@example.com.',
  messages: [
    { role: 'user', content: [{ type: 'text', text: 'Please read /home/alice/todo.txt' }, { type: 'image', mediaType: 'image/png', data: 'iVBORw0KGgo=' }] },
    {
      role: 'assistant',
      content: [
        { type: 'reasoning', text: 'The user said their password is in the file.', signature: 'sig ghp_Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz9Xc8' },
        { type: 'text', text: 'Calling the tool.' },
        // Replayed ciphertext is whatever the client put there: a pasted token leaves with it.
        { type: 'redacted-reasoning', data: 'EmwKAhgBEgy3va3pzix/LafPsn4aDFIT ghp_Qm7Wn2Xc4Vb6Nz8Lk1Jh3Gf5Ds7Ap9Oi0Uy2 Tr' },
      ],
      toolCalls: [{ id: 'call_1 jane.roe@example.org', name: 'read_file', arguments: '{"path":"/Users/bob/.aws/credentials"}' }],
    },
    { role: 'tool', toolCallId: 'call_1 jane.roe@example.org', content: [{ type: 'text', text: 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzzzzzzzzz' }] },
    { role: 'user', content: [{ type: 'image', url: 'https://files.example.net/a.png?sv=2022&sig=abcdefghijklmnopqrstuvwxyz0123456789ABCD' }] },
  ],
  tools: [
    {
      name: 'read_file',
      description: 'Reads a file; the on-call phone is +44 20 7946 0958.',
      inputSchema: { type: 'object', properties: { path: { type: 'string', default: '~/notes.md' } } },
    },
  ],
  responseFormat: { type: 'json_schema', name: 'report_for_jane.roe@example.org', schema: { type: 'object', description: 'card 4111 1111 1111 1111' } },
  stop: ['END 123-45-6789'],
  anthropicBeta: ['interleaved-thinking-2025-05-14', 'ghp_Ab9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz9Xc8'],
  stream: false,
};

describe('every part of a request is scanned', () => {
  it('lists every content-carrying part with its location (ids and signatures the client controls too)', () => {
    expect(requestParts(REQUEST).map((part) => `${part.kind} ${part.location}`)).toEqual([
      'text system',
      'text messages[0].content[0]',
      'image messages[0].content[1]',
      'text messages[0].content[1].mediaType',
      'text messages[1].content[0] (reasoning)',
      'text messages[1].content[0].signature',
      'text messages[1].content[1]',
      'text messages[1].content[2] (redacted reasoning)',
      'text messages[1].toolCalls[0].id',
      'text messages[1].toolCalls[0].name',
      'text messages[1].toolCalls[0].arguments',
      'text messages[2].toolCallId',
      'text messages[2].content[0] (tool result)',
      'image messages[3].content[0]',
      'text messages[3].content[0].url',
      'text tools[0].name',
      'text tools[0].description',
      'text tools[0].inputSchema',
      'text responseFormat.name',
      'text responseFormat.schema',
      'text stop[0]',
      'text anthropicBeta',
    ]);
  });

  it('finds the sensitive item of each part at its location', () => {
    const result = classifyRequest(REQUEST, OPTIONS);
    const located = result.findings.map((finding) => `${finding.location} ${finding.detector}`);
    expect(located).toEqual(
      expect.arrayContaining([
        'system pii.email',
        'messages[0].content[0] path.local',
        'messages[0].content[1] image',
        'messages[1].content[0] (reasoning) indicator.word',
        'messages[1].content[0].signature secret.github-token',
        'messages[1].content[2] (redacted reasoning) secret.github-token',
        'messages[1].toolCalls[0].id pii.email',
        'messages[2].toolCallId pii.email',
        'messages[1].toolCalls[0].arguments path.local',
        'messages[1].toolCalls[0].arguments indicator.word',
        'messages[2].content[0] (tool result) secret.aws-secret-access-key',
        'messages[3].content[0] image',
        'messages[3].content[0].url secret.azure-storage-key',
        'tools[0].description pii.phone',
        'tools[0].inputSchema path.local',
        'responseFormat.name pii.email',
        'responseFormat.schema pii.card',
        'stop[0] pii.ssn',
        'anthropicBeta secret.github-token',
      ]),
    );
    expect(result.level).toBe('restricted');
    expect(result.failedClosed).toBe(false);
  });

  it('an image part alone makes a request confidential', () => {
    const result = classifyRequest(
      { model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image', url: 'https://example.com/x.png' }] }], stream: false },
      OPTIONS,
    );
    expect(result.level).toBe('confidential');
    expect(result.findings).toEqual([
      { detector: 'image', level: 'confidential', reason: expect.stringContaining('image part'), location: 'messages[0].content[1]', span: { start: 0, end: 0 }, excerpt: '[image]' },
    ]);
  });

  it("an inline image's bytes and media type are scanned: text among the bytes, a type the client wrote, bytes that are no image failing closed", () => {
    const png = (...chunks: Buffer[]): string => Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), ...chunks]).toString('base64');
    const imageRequest = (image: { mediaType?: string; data: string }): CanonicalRequest => ({ model: 'm', stream: false, messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image', ...image }] }] });
    // A PNG whose text chunk holds a key: the key leaves with the image's bytes.
    const inChunk = classifyRequest(imageRequest({ mediaType: 'image/png', data: png(Buffer.from('\0\0\0\x24tEXtComment\0aws_access_key_id = AKIAIOSFODNN7EXAMPLE\0\0\0\0', 'latin1')) }), OPTIONS);
    expect(inChunk.level).toBe('restricted');
    expect(inChunk.findings.map((finding) => `${finding.location} ${finding.detector}`)).toContain('messages[0].content[1].data (text among the image bytes) secret.aws-access-key-id');
    // A text file sent as an image: no image signature, so nothing says what the provider would read.
    const notAnImage = classifyRequest(imageRequest({ mediaType: 'image/png', data: Buffer.from('just some notes\n').toString('base64') }), OPTIONS);
    expect(notAnImage.level).toBe('restricted');
    expect(notAnImage.failedClosed).toBe(true);
    expect(notAnImage.findings.map((finding) => finding.location)).toContain('messages[0].content[1].data');
    // The media type is a string the client wrote, sent as it is.
    const inType = classifyRequest(imageRequest({ mediaType: 'image/png; key=AKIAIOSFODNN7EXAMPLE', data: png() }), OPTIONS);
    expect(inType.findings.map((finding) => `${finding.location} ${finding.detector}`)).toContain('messages[0].content[1].mediaType secret.aws-access-key-id');
    // A plain image stays confidential: its pixels are what the policy decides about.
    const plain = classifyRequest(imageRequest({ mediaType: 'image/png', data: png(Buffer.from('0000000d49484452', 'hex')) }), OPTIONS);
    expect(plain.level).toBe('confidential');
    expect(plain.failedClosed).toBe(false);
  });

  it('a secret in a tool name or a tool result is restricted', () => {
    const request: CanonicalRequest = {
      model: 'm',
      messages: [{ role: 'tool', toolCallId: 'c', content: [{ type: 'text', text: 'DB_PASS=pr0d-Pa55' }] }],
      stream: false,
    };
    const result = classifyRequest(request, OPTIONS);
    expect(result.level).toBe('restricted');
    expect(result.findings[0]).toMatchObject({ detector: 'credential.assignment', location: 'messages[0].content[0] (tool result)', span: { start: 0, end: 17 } });
  });

  it('the beta names Claude Code sends are public', () => {
    const anthropicBeta = ['claude-code-20250219', 'interleaved-thinking-2025-05-14', 'fine-grained-tool-streaming-2025-05-14', 'context-1m-2025-08-07', 'context-management-2025-06-27', 'oauth-2025-04-20'];
    const result = classifyRequest({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], anthropicBeta, stream: false }, OPTIONS);
    expect(result).toMatchObject({ level: 'public', findings: [] });
  });

  it('a plain request is public with no findings and reports its duration', () => {
    const result = classifyRequest({ model: 'm', system: 'Be brief.', messages: [{ role: 'user', content: [{ type: 'text', text: 'Explain recursion.' }] }], stream: false }, OPTIONS);
    expect(result).toMatchObject({ level: 'public', findings: [], failedClosed: false });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });
});

describe('adjacent text parts of a message are scanned joined', () => {
  const split = (texts: string[], role: 'user' | 'tool' = 'user'): CanonicalRequest => ({
    model: 'm',
    stream: false,
    messages: [
      role === 'user'
        ? { role: 'user', content: texts.map((text) => ({ type: 'text' as const, text })) }
        : { role: 'tool', toolCallId: 'call_1', content: texts.map((text) => ({ type: 'text' as const, text })) },
    ],
  });

  it('finds a key, a card and a connection string split between two parts, at the joined parts', () => {
    for (const [texts, detector] of [
      [['key: AKIAIOSF', 'ODNN7EXAMPLE'], 'secret.aws-access-key-id'],
      [['card 4111 1111', ' 1111 1111'], 'pii.card'],
      [['db postgres://admin:hun', 'ter2@db.example.com/prod'], 'secret.database-url'],
    ] as const) {
      const result = classifyRequest(split([...texts]), OPTIONS);
      expect(result.findings.map((finding) => `${finding.location} ${finding.detector}`), texts.join(' | ')).toContain(`messages[0].content[0..1] (joined) ${detector}`);
    }
    const tool = classifyRequest(split(['AKIAIOSF', 'ODNN7EXAMPLE'], 'tool'), OPTIONS);
    expect(tool.level).toBe('restricted');
    expect(tool.findings.map((finding) => finding.location)).toContain('messages[0].content[0..1] (joined) (tool result)');
  });

  it('joins a run on into the next message of the same role (the anthropic wire sends them as one message), not across roles or tool calls', () => {
    const request = (messages: CanonicalRequest['messages']): CanonicalRequest => ({ model: 'm', stream: false, messages });
    const user = (text: string): CanonicalRequest['messages'][number] => ({ role: 'user', content: [{ type: 'text', text }] });
    const consecutive = classifyRequest(request([user('deploy with AKIAIOSF'), user('ODNN7EXAMPLE now')]), OPTIONS);
    expect(consecutive.level).toBe('restricted');
    expect(consecutive.findings.map((finding) => `${finding.location} ${finding.detector}`)).toEqual(['messages[0].content[0]..messages[1].content[0] (joined) secret.aws-access-key-id']);
    const answered = request([user('AKIAIOSF'), { role: 'assistant', content: [{ type: 'text', text: 'ODNN7EXAMPLE' }] }]);
    expect(requestParts(answered).some((part) => part.location.includes('(joined)'))).toBe(false);
    const called = request([
      { role: 'assistant', content: [{ type: 'text', text: 'AKIAIOSF' }], toolCalls: [{ id: 'c', name: 'f', arguments: '{}' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'ODNN7EXAMPLE' }] },
    ]);
    expect(requestParts(called).some((part) => part.location.includes('(joined)'))).toBe(false);
  });

  it('reports what lies within one part at that part only, and joins only runs of text parts', () => {
    const result = classifyRequest(split(['mail bob@example.com', ' and more']), OPTIONS);
    expect(result.findings.map((finding) => `${finding.location} ${finding.detector}`)).toEqual(['messages[0].content[0] pii.email']);
    const request: CanonicalRequest = {
      model: 'm',
      stream: false,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }, { type: 'image', mediaType: 'image/png', data: 'iVBORw0KGgo=' }, { type: 'text', text: 'c' }] }],
    };
    expect(requestParts(request).map((part) => part.location)).toEqual([
      'messages[0].content[0]',
      'messages[0].content[1]',
      'messages[0].content[2]',
      'messages[0].content[2].mediaType',
      'messages[0].content[3]',
      'messages[0].content[0..1] (joined)',
    ]);
  });
});

describe('every string an adapter sends is scanned, whether or not the face that built the request checked it', () => {
  const KEY = 'AKIAIOSFODNN7EXAMPLE';
  const tool = { name: 'apply_patch', inputSchema: { type: 'object' } };
  const base: CanonicalRequest = { model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], stream: false };
  it.each([
    ['the tool a choice forces', { tools: [tool], toolChoice: { name: `apply_patch ${KEY}` } }, 'toolChoice.name'],
    ['the thinking setting (sent as given on the anthropic wire)', { thinking: { type: 'enabled', budget_tokens: 1024, display: KEY } }, 'thinking'],
    ["a custom tool's own description (OpenAI's own API is sent it)", { tools: [{ ...tool, freeform: true as const, freeformDeclaration: { description: KEY } }] }, 'tools[0].freeformDeclaration.description'],
    ["a custom tool's grammar", { tools: [{ ...tool, freeform: true as const, freeformDeclaration: { format: { type: 'grammar' as const, syntax: 'lark', definition: `start: "${KEY}"` } } }] }, 'tools[0].freeformDeclaration.format'],
  ] satisfies [string, Partial<CanonicalRequest>, string][])('%s', (_field, settings, location) => {
    const result = classifyRequest({ ...base, ...settings }, OPTIONS);
    expect(result.level).toBe('restricted');
    expect(result.findings.map((finding) => finding.location)).toContain(location);
  });
});
