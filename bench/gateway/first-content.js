// Shared by run.js and ab.js: the streaming first-content measurement.
import { Agent, request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';

/** Sequential streamed requests: milliseconds until the first content chunk (`"Hello"`) arrives. */
export async function firstContentTimes(url, headers, requestBody, count) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const times = [];
  for (let index = 0; index < count; index += 1) {
    times.push(
      await new Promise((resolve, reject) => {
        const started = performance.now();
        let firstContent;
        let seen = '';
        const outgoing = httpRequest(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers } }, (incoming) => {
          if (incoming.statusCode !== 200) {
            let text = '';
            incoming.on('data', (data) => (text += data));
            incoming.on('end', () => reject(new Error(`HTTP ${incoming.statusCode}: ${text}`)));
            return;
          }
          incoming.on('data', (data) => {
            if (firstContent !== undefined) return;
            seen += data;
            if (seen.includes('Hello')) firstContent = performance.now() - started;
          });
          incoming.on('end', () => resolve(firstContent ?? Number.NaN));
        });
        outgoing.on('error', reject);
        outgoing.end(requestBody);
      }),
    );
  }
  agent.destroy();
  return times.sort((a, b) => a - b);
}
