import { Counter, Histogram, type Registry } from 'prom-client';

/**
 * Counters and histograms for the gateway's per-request series, kept as plain numbers per label
 * tuple and handed to prom-client's registry only when `/metrics` is scraped. prom-client's own
 * `inc`/`observe` validate the label object and build its hash key on every call (~11 µs for a
 * request's six updates, measured); these take the label values in `labelNames` order and look
 * them up one Map level per label (~0.25 µs for the same six). The registry formats what `get()` returns exactly as it formats its own metrics.
 */

interface SeriesOptions<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  registers: Registry[];
}

interface Series<V> {
  labels: Record<string, string>;
  value: V;
}

/**
 * Series by label values, looked up one label at a time (a Map per level: exact for any
 * characters, and no key string built per update).
 */
class SeriesTable<V> {
  /** Every series, in the order first seen (the exposition's order). */
  readonly entries: Series<V>[] = [];
  private root = new Map<string, unknown>();

  constructor(
    private readonly labelNames: readonly string[],
    private readonly create: () => V,
  ) {}

  get(values: readonly string[]): V {
    if (values.length !== this.labelNames.length) {
      throw new TypeError(`expected ${this.labelNames.length} label values (${this.labelNames.join(', ')}), got ${values.length}`);
    }
    let level = this.root;
    for (let index = 0; index < values.length - 1; index += 1) {
      const value = values[index] as string;
      let next = level.get(value) as Map<string, unknown> | undefined;
      if (next === undefined) {
        next = new Map();
        level.set(value, next);
      }
      level = next;
    }
    const last = values[values.length - 1] as string;
    let series = level.get(last) as Series<V> | undefined;
    if (series === undefined) {
      const labels: Record<string, string> = {};
      for (const [index, name] of this.labelNames.entries()) labels[name] = values[index] as string;
      series = { labels, value: this.create() };
      level.set(last, series);
      this.entries.push(series);
    }
    return series.value;
  }

  clear(): void {
    this.root = new Map();
    this.entries.length = 0;
  }
}

/**
 * What prom-client's own `get()` returns at run time. Its type declarations differ (`type` as a
 * numeric enum where the registry compares strings, and a `collect` member the objects do not
 * have), hence the one conversion here.
 */
function snapshot<T>(description: { name: string; help: string }, type: 'counter' | 'histogram', values: unknown[]): T {
  return { name: description.name, help: description.help, type, values, aggregator: 'sum' } as unknown as T;
}

type CounterSnapshot<L extends string> = Awaited<ReturnType<Counter<L>['get']>>;
type HistogramSnapshot<L extends string> = Awaited<ReturnType<Histogram<L>['get']>>;
type HistogramValue<L extends string> = HistogramSnapshot<L>['values'][number];

/** A counter family: `add(['openai', 'local', ...])` in `labelNames` order. */
export class SeriesCounter<L extends string> extends Counter<L> {
  private readonly series: SeriesTable<{ total: number }>;
  // Set by prom-client's constructor (and renamed by an OpenMetrics registry at scrape time).
  declare name: string;
  declare help: string;

  constructor(options: SeriesOptions<L>) {
    super({ name: options.name, help: options.help, labelNames: options.labelNames, registers: options.registers });
    this.series = new SeriesTable(options.labelNames, () => ({ total: 0 }));
  }

  /** Adds `amount` (default 1; finite, not negative) to the series of `values`. */
  add(values: readonly string[], amount = 1): void {
    if (!(amount >= 0 && amount !== Infinity)) throw new TypeError(`a counter goes up by a finite amount, not ${amount}`);
    this.series.get(values).total += amount;
  }

  override reset(): void {
    // prom-client's constructor calls reset() before this class's fields exist.
    this.series?.clear();
  }

  override async get(): Promise<CounterSnapshot<L>> {
    const values = this.series.entries.map((series) => ({ value: series.value.total, labels: { ...series.labels } }));
    return snapshot<CounterSnapshot<L>>(this, 'counter', values);
  }
}

interface HistogramSeries {
  /** Observations per bucket (not cumulative); the last slot counts those above every bound. */
  buckets: number[];
  sum: number;
  count: number;
}

/** A histogram family: `observe(['openai', ...], seconds)` in `labelNames` order. */
export class SeriesHistogram<L extends string> extends Histogram<L> {
  private readonly series: SeriesTable<HistogramSeries>;
  // Set by prom-client's constructor (and renamed by an OpenMetrics registry at scrape time).
  declare name: string;
  declare help: string;
  private readonly bounds: readonly number[];

  constructor(options: SeriesOptions<L> & { buckets: readonly number[] }) {
    super({ name: options.name, help: options.help, labelNames: options.labelNames, buckets: [...options.buckets], registers: options.registers });
    this.bounds = [...options.buckets].sort((a, b) => a - b);
    this.series = new SeriesTable(options.labelNames, () => ({ buckets: new Array<number>(this.bounds.length + 1).fill(0), sum: 0, count: 0 }));
  }

  /** Counts one observation in the series of `values`. */
  record(values: readonly string[], observation: number): void {
    if (!Number.isFinite(observation)) throw new TypeError(`not a finite observation: ${observation}`);
    const series = this.series.get(values);
    let bucket = 0;
    while (bucket < this.bounds.length && observation > (this.bounds[bucket] as number)) bucket += 1;
    series.buckets[bucket] = (series.buckets[bucket] as number) + 1;
    series.sum += observation;
    series.count += 1;
  }

  override reset(): void {
    // prom-client's constructor calls reset() before this class's fields exist.
    this.series?.clear();
  }

  /** prom-client's histogram shape: cumulative `_bucket` lines with `le`, then `_sum` and `_count`. */
  override async get(): Promise<HistogramSnapshot<L>> {
    const { name } = this;
    const values: HistogramValue<L>[] = [];
    for (const { labels, value } of this.series.entries) {
      let cumulative = 0;
      for (const [index, bound] of this.bounds.entries()) {
        cumulative += value.buckets[index] as number;
        values.push({ metricName: `${name}_bucket`, labels: { le: bound, ...labels }, value: cumulative } as HistogramValue<L>);
      }
      values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf', ...labels }, value: value.count } as HistogramValue<L>);
      values.push({ metricName: `${name}_sum`, labels: { ...labels }, value: value.sum } as HistogramValue<L>);
      values.push({ metricName: `${name}_count`, labels: { ...labels }, value: value.count } as HistogramValue<L>);
    }
    return snapshot<HistogramSnapshot<L>>(this, 'histogram', values);
  }

  /** What prom-client's registry reads for the text exposition when a histogram has it (its own reads the base class's empty table). */
  getForPromString(): Promise<HistogramSnapshot<L>> {
    return this.get();
  }
}
