import { Command, Option } from 'commander';
import type { SensitivityLevel, WorkflowClass } from '../../common/vocabulary.js';
import { UsageError } from '../../errors.js';
import type { RouteExplanation } from '../../invoke/explain-route.js';
import { CLI_MODEL_NAMING } from '../../invoke/model-naming.js';
import { contextFor } from '../context.js';
import { positiveIntegerOption, readStdin, sessionOption } from '../input.js';

interface RouteOptions {
  workflow: string;
  sensitivity?: string;
  model: string;
  provider?: string;
  trustTier?: string;
  maxTokens?: string;
  session?: string;
  explain?: boolean;
}

const WORKFLOWS = ['interactive', 'batch'];
const LEVELS = ['public', 'internal', 'confidential', 'restricted'];

export function routeCommand(): Command {
  return new Command('route')
    .description('classify a prompt and show where it would be routed, without calling any model')
    .argument('[prompt]', 'the prompt; `-` or nothing reads it from stdin')
    .addOption(new Option('--workflow <class>', 'workflow class').choices(WORKFLOWS).default('interactive'))
    .addOption(new Option('--sensitivity <level>', 'caller hint: raises the classified level, never lowers it').choices(LEVELS))
    .option('--model <model>', 'auto, a model id or alias, or provider:model', 'auto')
    .option('--provider <id>', 'only consider this provider (every rule still applies)')
    .option('--trust-tier <tier>', "the caller's trust tier (default: the policy's default tier)")
    .option('--max-tokens <n>', 'output tokens the request would ask for')
    .option('--session <id>', "a stored session (id or name): its capability envelope bounds the route, as for `run`, the gateway and MCP")
    .option('--explain', 'print every rule applied and every exclusion with its reason')
    .addHelpText('after', '\nExample:\n  $ syndicate route --explain "refactor this function"\n  $ echo "my password is hunter2" | syndicate route --json')
    .action(async (prompt: string | undefined, options: RouteOptions, command: Command) => {
      if (!WORKFLOWS.includes(options.workflow)) throw new UsageError(`unknown workflow "${options.workflow}"`, { hint: `use one of: ${WORKFLOWS.join(', ')}` });
      if (options.sensitivity !== undefined && !LEVELS.includes(options.sensitivity)) {
        throw new UsageError(`unknown sensitivity "${options.sensitivity}"`, { hint: `use one of: ${LEVELS.join(', ')}` });
      }
      const maxTokens = positiveIntegerOption(options.maxTokens, '--max-tokens');
      const session = sessionOption(options.session);
      const text = prompt === undefined || prompt === '-' ? await readStdin('prompt') : prompt;
      if (text.trim() === '') throw new UsageError('the prompt is empty', { hint: 'pass the prompt as an argument or pipe it on stdin' });

      const context = contextFor(command);
      const [{ loadPolicy }, { explainRoute, unavailableRouteError }] = await Promise.all([import('../../policy/load.js'), import('../../invoke/explain-route.js')]);
      const policy = loadPolicy(context.home.policyPath);
      const store = await context.store({ existing: true });
      try {
        const routed = await explainRoute(
          store,
          policy,
          {
            text,
            model: options.model,
            workflow: options.workflow as WorkflowClass,
            ...(options.provider === undefined ? {} : { provider: options.provider }),
            ...(options.sensitivity === undefined ? {} : { sensitivity: options.sensitivity as SensitivityLevel }),
            ...(options.trustTier === undefined ? {} : { trustTier: options.trustTier }),
            ...(maxTokens === undefined ? {} : { maxTokens }),
            ...(session === undefined ? {} : { session }),
          },
          { modelNaming: CLI_MODEL_NAMING },
        );
        const { plan, classification, skipped } = routed;
        const { output } = context;
        if (plan.candidates.length === 0) {
          if (!output.json) printPlan(output, routed, options.explain === true);
          const unavailable = unavailableRouteError(routed);
          if (unavailable !== undefined) throw unavailable;
          const { PolicyRefusalError } = await import('../../errors.js');
          throw new PolicyRefusalError('no_route', `no provider may take this ${plan.sensitivity} request`, {
            hint:
              plan.excluded.length === 0
                ? 'register a provider (`syndicate provider register FILE` or `syndicate provider add NAME`)'
                : `${output.json ? '`details.plan.excluded` says why each provider was excluded' : options.explain === true ? 'see the exclusions above' : 'run it again with `--explain` to see why each provider was excluded'}; change the policy, register a suitable local model, or lower what the request needs`,
            details: { classification, estimatedPromptTokens: routed.estimatedPromptTokens, plan },
          });
        }
        output.result({ classification, estimatedPromptTokens: routed.estimatedPromptTokens, plan, skipped }, () =>
          printPlan(output, routed, options.explain === true),
        );
      } finally {
        context.close();
      }
    });
}

function printPlan(output: ReturnType<typeof contextFor>['output'], routed: RouteExplanation, explain: boolean): void {
  const { plan, classification, skipped } = routed;
  const detectors = [...new Set(classification.findings.map((finding) => finding.detector))];
  output.line(
    `sensitivity: ${plan.sensitivity}${detectors.length === 0 ? '' : ` (${detectors.join(', ')})`}${classification.failedClosed ? ' — classifier failed closed' : ''}`,
  );
  const printSkipped = (): void => {
    for (const entry of skipped) output.line(`#${entry.rank} ${entry.provider}:${entry.model}: ${entry.reason} (export ${entry.missingKey}=… to use it)`);
    if (skipped.length > 0 && skipped.length === plan.candidates.length) output.line('every candidate would be skipped: `run` would fail (exit 5)');
  };
  if (explain) {
    output.line(plan.explanation);
    printSkipped();
    return;
  }
  if (plan.candidates.length > 0) {
    output.table(
      ['rank', 'provider', 'model', 'class', 'version', 'est. cost', 'first token'],
      plan.candidates.map((candidate) => [
        candidate.rank,
        candidate.provider,
        candidate.model,
        candidate.class,
        `v${candidate.version}`,
        `$${candidate.estimatedCostUsd.toFixed(4)}`,
        candidate.expectedFirstTokenMs === undefined ? '-' : `${candidate.expectedFirstTokenMs} ms`,
      ]),
    );
    printSkipped();
  } else {
    output.line('no candidate');
  }
  if (plan.excluded.length > 0) output.line(`${plan.excluded.length} excluded (run with --explain to see why)`);
}
