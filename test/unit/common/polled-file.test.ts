import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PolledFile } from '../../../src/common/polled-file.js';

let directory: string | undefined;

afterEach(() => {
  if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
  directory = undefined;
});

describe.skipIf(process.platform === 'win32')('PolledFile', () => {
  it("reports a chmod of the file, or of its directory (who can replace it), but not a file created beside it", () => {
    directory = mkdtempSync(join(tmpdir(), 'syndicate-polled-'));
    chmodSync(directory, 0o700);
    const path = join(directory, 'policy.yaml');
    writeFileSync(path, 'kind: Policy\n', { mode: 0o600 });
    const file = new PolledFile(path);
    expect(file.poll(true)).toBeUndefined();

    writeFileSync(join(directory, 'beside'), 'x');
    expect(file.poll(true)).toBeUndefined();

    chmodSync(directory, 0o777);
    expect(file.poll(true)).toEqual({});
    expect(file.poll(true)).toBeUndefined();
    chmodSync(directory, 0o700);
    expect(file.poll(true)).toEqual({});

    chmodSync(path, 0o666);
    expect(file.poll(true)).toEqual({});
  });
});
