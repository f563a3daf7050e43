/** The store holds verbatim prompts: opening it makes it 0600 and tells what it was. */
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../../src/store/store.js';

let directory: string;
let path: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'syndicate-store-mode-'));
  path = join(directory, 'syndicate.db');
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

const modeOf = (file: string): number => statSync(file).mode & 0o777;

describe('openStore and the store file mode', () => {
  it('creates the store 0600 with nothing to report', () => {
    const store = openStore(path);
    store.close();
    expect(modeOf(path)).toBe(0o600);
    expect(store.modeChangedFrom).toBeUndefined();
  });

  it('sets an existing store with another mode to 0600 and reports the mode it had, once', () => {
    openStore(path).close();
    for (const mode of [0o644, 0o666, 0o400]) {
      chmodSync(path, mode);
      const store = openStore(path, { mustExist: true });
      store.close();
      expect(store.modeChangedFrom, mode.toString(8)).toBe(mode);
      expect(modeOf(path)).toBe(0o600);
      const again = openStore(path, { mustExist: true });
      again.close();
      expect(again.modeChangedFrom).toBeUndefined();
    }
  });
});
