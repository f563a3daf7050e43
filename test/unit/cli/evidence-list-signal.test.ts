/**
 * `evidence list --json` serialises its rows a few hundred at a time: a signal received once the
 * read is done (here: as the last row is read, deterministically) stops it with its error document
 * alone — never the whole list after the signal, nor part of it. Before, the document was built in
 * one synchronous JSON.stringify (seconds over 200 000 rows) and printed whole after the signal.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { documentTextPausing } from '../../../src/cli/output.js';
import { makeTempHome } from '../../helpers/cli.js';
import { withStore } from '../../helpers/store.js';
import { seedDenial } from '../evidence/seed.js';

const signalAfterRead = vi.hoisted(() => ({ on: false }));

vi.mock('../../../src/evidence/index.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../../src/evidence/index.js')>();
  const { interruptCancellable } = await import('../../../src/cli/interrupt.js');
  return {
    ...actual,
    // SIGTERM arrives as the read ends: what remains is the count and the serialising.
    *evidenceSummaries(...args: Parameters<typeof actual.evidenceSummaries>) {
      yield* actual.evidenceSummaries(...args);
      if (signalAfterRead.on) interruptCancellable('SIGTERM');
    },
  };
});

describe('documentTextPausing', () => {
  it('is what `Output.document` prints, byte for byte', async () => {
    const signal = new AbortController().signal;
    const rows = Array.from({ length: 450 }, (_, index) => ({ id: `ev_${index}`, nested: { list: [1, 'two\nlines', null], empty: [], none: {} }, markers: index % 2 === 0 ? [] : ['fallback'] }));
    const bodies = [{ evidence: rows, total: 451, truncated: true }, { evidence: [], total: 0, truncated: false }, { before: { evidence: [1] }, evidence: [[], {}, 'x', [[]], null], after: 'y' }];
    for (const every of [undefined, 1, 2, 7]) {
      for (const body of bodies) expect(await documentTextPausing(body, 'evidence', signal, every)).toBe(JSON.stringify({ ok: true, ...body }, null, 2));
    }
  });

  it('an aborted signal stops it, with its reason, at the next pause', async () => {
    const controller = new AbortController();
    const rows = Array.from({ length: 1000 }, (_, index) => ({ id: index }));
    const serialising = documentTextPausing({ evidence: rows }, 'evidence', controller.signal);
    controller.abort(new Error('stopped'));
    await expect(serialising).rejects.toThrow('stopped');
  });
});

describe('evidence list --json stopped while it serialises', () => {
  const { home, cleanup } = makeTempHome('syndicate-list-signal-');
  const ROWS = 1000;
  beforeAll(() => {
    withStore(home, (store) => store.transaction(() => {
      for (let index = 0; index < ROWS; index += 1) seedDenial(store);
    }));
  });
  afterAll(cleanup);

  it('prints the interrupted error document alone and exits 143', async () => {
    const { runProgram } = await import('../../../src/cli/program.js');
    const written: string[] = [];
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    signalAfterRead.on = true;
    let exitCode: number;
    try {
      exitCode = await runProgram(['node', 'syndicate', '--json', '--home', home, 'evidence', 'list', '--limit', String(ROWS)]);
    } finally {
      stdout.mockRestore();
      signalAfterRead.on = false;
    }
    expect(exitCode).toBe(143);
    expect(JSON.parse(written.join(''))).toEqual({
      ok: false,
      error: { code: 'interrupted', message: 'terminated (SIGTERM) before `evidence list` ended', hint: 'nothing was changed; run it again, or with a smaller --limit' },
    });
  });
});
