import { describe, expect, it } from 'vitest';
import { nextReadinessPause, READINESS_FIRST_PAUSE_MS } from '../../../src/engines/processes.js';

describe('engine start: pauses between readiness checks', () => {
  it('start at 25 ms and double up to 200 ms, so an engine that answers at once is seen within tens of milliseconds', () => {
    const pauses = [READINESS_FIRST_PAUSE_MS];
    while (pauses.length < 7) pauses.push(nextReadinessPause(pauses.at(-1)!));
    expect(pauses).toEqual([25, 50, 100, 200, 200, 200, 200]);
  });
});
