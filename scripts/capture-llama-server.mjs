#!/usr/bin/env node
// Capture the exact bytes a real llama.cpp `llama-server` sends, for the fake engines in
// test/helpers/ and the fixtures in test/fixtures/llama.cpp-real/.
//
//   node scripts/capture-llama-server.mjs --server "$(scripts/build-llama-server.sh)" \
//     --model /tmp/tiny.gguf --out test/fixtures/llama.cpp-real
//
// The model is made with src/engines/test-model.ts (`writeTestModel`). Three servers are started
// in turn on 127.0.0.1 (free port, -t 1 -c 2048): with llama-server's default flags, with
// `--no-jinja`, and with `--jinja`. Each request is written to a raw TCP socket
// (`Connection: close`) so the response is saved byte for byte, status line, headers and
// chunked transfer framing included:
//   <name>.request.http   the exact request bytes
//   <name>.http           the exact response bytes
//   <name>.json           the de-chunked body, when it is JSON
//   <name>.sse.txt        the de-chunked body of an event stream (what an SSE parser sees)
//   <name>.chunks.txt     one line per SSE `data:` payload (Vercel AI SDK fixture style)
//   captures.json         manifest: server flags, request, status, timings of every chunk
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values: argumentsGiven } = parseArgs({
  options: {
    server: { type: 'string' },
    model: { type: 'string' },
    out: { type: 'string', default: 'test/fixtures/llama.cpp-real' },
    'model-alias': { type: 'string' },
  },
});
if (!argumentsGiven.server || !argumentsGiven.model) {
  console.error('usage: capture-llama-server.mjs --server PATH --model PATH [--out DIR]');
  process.exit(2);
}
const serverPath = resolve(argumentsGiven.server);
const modelPath = resolve(argumentsGiven.model);
const outputDirectory = resolve(argumentsGiven.out);
await mkdir(outputDirectory, { recursive: true });

const manifest = { capturedAt: new Date().toISOString(), server: basename(serverPath), model: basename(modelPath), servers: [], captures: [] };

const userMessages = [{ role: 'user', content: 'Say hello in one short sentence.' }];
const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city.',
    parameters: {
      type: 'object',
      // An enum keeps the grammar-forced arguments short enough to finish with the tiny model.
      properties: { city: { type: 'string', enum: ['Oslo', 'Paris', 'Lima'], description: 'City name' } },
      required: ['city'],
    },
  },
};

async function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolvePort(port));
    });
  });
}

/** One HTTP/1.1 exchange over a raw socket; resolves with every received byte and chunk timings. */
function exchange(port, method, path, body, extraHeaders = {}) {
  const bodyBytes = body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  const headerLines = [`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'User-Agent: syndicate-capture/1', 'Accept: */*'];
  if (body !== undefined) headerLines.push('Content-Type: application/json', `Content-Length: ${bodyBytes.byteLength}`);
  for (const [name, value] of Object.entries(extraHeaders)) headerLines.push(`${name}: ${value}`);
  headerLines.push('Connection: close', '', '');
  const requestBytes = Buffer.concat([Buffer.from(headerLines.join('\r\n'), 'latin1'), bodyBytes]);
  return new Promise((resolveExchange, reject) => {
    const started = process.hrtime.bigint();
    const pieces = [];
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(requestBytes));
    socket.setTimeout(120_000, () => socket.destroy(new Error(`timeout on ${method} ${path}`)));
    socket.on('data', (data) => pieces.push({ atMs: Number(process.hrtime.bigint() - started) / 1e6, bytes: data.byteLength, data }));
    socket.on('error', reject);
    socket.on('close', () => {
      resolveExchange({
        requestBytes,
        responseBytes: Buffer.concat(pieces.map((piece) => piece.data)),
        socketReads: pieces.map(({ atMs, bytes }) => ({ atMs: Math.round(atMs * 1000) / 1000, bytes })),
        totalMs: Number(process.hrtime.bigint() - started) / 1e6,
      });
    });
  });
}

/** Splits a raw HTTP/1.1 response into status, headers and the de-chunked body (with chunk sizes). */
function parseResponse(raw) {
  const headerEnd = raw.indexOf('\r\n\r\n');
  if (headerEnd < 0) return { status: 0, statusLine: '', headers: [], body: raw, transferChunks: [] };
  const headerText = raw.subarray(0, headerEnd).toString('latin1');
  const [statusLine, ...headerRows] = headerText.split('\r\n');
  const headers = headerRows.map((row) => {
    const colon = row.indexOf(':');
    return [row.slice(0, colon), row.slice(colon + 1).trim()];
  });
  const header = (name) => headers.find(([key]) => key.toLowerCase() === name)?.[1];
  let rest = raw.subarray(headerEnd + 4);
  const transferChunks = [];
  let body = rest;
  if ((header('transfer-encoding') ?? '').toLowerCase().includes('chunked')) {
    const parts = [];
    for (;;) {
      const lineEnd = rest.indexOf('\r\n');
      if (lineEnd < 0) break;
      const size = Number.parseInt(rest.subarray(0, lineEnd).toString('latin1').split(';')[0], 16);
      if (!Number.isFinite(size)) break;
      transferChunks.push(size);
      if (size === 0) break;
      parts.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
      rest = rest.subarray(lineEnd + 2 + size + 2);
    }
    body = Buffer.concat(parts);
  }
  return { status: Number(statusLine.split(' ')[1]), statusLine, headers, body, transferChunks };
}

async function capture(serverLabel, port, name, method, path, requestBody, note) {
  const body = requestBody === undefined ? undefined : typeof requestBody === 'string' ? requestBody : JSON.stringify(requestBody);
  const result = await exchange(port, method, path, body);
  const parsed = parseResponse(result.responseBytes);
  await writeFile(join(outputDirectory, `${name}.request.http`), result.requestBytes);
  await writeFile(join(outputDirectory, `${name}.http`), result.responseBytes);
  const contentType = parsed.headers.find(([key]) => key.toLowerCase() === 'content-type')?.[1] ?? '';
  const record = {
    name,
    server: serverLabel,
    note,
    request: { method, path, body: body === undefined ? null : safeJson(body) ?? body },
    status: parsed.status,
    statusLine: parsed.statusLine,
    headers: parsed.headers,
    responseBytes: result.responseBytes.byteLength,
    bodyBytes: parsed.body.byteLength,
    transferChunkSizes: parsed.transferChunks,
    socketReads: result.socketReads,
    totalMs: Math.round(result.totalMs * 1000) / 1000,
    files: [`${name}.request.http`, `${name}.http`],
  };
  const bodyText = parsed.body.toString('utf8');
  if (contentType.includes('text/event-stream')) {
    await writeFile(join(outputDirectory, `${name}.sse.txt`), parsed.body);
    const payloads = bodyText
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).trimStart());
    await writeFile(join(outputDirectory, `${name}.chunks.txt`), payloads.join('\n') + '\n');
    record.files.push(`${name}.sse.txt`, `${name}.chunks.txt`);
    record.sseDataCount = payloads.length;
  } else if (safeJson(bodyText) !== undefined) {
    await writeFile(join(outputDirectory, `${name}.json`), parsed.body);
    record.files.push(`${name}.json`);
    record.parsedBody = safeJson(bodyText);
  } else {
    record.bodyText = bodyText;
  }
  manifest.captures.push(record);
  console.error(`  ${name}: ${parsed.statusLine} (${result.responseBytes.byteLength} bytes, ${record.totalMs} ms)`);
  return { ...record, bodyText, parsedBody: safeJson(bodyText) };
}

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function withServer(label, extraFlags, work) {
  const port = await freePort();
  // Run from the model's directory with a relative -m, as an operator would: the server echoes it as `model`.
  const flags = ['-m', basename(modelPath), '--host', '127.0.0.1', '--port', String(port), '-t', '1', '-c', '2048', ...extraFlags];
  const logChunks = [];
  const child = spawn(serverPath, flags, { cwd: dirname(modelPath), stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (data) => logChunks.push(data));
  child.stderr.on('data', (data) => logChunks.push(data));
  const started = Date.now();
  const startupResponses = [];
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`llama-server exited with ${child.exitCode}:\n${Buffer.concat(logChunks)}`);
      if (Date.now() - started > 60_000) throw new Error('llama-server did not become healthy in 60 s');
      try {
        const result = await exchange(port, 'GET', '/health');
        const parsed = parseResponse(result.responseBytes);
        startupResponses.push({ atMs: Date.now() - started, status: parsed.status, body: parsed.body.toString('utf8') });
        if (parsed.status === 200) break;
        if (startupResponses.length === 1 || startupResponses.at(-2)?.status !== parsed.status) {
          await writeFile(join(outputDirectory, `${label}.health-loading.http`), result.responseBytes);
        }
      } catch {
        // not listening yet
      }
      await new Promise((resolveWait) => setTimeout(resolveWait, 20));
    }
    manifest.servers.push({ label, flags, readyAfterMs: Date.now() - started, startupHealth: dedupe(startupResponses) });
    console.error(`${label}: llama-server ${flags.join(' ')}`);
    await work(port);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolveExit) => (child.exitCode !== null ? resolveExit() : child.once('exit', resolveExit)));
    await writeFile(join(outputDirectory, `${label}.server.log`), redactPaths(Buffer.concat(logChunks).toString('utf8')));
  }
}

function dedupe(responses) {
  return responses.filter((response, index) => index === 0 || responses[index - 1].status !== response.status || responses[index - 1].body !== response.body);
}

function redactPaths(text) {
  return text.split(modelPath).join('tiny.gguf');
}

const chat = (extra) => ({ model: 'syndicate-tiny-test', messages: userMessages, max_tokens: 16, ...extra });

await withServer('default', [], async (port) => {
  await capture('default', port, 'health', 'GET', '/health');
  await capture('default', port, 'props', 'GET', '/props');
  await capture('default', port, 'v1-models', 'GET', '/v1/models');
  await capture('default', port, 'models', 'GET', '/models');
  await capture('default', port, 'slots', 'GET', '/slots');
  await capture('default', port, 'metrics-disabled', 'GET', '/metrics');
  await capture('default', port, 'chat-nonstream', 'POST', '/v1/chat/completions', chat({}), 'max_tokens 16, default sampling');
  await capture('default', port, 'chat-nonstream-no-max-tokens', 'POST', '/v1/chat/completions', { model: 'syndicate-tiny-test', messages: userMessages, temperature: 0 }, 'no max_tokens: n_predict -1');
  await capture('default', port, 'chat-stream', 'POST', '/v1/chat/completions', chat({ stream: true }), 'stream without stream_options');
  await capture('default', port, 'chat-stream-include-usage', 'POST', '/v1/chat/completions', chat({ stream: true, stream_options: { include_usage: true } }));
  await capture('default', port, 'chat-json-object', 'POST', '/v1/chat/completions', chat({ max_tokens: 48, response_format: { type: 'json_object' } }));
  await capture('default', port, 'chat-json-schema', 'POST', '/v1/chat/completions', chat({
    max_tokens: 48,
    response_format: { type: 'json_schema', json_schema: { name: 'greeting', schema: { type: 'object', properties: { greeting: { type: 'string', maxLength: 12 } }, required: ['greeting'] } } },
  }));
  await capture('default', port, 'chat-seed42-t0-a', 'POST', '/v1/chat/completions', chat({ seed: 42, temperature: 0 }));
  await capture('default', port, 'chat-seed42-t0-b', 'POST', '/v1/chat/completions', chat({ seed: 42, temperature: 0 }));
  await capture('default', port, 'chat-seed42-t08-a', 'POST', '/v1/chat/completions', chat({ seed: 42, temperature: 0.8 }));
  await capture('default', port, 'chat-seed42-t08-b', 'POST', '/v1/chat/completions', chat({ seed: 42, temperature: 0.8 }));
  await capture('default', port, 'chat-seed43-t08', 'POST', '/v1/chat/completions', chat({ seed: 43, temperature: 0.8 }));
  await capture('default', port, 'chat-noseed-t08-a', 'POST', '/v1/chat/completions', chat({ temperature: 0.8 }));
  await capture('default', port, 'chat-noseed-t08-b', 'POST', '/v1/chat/completions', chat({ temperature: 0.8 }));

  // A stop string is only observable if the model would emit it: take one from a seeded sample
  // (greedy decoding of this model repeats one token).
  const reference = await capture('default', port, 'chat-stop-reference', 'POST', '/v1/chat/completions', chat({ seed: 42, temperature: 0.8, max_tokens: 16 }));
  const referenceText = reference.parsedBody?.choices?.[0]?.message?.content ?? '';
  const stop = pickStop(referenceText);
  manifest.stopString = { fromSeededOutput: referenceText, stop };
  await capture('default', port, 'chat-stop', 'POST', '/v1/chat/completions', chat({ seed: 42, temperature: 0.8, max_tokens: 16, stop: [stop] }), `stop taken from the seed-42 output: ${JSON.stringify(stop)}`);
  await capture('default', port, 'chat-stop-stream', 'POST', '/v1/chat/completions', chat({ seed: 42, temperature: 0.8, max_tokens: 16, stop: [stop], stream: true, stream_options: { include_usage: true } }));
  await capture('default', port, 'chat-max-tokens-3', 'POST', '/v1/chat/completions', chat({ max_tokens: 3 }));
  await capture('default', port, 'chat-max-tokens-3-stream', 'POST', '/v1/chat/completions', chat({ max_tokens: 3, stream: true }));
  await capture('default', port, 'chat-max-completion-tokens-3', 'POST', '/v1/chat/completions', { model: 'syndicate-tiny-test', messages: userMessages, max_completion_tokens: 3 });
  await capture('default', port, 'chat-tools-default', 'POST', '/v1/chat/completions', chat({ tools: [weatherTool] }), 'tools with default flags');
  await capture('default', port, 'chat-system-message', 'POST', '/v1/chat/completions', { model: 'syndicate-tiny-test', max_tokens: 8, messages: [{ role: 'system', content: 'Be brief.' }, ...userMessages] });
  await capture('default', port, 'chat-unknown-model', 'POST', '/v1/chat/completions', { ...chat({ max_tokens: 4 }), model: 'no-such-model' }, 'model name is not checked?');
  await capture('default', port, 'error-malformed-json', 'POST', '/v1/chat/completions', '{"model": "x", "messages": [', 'truncated JSON body');
  await capture('default', port, 'error-missing-messages', 'POST', '/v1/chat/completions', { model: 'syndicate-tiny-test' });
  await capture('default', port, 'error-messages-not-array', 'POST', '/v1/chat/completions', { model: 'syndicate-tiny-test', messages: 'hello' });
  await capture('default', port, 'error-bad-role', 'POST', '/v1/chat/completions', { model: 'syndicate-tiny-test', messages: [{ role: 'wizard', content: 'hi' }], max_tokens: 4 });
  await capture('default', port, 'error-image-unsupported', 'POST', '/v1/chat/completions', {
    model: 'syndicate-tiny-test', max_tokens: 4,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] }],
  });
  await capture('default', port, 'error-unknown-path', 'GET', '/v1/nope');
  await capture('default', port, 'error-anthropic-messages', 'POST', '/v1/messages', { model: 'syndicate-tiny-test', max_tokens: 8, messages: userMessages }, 'llama-server also speaks Anthropic Messages?');
});

await withServer('no-jinja', ['--no-jinja'], async (port) => {
  await capture('no-jinja', port, 'no-jinja-props', 'GET', '/props');
  await capture('no-jinja', port, 'no-jinja-chat-nonstream', 'POST', '/v1/chat/completions', chat({ temperature: 0 }));
  await capture('no-jinja', port, 'no-jinja-chat-tools', 'POST', '/v1/chat/completions', chat({ tools: [weatherTool] }), 'tools without jinja: expected error');
  await capture('no-jinja', port, 'no-jinja-chat-tools-stream', 'POST', '/v1/chat/completions', chat({ tools: [weatherTool], stream: true }));
});

await withServer('jinja', ['--jinja'], async (port) => {
  await capture('jinja', port, 'jinja-props', 'GET', '/props');
  for (const seed of [1, 2, 3, 4]) {
    await capture('jinja', port, `jinja-chat-tools-auto-seed${seed}`, 'POST', '/v1/chat/completions', chat({ seed, tools: [weatherTool], max_tokens: 64 }));
  }
  await capture('jinja', port, 'jinja-chat-tools-auto-stream', 'POST', '/v1/chat/completions', chat({ seed: 3, tools: [weatherTool], max_tokens: 64, stream: true, stream_options: { include_usage: true } }));
  await capture('jinja', port, 'jinja-chat-tools-required', 'POST', '/v1/chat/completions', chat({ seed: 1, tools: [weatherTool], tool_choice: 'required', max_tokens: 96 }), 'grammar forces a tool call');
  await capture('jinja', port, 'jinja-chat-tools-required-stream', 'POST', '/v1/chat/completions', chat({ seed: 1, tools: [weatherTool], tool_choice: 'required', max_tokens: 96, stream: true, stream_options: { include_usage: true } }));
  await capture('jinja', port, 'jinja-chat-tools-named', 'POST', '/v1/chat/completions', chat({ tools: [weatherTool], tool_choice: { type: 'function', function: { name: 'get_weather' } }, max_tokens: 96, seed: 1 }));
  await capture('jinja', port, 'jinja-chat-tool-result-turn', 'POST', '/v1/chat/completions', {
    model: 'syndicate-tiny-test', max_tokens: 8, temperature: 0, tools: [weatherTool],
    messages: [
      ...userMessages,
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"celsius": 4}' },
    ],
  }, 'history with an assistant tool call and a tool result');
});

await writeFile(join(outputDirectory, 'captures.json'), JSON.stringify(manifest, null, 2) + '\n');
console.error(`wrote ${manifest.captures.length} captures to ${outputDirectory}`);

function pickStop(text) {
  const trimmed = text.trim();
  if (trimmed.length >= 6) return trimmed.slice(3, 5);
  if (trimmed.length >= 1) return trimmed.slice(0, 1);
  return '\n';
}
