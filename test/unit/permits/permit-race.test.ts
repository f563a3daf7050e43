import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issuePermit, PermitKey } from '../../../src/permits/index.js';
import { openStore } from '../../../src/store/store.js';
import { registerFixtureProvider } from './provider-fixture.js';

const DIST = resolve(import.meta.dirname, '..', '..', '..', 'dist');

/** A child that opens the store, waits for a shared start instant, then verifies and consumes the token. */
const RACER = `
const [storePath, keyPath, token, startAt, version] = process.argv.slice(2);
const { openStore } = await import(${JSON.stringify(pathToFileURL(join(DIST, 'store', 'store.js')).href)});
const { loadPermitKey, verifyPermit } = await import(${JSON.stringify(pathToFileURL(join(DIST, 'permits', 'index.js')).href)});
const store = openStore(storePath);
const key = loadPermitKey(keyPath);
while (Date.now() < Number(startAt)) { /* spin so both processes start within microseconds */ }
let result;
try {
  const permit = verifyPermit(store, key, token, {
    providerId: 'local-engine', providerVersion: Number(version), providerClass: 'local', model: 'llama3.2:3b', sensitivity: 'public',
  });
  result = { ok: true, id: permit.id, pid: process.pid };
} catch (error) {
  result = { ok: false, code: error.code, message: error.message };
}
store.close();
process.stdout.write(JSON.stringify(result));
`;

interface RaceResult {
  ok: boolean;
  code?: string;
  id?: string;
  pid?: number;
}

function race(scriptPath: string, args: string[]): Promise<RaceResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [scriptPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`racer exited ${code}: ${stderr}`));
      else resolvePromise(JSON.parse(stdout) as RaceResult);
    });
  });
}

describe('permit consumption across processes', () => {
  let directory: string;
  beforeAll(() => {
    if (!existsSync(join(DIST, 'permits', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` before this test');
    directory = mkdtempSync(join(tmpdir(), 'syndicate-race-'));
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('two processes verifying the same token at the same instant: exactly one succeeds, the other is refused as replayed', async () => {
    const storePath = join(directory, 'syndicate.db');
    const keyPath = join(directory, 'permit.key');
    const secret = randomBytes(32);
    writeFileSync(keyPath, `${secret.toString('base64')}\n`, { mode: 0o600 });
    const scriptPath = join(directory, 'racer.mjs');
    writeFileSync(scriptPath, RACER);
    const store = openStore(storePath);
    const version = await registerFixtureProvider(store);
    const key = PermitKey.fromBytes(secret);
    const tokens = [0, 1, 2].map(
      () => issuePermit(store, key, { providerId: 'local-engine', providerVersion: version, model: 'llama3.2:3b', maxSensitivity: 'public' }).token,
    );
    store.close();

    for (const token of tokens) {
      const startAt = String(Date.now() + 1500);
      const results = await Promise.all([0, 1].map(() => race(scriptPath, [storePath, keyPath, token, startAt, String(version)])));
      const winners = results.filter((result) => result.ok);
      const losers = results.filter((result) => !result.ok);
      expect(winners).toHaveLength(1);
      expect(losers).toHaveLength(1);
      expect(losers[0]?.code).toBe('permit_replayed');
      const check = openStore(storePath);
      const rows = check.db.prepare('SELECT permit_id, consumed_by_pid FROM permits WHERE permit_id = ? AND consumed_at IS NOT NULL').all(winners[0]?.id);
      check.close();
      expect(rows).toEqual([{ permit_id: winners[0]?.id, consumed_by_pid: winners[0]?.pid }]);
    }
  });
});
