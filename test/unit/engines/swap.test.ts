import { describe, expect, it } from 'vitest';

import { planSwap, type SwapModel } from '../../../src/engines/swap.js';

const model = (name: string, priority: number, vramGb: number | undefined, taggedForTask = false): SwapModel => ({ model: name, priority, vramGb, taggedForTask });

describe('planSwap (hot-swap: evict only when the budget requires it, only lower-ranked models)', () => {
  it('no budget declared: load, evict nothing', () => {
    const plan = planSwap({ requested: model('big', 9, 20), resident: [model('small', 1, 4)], budgetGb: undefined, task: undefined, force: false });
    expect(plan).toMatchObject({ kind: 'load', evict: [] });
  });

  it('it fits beside what is resident: load, evict nothing', () => {
    const plan = planSwap({ requested: model('b', 1, 4), resident: [model('a', 9, 4)], budgetGb: 8, task: undefined, force: false });
    expect(plan).toMatchObject({ kind: 'load', evict: [] });
  });

  it('the budget requires an eviction and the requested model outranks: evicts the lowest-ranked first, only as many as needed', () => {
    const plan = planSwap({
      requested: model('coder', 5, 6),
      resident: [model('chat', 3, 4), model('tiny', 1, 2), model('embed', 2, 1)],
      budgetGb: 10,
      task: undefined,
      force: false,
    });
    // in use 7, free 3, needs 6: tiny (1) frees 2 -> 5, embed (2) frees 1 -> 6.
    expect(plan.kind).toBe('load');
    expect(plan.kind === 'load' && plan.evict.map((entry) => entry.model)).toEqual(['tiny', 'embed']);
  });

  it('equal or higher rank is never evicted: refused, naming the models it does not outrank', () => {
    const plan = planSwap({ requested: model('b', 3, 6), resident: [model('a', 3, 6)], budgetGb: 8, task: undefined, force: false });
    expect(plan.kind).toBe('refused');
    expect(plan.kind === 'refused' && plan.message).toBe('b does not fit in the 8 GB budget: b (priority 3) does not outrank a (priority 3, 6 GB)');
  });

  it('a model in use by a request in flight is never evicted, forced or not: the next lower-ranked one goes, else refused naming it', () => {
    const busy: SwapModel = { ...model('tiny', 1, 4), inUse: true };
    const other = model('chat', 3, 4);
    expect(planSwap({ requested: model('coder', 5, 4), resident: [busy, other], budgetGb: 8, task: undefined, force: false })).toMatchObject({ kind: 'load', evict: [{ model: 'chat' }] });
    const refused = planSwap({ requested: model('coder', 5, 6), resident: [busy, model('top', 9, 3)], budgetGb: 8, task: undefined, force: true });
    expect(refused.kind === 'refused' && refused.message).toBe('coder does not fit in the 8 GB budget: tiny (priority 1, 4 GB) is in use by a request in flight');
    const both = planSwap({ requested: model('coder', 5, 6), resident: [busy, model('top', 9, 3)], budgetGb: 8, task: undefined, force: false });
    expect(both.kind === 'refused' && both.message).toBe('coder does not fit in the 8 GB budget: coder (priority 5) does not outrank top (priority 9, 3 GB); tiny (priority 1, 4 GB) is in use by a request in flight');
  });

  it('for a task, a model tagged for it outranks an untagged one whatever their priorities', () => {
    const resident = [model('chat', 9, 6, false)];
    expect(planSwap({ requested: model('coder', 1, 6, true), resident, budgetGb: 8, task: 'code', force: false })).toMatchObject({ kind: 'load', evict: [{ model: 'chat' }] });
    expect(planSwap({ requested: model('coder', 1, 6, true), resident, budgetGb: 8, task: undefined, force: false }).kind).toBe('refused');
  });

  it('--force evicts by rank regardless of priority', () => {
    const plan = planSwap({ requested: model('b', 1, 6), resident: [model('a', 9, 6)], budgetGb: 8, task: undefined, force: true });
    expect(plan).toMatchObject({ kind: 'load', evict: [{ model: 'a' }] });
  });

  it('a model larger than the whole budget is refused even with --force', () => {
    const plan = planSwap({ requested: model('huge', 9, 40), resident: [], budgetGb: 24, task: undefined, force: true });
    expect(plan).toMatchObject({ kind: 'refused', message: "huge needs 40 GB, more than the engine's whole budget of 24 GB" });
  });

  it('a requested model of unknown size cannot be checked: load without evicting, and say so', () => {
    const plan = planSwap({ requested: model('mystery', 9, undefined), resident: [model('a', 1, 7)], budgetGb: 8, task: undefined, force: false });
    expect(plan).toMatchObject({ kind: 'load', evict: [] });
    expect(plan.explanation.join(' ')).toContain('declares no vramGb');
  });

  it('resident models of unknown size count as 0 GB and are named in the explanation', () => {
    const plan = planSwap({ requested: model('b', 5, 4), resident: [model('a', 1, undefined)], budgetGb: 8, task: undefined, force: false });
    expect(plan).toMatchObject({ kind: 'load', evict: [] });
    expect(plan.explanation[0]).toBe('counted as 0 GB (neither the engine nor the record gives a size): a');
  });
});
