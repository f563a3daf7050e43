/**
 * Hot-swap: whether loading a model into a local engine with a declared VRAM budget needs
 * other models out first, and which. A pure function of what the engine holds and what the
 * provider record declares, so `engine load` can show its plan before acting.
 *
 * The rule (DESIGN "Engines and hot-swap"): swap only when the budget requires an eviction and
 * the requested model has higher priority *for the task at hand* than every model it evicts.
 * With a task, a model tagged for it outranks one that is not, whatever their priorities; then
 * the declared priority decides. Equal rank never evicts.
 */

/** A model in the swap decision: the one asked for, or one the engine holds. */
export interface SwapModel {
  model: string;
  /** Declared `priority` (0 when the record does not declare it or does not list the model). */
  priority: number;
  /** Declared `tags` include the task at hand. */
  taggedForTask: boolean;
  /** GB it takes: what the engine reports when it does, else the record's `vramGb`; undefined when neither says. */
  vramGb: number | undefined;
  /** A call of this process is using it now: never evicted, whatever its rank (its stream would be cut, or the load wait for it). */
  inUse?: boolean;
}

export interface SwapRequest {
  requested: SwapModel;
  /** What the engine holds now, the requested model excluded. */
  resident: SwapModel[];
  /** The engine's `vramBudgetGb`; undefined: no budget declared, the engine manages its memory itself. */
  budgetGb: number | undefined;
  task: string | undefined;
  /** Evict by rank regardless of priority (still lowest rank first). */
  force: boolean;
}

export type SwapPlan =
  | { kind: 'load'; evict: SwapModel[]; explanation: string[] }
  /**
   * `too_large`: more than the whole budget, which no eviction helps; `in_use`: only models a
   * request in flight is using are in the way; `no_room`: models it does not outrank are
   * (`outranking`, highest rank first: what an unload would have to free).
   */
  | { kind: 'refused'; cause: 'too_large' | 'in_use' | 'no_room'; message: string; explanation: string[]; outranking: string[] };

function rank(model: SwapModel, task: string | undefined): [number, number] {
  return [task !== undefined && model.taggedForTask ? 1 : 0, model.priority];
}

function compareRank(a: SwapModel, b: SwapModel, task: string | undefined): number {
  const [aTask, aPriority] = rank(a, task);
  const [bTask, bPriority] = rank(b, task);
  return aTask !== bTask ? aTask - bTask : aPriority - bPriority;
}

function describe(model: SwapModel, task: string | undefined): string {
  const tagged = task === undefined ? '' : model.taggedForTask ? `, tagged ${task}` : `, not tagged ${task}`;
  return `${model.model} (priority ${model.priority}${tagged}, ${model.vramGb === undefined ? 'size unknown' : `${gigabytes(model.vramGb)} GB`})`;
}

function gigabytes(value: number): string {
  return String(Math.round(value * 100) / 100);
}

export function planSwap(request: SwapRequest): SwapPlan {
  const { requested, resident, budgetGb, task, force } = request;
  const explanation: string[] = [];
  if (budgetGb === undefined) {
    return { kind: 'load', evict: [], explanation: ['no vramBudgetGb declared for this engine: nothing is evicted by syndicate (the engine may still free memory on its own)'] };
  }
  if (requested.vramGb === undefined) {
    return { kind: 'load', evict: [], explanation: [`${requested.model} declares no vramGb: its fit in the ${gigabytes(budgetGb)} GB budget cannot be checked, so nothing is evicted`] };
  }
  const unknown = resident.filter((model) => model.vramGb === undefined);
  if (unknown.length > 0) explanation.push(`counted as 0 GB (neither the engine nor the record gives a size): ${unknown.map((model) => model.model).join(', ')}`);
  const used = resident.reduce((sum, model) => sum + (model.vramGb ?? 0), 0);
  const free = budgetGb - used;
  explanation.push(`budget ${gigabytes(budgetGb)} GB, in use ${gigabytes(used)} GB, ${requested.model} needs ${gigabytes(requested.vramGb)} GB`);
  if (requested.vramGb > budgetGb) {
    return { kind: 'refused', cause: 'too_large', message: `${requested.model} needs ${gigabytes(requested.vramGb)} GB, more than the engine's whole budget of ${gigabytes(budgetGb)} GB`, explanation, outranking: [] };
  }
  if (requested.vramGb <= free) return { kind: 'load', evict: [], explanation: [...explanation, 'it fits: nothing to evict'] };

  const ordered = [...resident].sort((a, b) => compareRank(a, b, task) || (b.vramGb ?? 0) - (a.vramGb ?? 0));
  const evictable = ordered.filter((model) => model.inUse !== true && (force || compareRank(requested, model, task) > 0));
  const evict: SwapModel[] = [];
  let freed = free;
  for (const model of evictable) {
    if (freed >= requested.vramGb) break;
    if ((model.vramGb ?? 0) <= 0) continue;
    evict.push(model);
    freed += model.vramGb ?? 0;
  }
  if (freed < requested.vramGb) {
    const kept = ordered.filter((model) => !evictable.includes(model));
    const inUse = kept.filter((model) => model.inUse === true);
    const outranking = kept.filter((model) => model.inUse !== true);
    const reasons = [
      outranking.length === 0 ? '' : `${requested.model} (priority ${requested.priority}${task === undefined ? '' : requested.taggedForTask ? `, tagged ${task}` : `, not tagged ${task}`}) does not outrank ${outranking.map((model) => describe(model, task)).join(', ')}`,
      inUse.length === 0 ? '' : `${inUse.map((model) => describe(model, task)).join(', ')} ${inUse.length === 1 ? 'is' : 'are'} in use by a request in flight`,
    ].filter((reason) => reason !== '');
    const because = reasons.length === 0 ? 'even with every resident model evicted' : reasons.join('; ');
    return { kind: 'refused', cause: outranking.length === 0 && inUse.length > 0 ? 'in_use' : 'no_room', message: `${requested.model} does not fit in the ${gigabytes(budgetGb)} GB budget: ${because}`, explanation, outranking: outranking.map((model) => model.model) };
  }
  explanation.push(`${force ? 'evicting (forced)' : 'evicting lower-ranked'}: ${evict.map((model) => describe(model, task)).join(', ')}`);
  return { kind: 'load', evict, explanation };
}
