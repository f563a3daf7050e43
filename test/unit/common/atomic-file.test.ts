import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtomicFile, writeFileAtomically, writeFileIfAbsent } from '../../../src/common/atomic-file.js';

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'syndicate-atomic-'));
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

describe('AtomicFile', () => {
  it('replaces an existing file only on commit, with exactly the mode asked for (an existing 0644 file becomes 0600)', () => {
    const path = join(directory, 'export.jsonl');
    writeFileSync(path, 'previous\n');
    chmodSync(path, 0o644);
    const file = AtomicFile.create(path, 0o600);
    file.write('line 1\n');
    file.write(Buffer.from('line 2 ✓\n'));
    expect(readFileSync(path, 'utf8')).toBe('previous\n');
    expect(statSync(file.temporaryPath).mode & 0o777).toBe(0o600);
    file.commit();
    expect(readFileSync(path, 'utf8')).toBe('line 1\nline 2 ✓\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(directory)).toEqual(['export.jsonl']);
    file.discard();
    expect(readFileSync(path, 'utf8')).toBe('line 1\nline 2 ✓\n');
  });

  it('discard leaves the previous file as it was and no temporary file behind', () => {
    const path = join(directory, 'keep.jsonl');
    writeFileSync(path, 'previous\n');
    const file = AtomicFile.create(path, 0o600);
    file.write('half an exp');
    file.discard();
    file.discard();
    expect(readFileSync(path, 'utf8')).toBe('previous\n');
    expect(readdirSync(directory)).toEqual(['keep.jsonl']);
    expect(() => file.write('more')).toThrow(/already committed or discarded/);
  });

  it('replaces a symlink at the path, never writing through it to its target', () => {
    const target = join(directory, 'target.txt');
    const link = join(directory, 'link.jsonl');
    writeFileSync(target, 'target\n');
    symlinkSync(target, link);
    writeFileAtomically(link, 'export\n', 0o600);
    expect(readFileSync(target, 'utf8')).toBe('target\n');
    expect(readFileSync(link, 'utf8')).toBe('export\n');
    expect(statSync(link).mode & 0o777).toBe(0o600);
  });

  it('commitIfAbsent links the file into place only when nothing is there: an existing file, or a symlink, is kept and never written through', () => {
    const path = join(directory, 'permit.key');
    expect(writeFileIfAbsent(path, 'first\n', 0o600)).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(path).nlink).toBe(1);
    const second = AtomicFile.create(path, 0o600);
    second.write('second\n');
    expect(second.commitIfAbsent()).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('first\n');
    const target = join(directory, 'target.txt');
    const link = join(directory, 'gateway.token');
    writeFileSync(target, 'target\n');
    symlinkSync(target, link);
    expect(writeFileIfAbsent(link, 'token\n', 0o600)).toBe(false);
    expect(readFileSync(target, 'utf8')).toBe('target\n');
    // No temporary file left, whether it was linked or not.
    expect(readdirSync(directory).sort()).toEqual(['gateway.token', 'permit.key', 'target.txt']);
  });

  it('throws the file-system error when the directory does not exist', () => {
    expect(() => AtomicFile.create(join(directory, 'missing', 'file'), 0o600)).toThrow(/ENOENT/);
  });
});
