import { Command, Option } from 'commander';
import { CheckFailedError, UsageError } from '../../errors.js';
import { describeHold, type HoldReport } from '../../router/shared-holds.js';
import type { CapabilitiesReport, DiscoveryOutcome, ObservedDeviation, ProbeCheck, ProbeVerdict, ProviderTestReport } from '../../probes/types.js';
import { contextFor, type CommandContext } from '../context.js';
import { cancellable, cancelRecording } from '../interrupt.js';
import type { Output, Spinner } from '../output.js';

interface ProbeCommandOptions {
  model?: string;
  timeout?: string;
}

interface CapabilitiesCommandOptions extends ProbeCommandOptions {
  update: boolean;
  trials?: string;
}

/** `syndicate provider test <id>`: one minimal request, checked against the wire and the record. */
export function providerTestCommand(): Command {
  return new Command('test')
    .description('send one minimal request through the permit and evidence path and check the answer against the wire format and the record')
    .argument('<id>', 'provider id')
    .addOption(new Option('--model <model>', 'model to test (default: the first one in the record)'))
    .addOption(new Option('--timeout <duration>', 'bound of the request, e.g. 30s or 2m; a bare number is seconds').default('60s'))
    .addHelpText(
      'after',
      `
Exit codes: 0 conforms (declared deviations are fine), 1 undeclared deviation or wire defect,
            3 the stored record is invalid, 4 the policy refuses the call, 5 unreachable.

Example:
  $ syndicate provider test ollama --json`,
    )
    .action(async (id: string, options: ProbeCommandOptions, command: Command) => {
      const timeoutMs = await validateCommon(id, options);
      const context = contextFor(command);
      const [{ testProvider }, { createPipelineContext }] = await Promise.all([import('../../probes/provider-test.js'), import('../../invoke/context.js')]);
      try {
        // Probes need init's key and a registered provider: never half-create a home behind a mistyped --home.
        const store = await context.store({ existing: true });
        const spinner = await context.output.spinner(`testing ${id}`);
        let report: ProviderTestReport;
        try {
          // Ctrl-C or SIGTERM cancels the probe in flight, recorded as cancelled (as `run` does).
          report = await cancellable((signal) =>
            testProvider({ ...createPipelineContext(context.home, store), onCancelRecording: cancelRecording }, {
              providerId: id,
              timeoutMs,
              signal,
              ...(options.model === undefined ? {} : { model: options.model }),
            }),
            { timeoutOption: `syndicate provider test ${id} --timeout` },
          );
        } finally {
          spinner.stop();
        }
        printTestReport(context, report);
        tellDiscoveries(context.output, report.provider.id, report.deviations, report.discovery, false);
        if (!report.conforms) {
          const problems = report.checks.filter((check) => check.verdict === 'deviation' || check.verdict === 'fail');
          throw new CheckFailedError(`${id} does not conform: ${problems.map((check) => check.name).join(', ')}`, {
            hint: hintFor(report.provider.id, problems, false),
            details: { ...report },
          });
        }
      } finally {
        context.close();
      }
    });
}

/** `syndicate provider capabilities <id>`: the probe battery, with deviation discovery. */
export function providerCapabilitiesCommand(): Command {
  return new Command('capabilities')
    .description('probe streaming, token accounting, JSON mode, seed control, tool calls, context window and stop sequences')
    .argument('<id>', 'provider id')
    .addOption(new Option('--model <model>', 'model to probe (default: the first one in the record)'))
    .addOption(new Option('--timeout <duration>', 'bound of each probe request, e.g. 30s or 2m; a bare number is seconds').default('60s'))
    .addOption(new Option('--trials <n>', 'JSON-mode trials').default('4'))
    .addOption(new Option('--no-update', 'report discovered deviations without adding them to the provider record (for CI)'))
    .addHelpText(
      'after',
      `
An undeclared deviation is recorded with its evidence and added to the record as one new
version (see \`syndicate provider history <id>\`), unless --no-update is given.
Exit codes: 0 everything conforms or is declared, 1 undeclared deviation or defect found,
            3 the stored record is invalid, 4 the policy refuses the calls, 5 unreachable.

Example:
  $ syndicate provider capabilities llama.cpp --no-update`,
    )
    .action(async (id: string, options: CapabilitiesCommandOptions, command: Command) => {
      const timeoutMs = await validateCommon(id, options);
      const trials = Number(options.trials ?? '4');
      if (!Number.isInteger(trials) || trials < 1 || trials > 20) {
        throw new UsageError(`--trials must be an integer from 1 to 20, got ${JSON.stringify(options.trials)}`, { hint: 'e.g. --trials 4' });
      }
      const context = contextFor(command);
      const [{ probeCapabilities }, { createPipelineContext }] = await Promise.all([import('../../probes/capabilities.js'), import('../../invoke/context.js')]);
      try {
        // Probes need init's key and a registered provider: never half-create a home behind a mistyped --home.
        const store = await context.store({ existing: true });
        let spinner: Spinner | undefined;
        let report: CapabilitiesReport;
        try {
          report = await cancellable((signal) =>
            probeCapabilities({ ...createPipelineContext(context.home, store), onCancelRecording: cancelRecording }, {
              providerId: id,
              update: options.update,
              timeoutMs,
              signal,
              jsonTrials: trials,
              ...(options.model === undefined ? {} : { model: options.model }),
              onProgress: async (progress) => {
                if (progress.phase === 'start') {
                  spinner = await context.output.spinner(`probing ${progress.probe}`);
                  return;
                }
                const text = `${progress.probe}: ${progress.result.verdict} (${progress.result.observed})`;
                if (progress.result.verdict === 'deviation' || progress.result.verdict === 'fail') spinner?.fail(text);
                else spinner?.succeed(text);
                spinner = undefined;
              },
            }),
            { timeoutOption: `syndicate provider capabilities ${id} --timeout` },
          );
        } finally {
          spinner?.stop();
        }
        printCapabilities(context, report);
        tellDiscoveries(context.output, report.provider.id, report.deviations, report.discovery, options.update);
        if (!report.conforms) {
          const problems = report.capabilities.flatMap((result) => result.checks).filter((check) => check.verdict === 'deviation' || check.verdict === 'fail');
          throw new CheckFailedError(capabilitiesFailure(report, problems), {
            hint: hintFor(report.provider.id, problems, options.update && report.discovery?.updated === true),
            details: { ...report },
          });
        }
      } finally {
        context.close();
      }
    });
}

async function validateCommon(id: string, options: ProbeCommandOptions): Promise<number> {
  if (id.trim() === '') throw new UsageError('the provider id is empty', { hint: '`syndicate provider list` shows the ids' });
  if (options.model !== undefined && options.model.trim() === '') throw new UsageError('--model is empty', { hint: 'omit --model to use the first model of the record' });
  const { parseTimeout } = await import('../../common/duration.js');
  return parseTimeout(options.timeout ?? '60s', '--timeout');
}

function verdictText(output: Output, verdict: ProbeVerdict): string {
  switch (verdict) {
    case 'pass':
      return output.color.green('pass');
    case 'declared':
      return output.color.cyan('declared');
    case 'warn':
    case 'inconclusive':
      return output.color.yellow(verdict);
    case 'skipped':
      return output.color.dim('skipped');
    default:
      return output.color.red(verdict.toUpperCase());
  }
}

function printTestReport(context: CommandContext, report: ProviderTestReport): void {
  const { output } = context;
  if (output.json) {
    if (report.conforms) output.document({ ...report });
    return;
  }
  output.line(`${report.provider.id} v${report.provider.version} (${report.provider.class}, ${report.provider.wire} wire), model ${report.model}`);
  output.table(
    ['check', 'verdict', 'detail', 'evidence'],
    report.checks.map((check) => [check.name, verdictText(output, check.verdict), check.detail, check.evidenceId]),
  );
  output.line(report.conforms ? output.color.green('conforms to its record') : output.color.red('does not conform to its record'));
  printReleased(output, report.released);
}

/** The holds a probe run's answers lifted (`ProbeRunSummary.released`). */
function printReleased(output: Output, released: readonly HoldReport[]): void {
  for (const hold of released) output.line(`released ${describeHold(hold)} (it answered)`);
}

function shortEvidence(ids: readonly string[]): string {
  if (ids.length === 0) return '-';
  return ids.length === 1 ? (ids[0] ?? '-') : `${ids[0] ?? ''} (+${ids.length - 1})`;
}

function printCapabilities(context: CommandContext, report: CapabilitiesReport): void {
  const { output } = context;
  if (output.json) {
    if (report.conforms) output.document({ ...report });
    return;
  }
  output.line(`${report.provider.id} v${report.provider.version} (${report.provider.class}, ${report.provider.wire} wire), model ${report.model}`);
  output.table(
    ['capability', 'declared', 'observed', 'verdict', 'evidence'],
    report.capabilities.map((result) => [result.capability, result.declared, result.observed, verdictText(output, result.verdict), shortEvidence(result.evidenceIds)]),
  );
  const notable = report.capabilities.flatMap((result) => result.checks).filter((check) => check.verdict !== 'pass' && check.verdict !== 'skipped');
  for (const check of notable) output.line(`  ${verdictText(output, check.verdict)} ${check.name}: ${check.detail}${check.evidenceId === undefined ? '' : ` [${check.evidenceId}]`}`);
  printReleased(output, report.released);
}

/** Tells the operator on stderr what was discovered and whether the record changed. */
function tellDiscoveries(output: Output, providerId: string, deviations: readonly ObservedDeviation[], discovery: DiscoveryOutcome | undefined, update: boolean): void {
  const undeclared = deviations.filter((item) => !item.declared);
  for (const item of undeclared) {
    output.warn(`undeclared deviation ${item.deviation} found by ${item.source}${item.evidenceId === undefined ? '' : ` (evidence ${item.evidenceId})`}: ${item.detail}`);
  }
  if (discovery === undefined) return;
  if (discovery.updated) {
    output.info(`provider ${providerId} updated to v${discovery.version}: ${discovery.reason ?? 'discovered deviations'}`);
  } else {
    output.info(
      update
        ? `provider ${providerId} left at v${discovery.version}`
        : output.forHome(`provider ${providerId} left unchanged at v${discovery.version}; the discovery is recorded (run \`syndicate provider capabilities ${providerId}\` to add it to the record, or declare it in the provider file)`),
    );
  }
}

/**
 * What the run found, in the terms of what it wrote: undeclared deviations the record lacks (or
 * lacked, when this run added them as a new version), and probes that failed outright (wire or
 * record defects, which no version can declare).
 */
function capabilitiesFailure(report: CapabilitiesReport, problems: readonly ProbeCheck[]): string {
  const probesOf = (checks: readonly ProbeCheck[]): string => [...new Set(checks.map((check) => check.name.split('.')[0]))].join(', ');
  const deviating = problems.filter((check) => check.verdict === 'deviation');
  const failing = problems.filter((check) => check.verdict === 'fail');
  const deviations = [...new Set(deviating.map((check) => check.deviation).filter((deviation) => deviation !== undefined))];
  const discovery = report.discovery;
  const parts: string[] = [];
  if (deviations.length > 0) {
    const found = `undeclared ${deviations.join(', ')} (${probesOf(deviating)})`;
    parts.push(discovery?.updated === true ? `${found}, now declared by v${discovery.version}` : found);
  }
  if (failing.length > 0) parts.push(`${probesOf(failing)} failed`);
  return `${report.provider.id} v${report.provider.version} does not match its record: ${parts.join('; ')}`;
}

function hintFor(providerId: string, problems: readonly ProbeCheck[], updated: boolean): string {
  const deviations = [...new Set(problems.map((check) => check.deviation).filter((deviation) => deviation !== undefined))];
  const failures = problems.filter((check) => check.verdict === 'fail');
  const parts: string[] = [];
  if (deviations.length > 0) {
    parts.push(
      updated
        ? `the record now declares ${deviations.join(', ')}; review it with \`syndicate provider history ${providerId}\``
        : `declare ${deviations.join(', ')} under deviations: in the provider file and register it again, or run \`syndicate provider capabilities ${providerId}\``,
    );
  }
  if (failures.length > 0) parts.push(`fix: ${failures[0]?.detail ?? ''}`);
  return parts.join('; ');
}
