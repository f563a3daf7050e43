import { counted } from '../output.js';
import { Command } from 'commander';
import type { MetricsSummary, Percentiles, TokenTotals } from '../../metrics/summary.js';
import { contextFor } from '../context.js';
import type { SensitivityLevel } from '../../common/vocabulary.js';
import { sensitivityOption, sessionFilterOption } from '../input.js';
import { cancellable } from '../interrupt.js';

interface MetricsOptions {
  since: string;
  until?: string;
  session?: string;
  sensitivity?: SensitivityLevel[];
}

export function metricsCommand(): Command {
  return new Command('metrics')
    .description('what happened, from the evidence: local vs hosted requests and tokens, where each sensitivity level went, latency, load times, spend and savings')
    .option('--since <time>', 'from when: a duration back from now with its unit (90m, 24h, 7d), a date (2026-11-01, UTC) or a date and time with its zone', '24h')
    .option('--until <time>', 'up to when (not included), in the same forms as --since (default: now)')
    .option('--session <id>', "only one session's requests (`x-syndicate-session`, or a coding agent's own session header)")
    .addOption(sensitivityOption('requests'))
    .addHelpText(
      'after',
      '\nExamples:\n  $ syndicate metrics --since 7d --json\n  $ syndicate metrics --since 7d --session "$SESSION_ID"   # ids: syndicate evidence list\n  $ syndicate metrics --since 30d --sensitivity confidential,restricted   # where confidential data and above went',
    )
    .action(async (options: MetricsOptions, command: Command) => {
      const context = contextFor(command);
      const { output } = context;
      const { parseTimeRange } = await import('../../common/point-in-time.js');
      const now = Date.now();
      // Up to now, this millisecond included (see `windowUntilNow`), unless --until ends it before.
      const { since: sinceMs = now, until: untilMs = now + 1 } = parseTimeRange(options.until === undefined ? { since: options.since, until: new Date(now + 1).toISOString() } : options, now);
      // A window given by its bounds is named by them; `--since 24h` alone as the last 24h.
      const heading = options.until === undefined && !/^\d{4}-/.test(options.since.trim()) ? `Last ${options.since}` : undefined;
      const sessionFilter = sessionFilterOption(options.session);
      const { loadPolicy } = await import('../../policy/load.js');
      const { computeMetricsCancellable, hourlySeriesEnd } = await import('../../metrics/index.js');
      const policy = loadPolicy(context.home.policyPath);
      // A long window of a busy store takes seconds: Ctrl-C or SIGTERM from the store's opening on
      // stops it within a few hundred rows (exit 130 / 143).
      const summary = await cancellable(
        async (signal) => {
          const store = await context.store({ existing: true });
          let session: string | undefined;
          if (sessionFilter !== undefined) {
            const { sessionId, warning } = (await import('../../sessions/sessions.js')).sessionFilter(store, sessionFilter);
            session = sessionId;
            if (warning !== undefined) output.warn(warning);
          }
          // A window a prune reached into counts only what it kept: 0 there is not "nothing happened".
          const { prunedWindowWarning } = await import('../../evidence/retention.js');
          const warning = prunedWindowWarning(store, sinceMs);
          if (warning !== undefined) output.warn(warning);
          const sensitivities = options.sensitivity;
          // The hourly series ends where the chart below says it does: both on the one `now` read above
          // (a second read of the clock past the top of an hour charted an hour the series lacks).
          return computeMetricsCancellable(store, policy, { sinceMs, untilMs, ...(session === undefined ? {} : { session }), ...(sensitivities === undefined ? {} : { sensitivities }) }, signal, { nowMs: now });
        },
        { otherWork: { name: '`metrics`', hint: 'nothing was changed; run it again, or with a shorter --since' } },
      );
      context.close();
      if (summary.savings.warning !== undefined) output.warn(summary.savings.warning);
      if (output.json) {
        output.document({ metrics: summary });
        return;
      }
      const { requestsChart } = await import('../../metrics/chart.js');
      printSummary(summary, heading, (text) => output.line(text), (columns, rows) => output.table(columns, rows), output.color.bold);
      output.line();
      // On a terminal the chart fits its width; piped, it keeps its full 72 columns.
      // A window that ends later than now (--until next month) is charted up to now, its newest point so far.
      const chartedUntil = new Date(hourlySeriesEnd({ sinceMs, untilMs }, now)).toISOString();
      output.line(requestsChart(summary.hourly, { color: output.color.level > 0, until: chartedUntil, ...(output.width === undefined ? {} : { width: output.width }) }));
    });
}

function printSummary(
  summary: MetricsSummary,
  heading: string | undefined,
  line: (text: string) => void,
  table: (columns: string[], rows: (string | number | null)[][]) => void,
  bold: (text: string) => string,
): void {
  const { requests, tokens, spendUsd, savings } = summary;
  const bounds = `${summary.window.since} – ${summary.window.until}`;
  const only = `${summary.window.session === undefined ? '' : `, session ${summary.window.session}`}${summary.window.sensitivity === undefined ? '' : `, sensitivity ${summary.window.sensitivity.join(',')}`}`;
  line(bold(`${heading === undefined ? bounds : `${heading} (${bounds})`}${only}`));
  line(
    `requests  ${requests.total} answered: ${requests.local} local (${percent(requests.localShare)}), ${requests.hosted} hosted (${percent(requests.hostedShare)}); ` +
      `${requests.fallbacks} after fallback, ${counted(requests.failedAttempts, 'failed attempt')}, ${requests.cancelled} cancelled by the caller, ${requests.denied} denied`,
  );
  if (summary.permitChecksRefused > 0) {
    line(`permits   ${summary.permitChecksRefused} refused outside any request (permit issue/verify): not counted as denied requests`);
  }
  if (summary.probesDenied > 0) {
    line(`probes    ${summary.probesDenied} refused by policy (provider test/capabilities): not counted as denied requests`);
  }
  line(
    `tokens    ${tokens.local.total + tokens.hosted.total}: ${tokens.local.total} local (${percent(tokens.localShare)}), ${tokens.hosted.total} hosted` +
      (tokens.withoutCounts > 0 ? `; ${counted(tokens.withoutCounts, 'answer')} without token counts` : '') +
      (tokens.estimatedCounts > 0 ? `; ${counted(tokens.estimatedCounts, 'answer')} counted locally (the provider reported no usage)` : ''),
  );
  const cacheLine = promptCacheLine(tokens.local, tokens.hosted);
  if (cacheLine !== undefined) line(cacheLine);
  line(`spend     ${usd(spendUsd.total)} (hosted ${usd(spendUsd.hosted)}, local ${usd(spendUsd.local)}, provider probes ${usd(spendUsd.probes)})`);
  line(
    `savings   ~${usd(savings.estimatedSavingsUsd)}: local tokens priced at ${savings.referenceModel} ($${savings.inputPerMTok}/$${savings.outputPerMTok} per MTok in/out` +
      `${cacheReadRate(savings, tokens.local)}` +
      `${(savings.tiers ?? []).map((tier) => `; an answer of over ${tier.aboveInputTokens} input tokens at $${tier.inputPerMTok}/$${tier.outputPerMTok}`).join('')})` +
      (savings.pricedAtEarlierRates === undefined ? '' : `; ${counted(savings.pricedAtEarlierRates, 'answer')} from before its price last changed at the rates its record gave then (\`provider history ${savings.referenceModel.split(':')[0] ?? ''}\`)`) +
      (savings.embeddingTokensLeftOut > 0 ? `; ${savings.embeddingTokensLeftOut} local embeddings input tokens left out (not priced at a chat model's rates)` : ''),
  );
  // Every request is in one row, so each column adds up to the figure of the requests line.
  const rows = [...summary.bySensitivity, { level: '(no level)', ...summary.unclassified }];
  const seen = rows.filter((entry) => entry.local + entry.hosted + entry.denied > 0);
  if (seen.length > 0) {
    line('');
    table(
      ['sensitivity', 'local', 'hosted', 'denied'],
      seen.map((entry) => [entry.level, entry.local, entry.hosted, entry.denied]),
    );
  }
  printByModel(summary, line, table);
  if (summary.latency.length > 0) {
    line('');
    table(
      ['provider', 'model', 'class', 'requests', 'first token p50', 'p95', 'total p50', 'p95'],
      summary.latency.map((entry) => [
        entry.provider,
        entry.model,
        entry.class,
        entry.requests,
        ms(entry.firstTokenMs, 'p50'),
        ms(entry.firstTokenMs, 'p95'),
        ms(entry.totalMs, 'p50'),
        ms(entry.totalMs, 'p95'),
      ]),
    );
  }
  if (summary.loadTimes.length > 0) {
    line('');
    table(
      ['provider', 'model', 'loads', 'load p50', 'max'],
      summary.loadTimes.map((entry) => [entry.provider, entry.model, entry.loads, ms(entry.loadMs, 'p50'), `${Math.round(entry.maxMs)} ms`]),
    );
  }
  printColdStarts(summary, line, table);
}

/**
 * Answers, tokens and spend per provider and model (`byModel`), most spend first; a last row gives
 * the provider probes' spend, which is no model's requests, so the spend column adds up to the `spend` line.
 */
function printByModel(summary: MetricsSummary, line: (text: string) => void, table: (columns: string[], rows: (string | number | null)[][]) => void): void {
  if (summary.byModel.length === 0 && summary.spendUsd.probes === 0) return;
  line('');
  const rows: (string | number | null)[][] = summary.byModel.map((entry) => [
    entry.id,
    entry.class,
    entry.answers,
    entry.failedAttempts,
    entry.tokens.input,
    entry.tokens.output,
    entry.tokens.cachedInput,
    usd(entry.spendUsd),
  ]);
  if (summary.spendUsd.probes > 0) rows.push(['(provider probes)', '', '', '', '', '', '', usd(summary.spendUsd.probes)]);
  table(['model', 'class', 'answers', 'failed', 'tokens in', 'out', 'cached', 'spend'], rows);
}

function printColdStarts(summary: MetricsSummary, line: (text: string) => void, table: (columns: string[], rows: (string | number | null)[][]) => void): void {
  if (summary.coldStarts.length === 0) return;
  line('');
  line('cold starts: answers from a model its engine reported not loaded when routed (the first token includes the load)');
  table(
    ['provider', 'model', 'cold answers', 'first token p50 cold', 'warm'],
    summary.coldStarts.map((entry) => [entry.provider, entry.model, entry.coldRequests, ms(entry.coldFirstTokenMs, 'p50'), ms(entry.warmFirstTokenMs, 'p50')]),
  );
}

/**
 * The reference's rate for the input tokens local engines served from their prompt cache — or,
 * when it gives none and there were such tokens, that they were priced at the full input rate.
 */
function cacheReadRate(savings: MetricsSummary['savings'], local: TokenTotals): string {
  if (savings.cachedInputPerMTok !== undefined) return `, cache reads $${savings.cachedInputPerMTok}`;
  return local.cachedInput > 0 ? ', cache reads at the input rate' : '';
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

function usd(value: number): string {
  return `$${value.toFixed(value !== 0 && Math.abs(value) < 0.01 ? 6 : 2)}`;
}

function ms(value: Percentiles | null, key: 'p50' | 'p95'): string | null {
  return value === null ? null : `${Math.round(value[key])} ms`;
}

/** Input tokens served from prompt caches, when any provider reported them (they are part of the input counts above). */
function promptCacheLine(local: TokenTotals, hosted: TokenTotals): string | undefined {
  const part = (totals: TokenTotals, name: string): string | undefined =>
    totals.cachedInput + totals.cacheWriteInput === 0
      ? undefined
      : `${name} ${totals.cachedInput} of ${totals.input} input read from cache (${percent(totals.cachedInputShare)})` +
        (totals.cacheWriteInput > 0 ? `, ${totals.cacheWriteInput} written` : '');
  const parts = [part(hosted, 'hosted'), part(local, 'local')].filter((text) => text !== undefined);
  return parts.length === 0 ? undefined : `cache     ${parts.join('; ')}`;
}
