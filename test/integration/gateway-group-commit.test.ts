/**
 * Group commit in the gateway: concurrent requests share transactions, yet each request's
 * permit and pending row are committed — visible to another connection — before its upstream
 * sees a byte, and the chain verifies afterwards.
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listEvidence, verifyChain } from '../../src/evidence/index.js';
import { createGateway, listenGateway, type RunningGateway } from '../../src/gateway/index.js';
import { invoke } from '../../src/invoke/pipeline.js';
import type { PipelineContext } from '../../src/invoke/types.js';
import { PermitKey } from '../../src/permits/index.js';
import { HealthMonitor } from '../../src/router/health.js';
import { GroupCommitter } from '../../src/store/group-commit.js';
import { openStore, type Store } from '../../src/store/store.js';
import { registerTestProvider, testPolicy, TEST_TOKEN } from '../unit/gateway/harness.js';

interface Witness {
  body: Buffer;
  /** Pending invocation rows whose stored request bytes equal the body received. */
  matchingPendingRows: number;
  /** Consumed permits named by those rows. */
  consumedPermits: number;
}

/**
 * Commits 25 ms late: anything that did not wait for its commit would reach the upstream before
 * its row is in the store, and the witness would see nothing.
 */
class SlowCommitter extends GroupCommitter {
  private readonly delayed = new Set<Promise<unknown>>();

  override run<T>(work: () => T): Promise<T> {
    const queued = new Promise<void>((resolve) => setTimeout(resolve, 25)).then(() => super.run(work));
    const settled = queued.then(
      () => undefined,
      () => undefined,
    );
    this.delayed.add(settled);
    void settled.then(() => this.delayed.delete(settled));
    return queued;
  }

  override async idle(): Promise<void> {
    while (this.delayed.size > 0) await Promise.all([...this.delayed]);
    await super.idle();
  }
}

const CONCURRENT = 12;
let directory: string;
let storePath: string;
let store: Store;
let upstream: Server;
let running: RunningGateway;
let pipeline: PipelineContext;
const witnessed: Witness[] = [];

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'syndicate-gateway-group-commit-'));
  storePath = join(directory, 'store.db');
  store = openStore(storePath);
  // An OpenAI-wire engine that reads the store through its own connection when a chat request
  // arrives, then answers a moment later (so the requests overlap).
  upstream = createServer((request, response) => {
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.on('end', () => {
      if (request.method === 'GET') {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ id: 'llama3', object: 'model', created: 1, owned_by: 'test' }] }));
        return;
      }
      const body = Buffer.concat(parts);
      const reader = new Database(storePath, { readonly: true });
      try {
        const rows = reader
          .prepare(
            `SELECT e.permit_id FROM evidence e JOIN evidence_chunks c ON c.evidence_id = e.id AND c.seq = 0
              WHERE e.kind = 'invocation' AND e.state = 'pending' AND e.chain_seq IS NULL AND c.bytes = ?`,
          )
          .all(body) as { permit_id: string }[];
        const consumed = rows.filter((row) => reader.prepare('SELECT 1 FROM permits WHERE permit_id = ? AND consumed_at IS NOT NULL').get(row.permit_id) !== undefined);
        witnessed.push({ body, matchingPendingRows: rows.length, consumedPermits: consumed.length });
      } finally {
        reader.close();
      }
      setTimeout(() => {
        const answer = {
          id: 'chatcmpl-group',
          object: 'chat.completion',
          created: 1,
          model: 'llama3',
          choices: [{ index: 0, message: { role: 'assistant', content: 'Paris.' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 },
        };
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      }, 20);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const { port } = upstream.address() as AddressInfo;
  await registerTestProvider(store, { id: 'engine', class: 'local', wire: 'openai', baseUrl: `http://127.0.0.1:${port}/v1`, models: [{ id: 'llama3' }] });
  pipeline = { store, policy: testPolicy(), permitKey: PermitKey.fromBytes(randomBytes(32)), health: new HealthMonitor(), env: {}, commits: new SlowCommitter(store) };
  running = await listenGateway(createGateway({ pipeline, invoke, token: TEST_TOKEN }), { host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await running?.close();
  await new Promise<void>((resolve) => upstream?.close(() => resolve()));
  store?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('gateway group commit', () => {
  it('commits each request’s permit and pending row before its upstream call, sharing transactions', async () => {
    const ask = (index: number) =>
      fetch(`${running.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: `What is the capital of France? (question ${index})` }] }),
      });
    const responses = await Promise.all(Array.from({ length: CONCURRENT }, (_, index) => ask(index)));
    expect(responses.map((response) => response.status)).toEqual(Array.from({ length: CONCURRENT }, () => 200));
    const evidenceIds = responses.map((response) => response.headers.get('x-syndicate-evidence'));

    // Every upstream call found its own pending row, with the exact bytes it received and a consumed permit.
    expect(witnessed).toHaveLength(CONCURRENT);
    for (const witness of witnessed) expect(witness).toMatchObject({ matchingPendingRows: 1, consumedPermits: 1 });
    expect(new Set(witnessed.map((witness) => witness.body.toString('utf8'))).size).toBe(CONCURRENT);

    // The finishes follow the answers; once the committer is idle every envelope is completed and chained.
    await pipeline.commits?.idle();
    // Two units per request (the permit with the pending row, then the finish), and concurrent
    // requests shared transactions: fewer commits than units.
    const stats = pipeline.commits?.stats;
    expect(stats?.units).toBe(CONCURRENT * 2);
    expect(stats?.largestBatch).toBeGreaterThan(1);
    expect(stats?.batches).toBeLessThan(CONCURRENT * 2);
    const envelopes = listEvidence(store, { limit: 100 });
    expect(envelopes.map((envelope) => envelope.id).sort()).toEqual([...evidenceIds].sort());
    for (const envelope of envelopes) expect(envelope).toMatchObject({ state: 'completed', caller: 'gateway', verbatimCapture: 'full' });
    expect(verifyChain(store)).toMatchObject({ ok: true, rows: CONCURRENT });
  });
});
