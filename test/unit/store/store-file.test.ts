import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempHome } from '../../helpers/cli.js';
import { StoreFileWatch } from '../../../src/store/store-file.js';

describe('StoreFileWatch', () => {
  let cleanup: () => void = () => {};
  afterEach(() => cleanup());

  const watched = () => {
    const temporary = makeTempHome('store-file-');
    cleanup = temporary.cleanup;
    const path = join(temporary.home, 'syndicate.db');
    writeFileSync(path, 'store');
    let now = 0;
    const watch = new StoreFileWatch(path, { now: () => now });
    return { path, watch, later: () => (now += 1000) };
  };

  it('says nothing while the file it opened is there, written to or not', () => {
    const { path, watch, later } = watched();
    writeFileSync(path, 'more evidence');
    later();
    expect(watch.current()).toBeUndefined();
    expect(() => watch.check()).not.toThrow();
  });

  it('refuses once the file was removed, and again accepts it put back', () => {
    const { path, watch, later } = watched();
    renameSync(path, `${path}.moved`);
    later();
    expect(() => watch.check()).toThrow(`the store ${path} was removed while this process had it open`);
    renameSync(`${path}.moved`, path);
    later();
    expect(watch.current()).toBeUndefined();
  });

  it('refuses a file put in its place (a restore copied over it), and looks at most once per interval', () => {
    const { path, watch, later } = watched();
    // The old file stays (as a process holding it open keeps it), so the new one cannot take its inode.
    renameSync(path, `${path}.old`);
    writeFileSync(path, 'another store');
    expect(watch.current()).toBeUndefined(); // looked at when constructed: not again yet
    later();
    expect(watch.current()).toBe('was replaced by another file');
  });

  it('an in-memory store has no file to follow', () => {
    expect(new StoreFileWatch(':memory:').current()).toBeUndefined();
  });
});
