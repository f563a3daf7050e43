/**
 * `loadPermitKey` reads the key file's state once: the stat that finds it there is the one whose
 * owner and mode the access check judges (it stat'ed the file again for the check, which could
 * read a later state than the one it found).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadPermitKey } from '../../../src/permits/index.js';

const stats = vi.hoisted(() => ({ paths: [] as string[] }));

vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  const statSync = ((path: fs.PathLike, ...rest: unknown[]) => {
    stats.paths.push(String(path));
    return (actual.statSync as (...args: unknown[]) => unknown)(path, ...rest);
  }) as typeof actual.statSync;
  return { ...actual, statSync, default: { ...actual, statSync } };
});

let directory: string;

beforeAll(() => {
  directory = fs.mkdtempSync(join(tmpdir(), 'syndicate-key-stat-'));
  fs.chmodSync(directory, 0o700);
});

afterAll(() => fs.rmSync(directory, { recursive: true, force: true }));

beforeEach(() => {
  stats.paths.length = 0;
});

function writeKey(name: string, mode: number): string {
  const path = join(directory, name);
  fs.writeFileSync(path, `${randomBytes(32).toString('base64')}\n`);
  fs.chmodSync(path, mode);
  return path;
}

const statsOf = (path: string): number => stats.paths.filter((stated) => stated === path).length;

describe('loading the permit key', () => {
  it('stats the key file once, whether it is used, refused for its mode, or its access is checked elsewhere (doctor)', () => {
    const kept = writeKey('kept.key', 0o600);
    loadPermitKey(kept);
    expect(statsOf(kept)).toBe(1);

    const readable = writeKey('readable.key', 0o644);
    expect(() => loadPermitKey(readable)).toThrow(/has mode 0644/);
    expect(statsOf(readable)).toBe(1);

    const checked = writeKey('checked.key', 0o644);
    loadPermitKey(checked, { accessChecked: true });
    expect(statsOf(checked)).toBe(1);
  });
});
