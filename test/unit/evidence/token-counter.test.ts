import { describe, expect, it } from 'vitest';
import { countInSlices, countPieces, countPiecesUntil, loadTokenCounter, MIN_REMEMBERED_PIECE_CHARS, TOKEN_COUNT_SLICE_CHARS } from '../../../src/evidence/token-counter.js';

/** An agent-sized prompt: prose, code and JSON, no two slices alike. */
function longPrompt(chars: number): string {
  const parts: string[] = [];
  for (let index = 0; parts.join('').length < chars; index += 1) {
    parts.push(
      `Step ${index}: the scheduler retried job #${index * 7} with exponential backoff.\n`,
      `function handler${index}(event) { return fetch("/api/v1/items/${index}", { method: "POST" }); }\n`,
      `{"id": ${index}, "tags": ["alpha", "beta"], "ok": ${index % 2 === 0}}\n`,
    );
  }
  return parts.join('').slice(0, chars);
}

describe('countInSlices', () => {
  it('counts a short text in one call, exactly as the counter does', async () => {
    const count = await loadTokenCounter();
    expect(await countInSlices('What is the capital of France?', count)).toBe(count('What is the capital of France?'));
  });

  it('counts a long text within 0.1 % of the whole count, yielding to the event loop between slices', async () => {
    const count = await loadTokenCounter();
    const text = longPrompt(TOKEN_COUNT_SLICE_CHARS * 5 + 123);
    let turns = 0;
    const ticking = setInterval(() => (turns += 1), 0);
    const sliced = await countInSlices(text, count);
    clearInterval(ticking);
    const whole = count(text);
    expect(Math.abs(sliced - whole) / whole).toBeLessThan(0.001);
    // Six slices, five yields: other work (here a 0 ms interval) ran while it counted.
    expect(turns).toBeGreaterThan(0);
  });

  it('cuts a text without spaces where it must, losing nothing', async () => {
    const calls: string[] = [];
    const text = 'x'.repeat(TOKEN_COUNT_SLICE_CHARS * 2 + 5);
    const total = await countInSlices(text, (slice) => {
      calls.push(slice);
      return slice.length;
    });
    expect(total).toBe(text.length);
    expect(calls.map((slice) => slice.length)).toEqual([TOKEN_COUNT_SLICE_CHARS, TOKEN_COUNT_SLICE_CHARS, 5]);
  });
});

describe('countPieces', () => {
  it('counts pieces as the model reads them joined by newlines, within 0.5 % of the joined count', async () => {
    const count = await loadTokenCounter();
    const pieces = ['You are a careful assistant.', longPrompt(5000), 'Fix the failing test.', longPrompt(3000).toUpperCase()];
    const joined = count(pieces.join('\n'));
    expect(Math.abs((await countPieces(pieces, count)) - joined) / joined).toBeLessThan(0.005);
    expect(await countPieces(['one'], count)).toBe(count('one'));
    expect(await countPieces([], count)).toBe(0);
  });

  it('counts a long piece once per counter: the next turn counts only what is new', async () => {
    const seen: string[] = [];
    const count = (text: string): number => {
      seen.push(text);
      return text.length;
    };
    const history = longPrompt(MIN_REMEMBERED_PIECE_CHARS * 3);
    const shortTurn = 'and now the tests';
    expect(await countPieces([history, shortTurn], count)).toBe(history.length + shortTurn.length + 1);
    const newTurn = longPrompt(MIN_REMEMBERED_PIECE_CHARS + 10).toLowerCase();
    expect(await countPieces([history, shortTurn, newTurn], count)).toBe(history.length + shortTurn.length + newTurn.length + 2);
    expect(seen).toEqual([history, shortTurn, shortTurn, newTurn]);

    const otherCounter = (text: string): number => text.length * 2;
    expect(await countPieces([history], otherCounter)).toBe(history.length * 2);
  });

  it.each([
    // A conversation of short turns: ~400 KB, each piece counted in place.
    ['many short pieces', Array.from({ length: 400 }, (_, index) => `turn ${index}: ${'x'.repeat(MIN_REMEMBERED_PIECE_CHARS - 20)}`), 5],
    // An agent's long conversation: 200 turns of 3 KB (~600 KB), each counted whole (shorter than a slice) and remembered.
    ['many pieces longer than remembered and shorter than a slice', Array.from({ length: 200 }, (_, index) => `turn ${index}: ${'y'.repeat(3000)}`), 8],
  ])('yields to the event loop through %s, every 64 KB slice', async (_case, pieces, yields) => {
    const count = (text: string): number => text.length;
    // Other work queued on the event loop (an immediate that re-queues itself) runs in between.
    let turns = 0;
    let running = true;
    const tick = (): void => {
      turns += 1;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const total = await countPieces(pieces, count);
    running = false;
    expect(total).toBe(pieces.reduce((sum, piece) => sum + piece.length, 0) + pieces.length - 1);
    expect(turns).toBeGreaterThanOrEqual(yields);
  });

  it('countPiecesUntil stops once the total passes stopAbove, says so, and remembers no piece it counted partly', async () => {
    const seen: string[] = [];
    const count = (text: string): number => {
      seen.push(text);
      return text.length;
    };
    // Ten slices' worth of words, after a short piece: counting stops in the second slice of the long one.
    const long = 'word '.repeat((TOKEN_COUNT_SLICE_CHARS * 10) / 5);
    const stopAbove = TOKEN_COUNT_SLICE_CHARS + 10;
    const { tokens: total, whole } = await countPiecesUntil(['short', long, 'never counted'], count, stopAbove);
    expect(whole).toBe(false);
    expect(total).toBeGreaterThan(stopAbove);
    expect(total).toBeLessThan(long.length);
    expect(seen.length).toBe(3);
    expect(seen.reduce((sum, text) => sum + text.length, 0)).toBeLessThanOrEqual(5 + 2 * TOKEN_COUNT_SLICE_CHARS);
    expect(seen).not.toContain('never counted');

    // Counted whole afterwards, not from a remembered partial count.
    seen.length = 0;
    expect(await countPiecesUntil([long], count, long.length)).toEqual({ tokens: long.length, whole: true });
    expect(seen.join('')).toBe(long);
    // Passed by its last piece, the count is whole.
    expect(await countPiecesUntil(['a', 'bc'], count, 2)).toEqual({ tokens: 4, whole: true });
  });
});

