// A minimal, fast OpenAI-compatible upstream for the gateway benchmark: GET /v1/models and
// POST /v1/chat/completions (JSON, or SSE when `stream: true`). Not the test fakes: no quirks,
// no recording, as little work per request as possible, so the numbers measure the gateway.
import { createServer } from 'node:http';

const MODEL = 'bench-model';
const models = JSON.stringify({ object: 'list', data: [{ id: MODEL, object: 'model', created: 0, owned_by: 'bench' }] });
const completion = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1700000000,
  model: MODEL,
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the bench upstream.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 },
});
const chunk = (delta, finish) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1700000000, model: MODEL, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const streamHead = chunk({ role: 'assistant', content: '' }, null);
const streamBody = [chunk({ content: 'Hello' }, null), chunk({ content: ' from the bench upstream.' }, null), chunk({}, 'stop')];
const usageChunk = `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1700000000, model: MODEL, choices: [], usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 } })}\n\n`;

/**
 * Starts the upstream on 127.0.0.1 (port 0 = any free port). `streamDelayMs` delays the stream's
 * first content chunk; with `streamTokens`, a stream sends that many one-word chunks, one every
 * `streamIntervalMs`, like an engine decoding (bench/gateway/long-streams.js).
 */
export async function startUpstream({ port = 0, streamDelayMs = 0, streamTokens = 0, streamIntervalMs = 20 } = {}) {
  const server = createServer({ noDelay: true, keepAliveTimeout: 30_000 }, (request, response) => {
    if (request.method === 'GET' && request.url === '/v1/models') {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(models) });
      response.end(models);
      return;
    }
    if (request.method !== 'POST' || request.url !== '/v1/chat/completions') {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end('{"error":{"message":"not found","type":"invalid_request_error"}}');
      return;
    }
    const chunks = [];
    request.on('data', (data) => chunks.push(data));
    request.on('end', () => {
      const streamed = Buffer.concat(chunks).includes('"stream":true');
      if (!streamed) {
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(completion) });
        response.end(completion);
        return;
      }
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      response.write(streamHead);
      if (streamTokens > 0) {
        let sent = 0;
        const timer = setInterval(() => {
          sent += 1;
          if (sent <= streamTokens) {
            response.write(chunk({ content: ` word${sent}` }, null));
            return;
          }
          clearInterval(timer);
          response.end(chunk({}, 'stop') + usageChunk + 'data: [DONE]\n\n');
        }, streamIntervalMs);
        response.once('close', () => clearInterval(timer));
        return;
      }
      const rest = () => response.end(streamBody.join('') + usageChunk + 'data: [DONE]\n\n');
      if (streamDelayMs > 0) setTimeout(rest, streamDelayMs);
      else rest();
    });
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  return { url: `http://127.0.0.1:${address.port}`, server, close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const upstream = await startUpstream({
    port: Number(process.env.PORT ?? 0),
    streamTokens: Number(process.env.STREAM_TOKENS ?? 0),
    streamIntervalMs: Number(process.env.STREAM_INTERVAL_MS ?? 20),
  });
  process.stdout.write(`${upstream.url}\n`);
}
