import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { inferenceExchanges } from '../helpers/scenario.js';
import { servedEngineScenario } from '../helpers/serve.js';

/**
 * A gateway request that meets the store held by another process past the busy timeout (a long
 * `evidence prune` batch, a backup tool, a `run` of another syndicate): nothing is sent, and the
 * same request a moment later goes through. It was a 500 `server_error` whose message was SQLite's
 * alone (`could not start the write transaction (SQLITE_BUSY): database is locked`), with no hint
 * and no Retry-After; `run` exits 6 saying another process holds the store. While it waited, the
 * gateway answered nothing at all: SQLite's busy wait slept in its one thread.
 */
describe('a gateway request while another process holds the store', () => {
  const setup = servedEngineScenario('local', { kind: 'ollama' });

  it('answers meanwhile (/healthz) while a request waits for the store, and the request goes through once it is free', { timeout: 90_000 }, async () => {
    const token = readFileSync(join(setup.scenario.home, 'gateway.token'), 'utf8').trim();
    const holder = new Database(join(setup.scenario.home, 'syndicate.db'));
    holder.exec('BEGIN IMMEDIATE');
    let chat: Promise<Response>;
    let health: Response;
    try {
      chat = fetch(`${setup.gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'What is the capital of France?' }] }),
      });
      // Time for the request to reach its write (its permit) and wait for the lock.
      await new Promise((resolve) => setTimeout(resolve, 300));
      // SQLite's busy wait slept in the gateway's thread: nothing was answered until it gave up,
      // and by then the request had failed; the lock is released only after this answer.
      health = await fetch(`${setup.gateway.url}/healthz`);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    expect(health.status).toBe(200);
    const answered = await chat;
    expect(answered.status, await answered.clone().text()).toBe(200);
    expect(((await answered.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content).toBeTruthy();
  });

  it('is a 503 to retry, with the hint and Retry-After, sending nothing; the retry goes through', { timeout: 90_000 }, async () => {
    const token = readFileSync(join(setup.scenario.home, 'gateway.token'), 'utf8').trim();
    const client = new OpenAI({ baseURL: `${setup.gateway.url}/v1`, apiKey: token, maxRetries: 0 });
    const ask = () => client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'What is the capital of France?' }] });
    await ask();
    const sentBefore = inferenceExchanges(setup.engine).length;

    const holder = new Database(join(setup.scenario.home, 'syndicate.db'));
    holder.exec('BEGIN IMMEDIATE');
    let response: Response;
    try {
      response = await fetch(`${setup.gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'What is the capital of France?' }] }),
      });
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    const body = (await response.json()) as { error: { message: string; type: string; code: string } };
    expect(body.error).toMatchObject({ type: 'service_unavailable', code: 'store_failure' });
    expect(body.error.message).toContain('(SQLITE_BUSY)');
    expect(body.error.message).toContain(`another process holds a lock on the store ${join(setup.scenario.home, 'syndicate.db')} (`);
    expect(inferenceExchanges(setup.engine).length).toBe(sentBefore);

    const again = await ask();
    expect(again.choices[0]?.message.content).toBeTruthy();
    // The chain, with the gateway still running (verify reads one snapshot).
    const verify = await setup.scenario.cli(['evidence', 'verify']);
    expect(verify.exitCode, verify.stderr).toBe(0);
  });
});
