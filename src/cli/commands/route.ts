import { Command, Option } from 'commander';
import type { SensitivityLevel, WorkflowClass } from '../../common/vocabulary.js';
import { UsageError } from '../../errors.js';
import type { RouteExplanation, RouteQuestion } from '../../invoke/explain-route.js';
import type { Policy } from '../../policy/types.js';
import type { CanonicalRequest } from '../../wire/canonical.js';
import type { RequestFamily } from '../../wire/request-family.js';
import type { Store } from '../../store/store.js';
import { CLI_MODEL_NAMING, GATEWAY_MODEL_NAMING } from '../../invoke/model-naming.js';
import { keyExports } from '../../router/hints.js';
import { imageParts } from '../../invoke/prompt-options.js';
import { sizedImages } from '../../invoke/request-size.js';
import { contextFor } from '../context.js';
import { printHeldBack } from '../held-back.js';
import {
  addRequestOptions,
  imageFileSizes,
  promptRequestParts,
  refusePromptOverLimit,
  REQUEST_OPTION_FLAGS,
  requestOptionStdinReaders,
  type PromptRequestParts,
  type RequestOptionValues,
} from '../request-options.js';
import { promptNamesFileWarning, providerAndModel, readStdin, readTextInput, refuseEmptyModelChoice, sessionOption, stdinAtMostOnce } from '../input.js';

interface RouteOptions extends RequestOptionValues {
  workflow: string;
  sensitivity?: string;
  model: string;
  provider?: string;
  trustTier?: string;
  session?: string;
  explain?: boolean;
  request?: string;
  format?: string;
  anthropicBeta?: string;
}

const WORKFLOWS = ['interactive', 'batch'];
const LEVELS = ['public', 'internal', 'confidential', 'restricted'];
/** `REQUEST_FAMILIES`, spelled out: the module that has it loads every face's parser. */
const FORMATS: readonly RequestFamily[] = ['openai', 'anthropic', 'openai-completions', 'openai-responses', 'openai-embeddings', 'ollama-chat', 'ollama-generate'];
/** Flags whose setting a `--request` body carries itself (`model`), or that the gateway has no header for. */
const FLAGS_THE_BODY_DECIDES = [
  { option: 'model', flag: '--model', carrier: 'its `model` field (an alias, `provider:model` or `auto`)' },
  { option: 'provider', flag: '--provider', carrier: 'its `model` field as `provider:model`' },
];

/** What `route` is asked to place: a prompt (as `run` sends it, with its request options) or a gateway request body, decoded. */
type RouteAsked = { kind: 'prompt'; text: string; parts: PromptRequestParts; model: string; provider?: string } | { kind: 'request'; request: CanonicalRequest };

export function routeCommand(): Command {
  const command = new Command('route')
    .description('classify a prompt (or, with `--request`, a gateway request body) and show where it would be routed, without calling any model; `-` reads the prompt or one input file from stdin')
    .argument('[prompt]', 'the prompt; `-` or nothing reads it from stdin')
    .addOption(new Option('--workflow <class>', 'workflow class').choices(WORKFLOWS).default('interactive'))
    .addOption(new Option('--sensitivity <level>', 'caller hint: raises the classified level, never lowers it').choices(LEVELS))
    .option('--model <model>', 'auto, a model id or alias, or provider:model', 'auto')
    .option('--provider <id[:model]>', 'only consider this provider (and model), as `run --provider`; every rule still applies')
    .option('--trust-tier <tier>', "the caller's trust tier (default: the policy's default tier)");
  return addRequestOptions(command)
    .option('--session <id>', 'a stored session (id or name): the prompt routed as its next turn, as `run --session` sends it (its model, system prompt and conversation, within its envelope); with --request, its envelope bounds the route, as for the gateway')
    .option('--explain', 'print every rule applied and every exclusion with its reason')
    .option('--request <file>', 'route a whole gateway request: the JSON body of an OpenAI chat completions, Anthropic Messages or OpenAI text completions request (`-`: stdin)')
    .addOption(new Option('--format <api>', 'the API of the --request body (default: told from its fields)').choices(FORMATS))
    .option('--anthropic-beta <names>', 'the anthropic-beta header sent with an Anthropic Messages --request body (NAME[,NAME])')
    .addHelpText(
      'after',
      '\nExample:\n  $ syndicate route --explain "refactor this function"\n  $ echo "my password is hunter2" | syndicate route --json\n  $ syndicate route --explain --request body.json --sensitivity internal\n  $ syndicate route --explain "What is in this screenshot?" --image screen.png',
    )
    .action(async (prompt: string | undefined, options: RouteOptions, command: Command) => {
      if (!WORKFLOWS.includes(options.workflow)) throw new UsageError(`unknown workflow "${options.workflow}"`, { hint: `use one of: ${WORKFLOWS.join(', ')}` });
      if (options.sensitivity !== undefined && !LEVELS.includes(options.sensitivity)) {
        throw new UsageError(`unknown sensitivity "${options.sensitivity}"`, { hint: `use one of: ${LEVELS.join(', ')}` });
      }
      const session = sessionOption(options.session);
      refuseEmptyModelChoice(options);
      for (const [value, flag] of [[options.format, '--format'], [options.anthropicBeta, '--anthropic-beta']] as const) {
        if (value !== undefined && options.request === undefined) throw new UsageError(`${flag} applies to --request only`, { hint: `add --request FILE, or drop ${flag}` });
      }
      const conditions = {
        workflow: options.workflow as WorkflowClass,
        ...(options.sensitivity === undefined ? {} : { sensitivity: options.sensitivity as SensitivityLevel }),
        ...(options.trustTier === undefined ? {} : { trustTier: options.trustTier }),
        ...(session === undefined ? {} : { session }),
      };
      let asked: RouteAsked;
      let promptWarning: string | undefined = undefined;
      if (options.request === undefined) {
        const promptOnStdin = prompt === undefined || prompt === '-';
        stdinAtMostOnce([[prompt === undefined ? 'the omitted prompt' : 'the prompt `-`', promptOnStdin], ...requestOptionStdinReaders(options)]);
        const text = promptOnStdin ? await readStdin('prompt') : prompt;
        if (text.trim() === '') throw new UsageError('the prompt is empty', { hint: 'pass the prompt as an argument or pipe it on stdin' });
        promptWarning = promptOnStdin ? undefined : promptNamesFileWarning(text, 'route');
        // The bound `run` puts on the whole request, refused as `run` refuses it: from the files' sizes, before they are read.
        if (session === undefined) refusePromptOverLimit(options.system, text, imageFileSizes(options));
        // `--provider id:model` as `run` takes it (a different `--model` beside it is refused).
        const { provider, model } = providerAndModel(options, command.getOptionValueSource('model') === 'cli');
        asked = { kind: 'prompt', text, parts: await promptRequestParts(options), model, ...(provider === undefined ? {} : { provider }) };
      } else {
        if (prompt !== undefined) throw new UsageError('give either a prompt or --request FILE, not both', { hint: "put the prompt in the request body's messages" });
        for (const { option, flag, carrier } of [...FLAGS_THE_BODY_DECIDES, ...REQUEST_OPTION_FLAGS]) {
          if (command.getOptionValueSource(option) === 'cli') throw new UsageError(`${flag} does not apply to --request: the body says it`, { hint: `set ${carrier} in the body` });
        }
        const { text: bodyText, file: source } = await readTextInput(options.request, '--request');
        // The operator wrote it: its JSON syntax errors are located by line and column (the gateway's faces only say a body is not JSON).
        const [{ parseJsonText }, { decodeGatewayRequest }] = await Promise.all([import('../../validation/json-source.js'), import('../../wire/request-family.js')]);
        parseJsonText(bodyText, source);
        // Decoded before the store is opened: a body the gateway would refuse routes nowhere.
        const { request } = decodeGatewayRequest(bodyText, source, {
          ...(options.format === undefined ? {} : { family: options.format as RequestFamily }),
          ...(options.anthropicBeta === undefined ? {} : { anthropicBeta: options.anthropicBeta }),
        });
        asked = { kind: 'request', request };
      }

      const context = contextFor(command);
      const [{ loadPolicy }, { explainRoute, explainRequestRoute, keylessRouteError, routeErrorDetails, unavailableRouteError }] = await Promise.all([
        import('../../policy/load.js'),
        import('../../invoke/explain-route.js'),
      ]);
      const policy = loadPolicy(context.home.policyPath);
      const store = await context.store({ existing: true });
      const { output } = context;
      if (promptWarning !== undefined) output.warn(promptWarning);
      // Where a refusal's reader sees why each provider was excluded: this command's own output.
      const whereEveryRule = output.json
        ? '`details.plan.excluded` says why each provider was excluded'
        : options.explain === true
          ? 'see the exclusions above'
          : 'run it again with `--explain` to see why each provider was excluded';
      try {
        const routed =
          asked.kind === 'request'
            ? await explainRequestRoute(store, policy, asked.request, conditions, { modelNaming: GATEWAY_MODEL_NAMING, promptEstimate: 'bounded', whereEveryRule })
            : await explainRoute(
                store,
                policy,
                { ...conditions, ...(await promptQuestion(store, policy, session, options, asked)), text: asked.text, images: imageParts(asked.parts.images), settings: asked.parts.settings },
                // The human output never shows the prompt's token count, only a plan it cannot change when
                // `bounded` uses the byte bound (see `RouteRequestOptions.promptEstimate`): the tokenizer
                // (~0.3 s of CPU to load) is then not loaded. `--json` prints the count (`estimatedPromptTokens`).
                { modelNaming: CLI_MODEL_NAMING, whereEveryRule, ...(output.json ? {} : { promptEstimate: 'bounded' as const }) },
              );
        const { plan, classification, skipped } = routed;
        if (plan.candidates.length === 0) {
          if (!output.json) printPlan(output, routed, options.explain === true);
          const unavailable = unavailableRouteError(routed);
          if (unavailable !== undefined) throw unavailable;
          // Refused as `run` refuses it, with its code (`route_denied`, the gateway's 403; or a
          // request field every model it may use refuses — too long, a forced tool, thinking off:
          // the gateway's 400 — with the field at fault) and hint (another model to name, a model
          // to tag, a class the policy allows), ending with where this output shows every rule.
          // The details are the routed result's (`run`'s own name the level, findings and
          // exclusions, which the classification and plan here already hold).
          const refusal = routed.refusal();
          const [{ PolicyRefusalError }, { routeDeniedSentence }] = await Promise.all([import('../../errors.js'), import('../../invoke/route-refusal.js')]);
          const details = routeErrorDetails(routed);
          // Nothing registered (`no_providers`, exit 2), or a model of the other kind named (`model_kind`, exit 2): no policy refused it.
          if (!(refusal instanceof PolicyRefusalError)) throw refusal.withDetails(details);
          const param = refusal.details?.['param'];
          // The policy's own refusal is said shortly: the plan (`--explain`, `details.plan`) lists every model left out.
          const message = refusal.code === 'route_denied' ? routeDeniedSentence(plan.sensitivity) : refusal.message;
          throw new PolicyRefusalError(refusal.code, message, {
            ...(refusal.hint === undefined ? {} : { hint: refusal.hint }),
            details: { ...details, ...(param === undefined ? {} : { param }) },
          });
        }
        // Every candidate skipped for its unset key: `run` would fail so (exit 5), and so does `route`, after the plan.
        const keyless = keylessRouteError(routed);
        if (keyless !== undefined) {
          if (!output.json) printPlan(output, routed, options.explain === true);
          throw keyless;
        }
        output.result({ classification, estimatedPromptTokens: routed.estimatedPromptTokens, plan, skipped, holds: routed.holds }, () =>
          printPlan(output, routed, options.explain === true),
        );
      } finally {
        context.close();
      }
    });
}

/**
 * What `run` would send besides the prompt, refused as `run` refuses it. In a stored session, the
 * turn it would make: the session's model, system prompt and conversation, classified and counted
 * with the prompt, after the checks `run --session` makes in its order (`sessionRouteQuestion`).
 * Otherwise the options' model and system prompt, the whole request within the input limit once
 * the images are read (`--image -`'s size is known only now).
 */
async function promptQuestion(
  store: Store,
  policy: Policy,
  session: string | undefined,
  options: RouteOptions,
  asked: { text: string; parts: PromptRequestParts; model: string; provider?: string },
): Promise<Pick<RouteQuestion, 'history' | 'model' | 'system' | 'provider' | 'sensitivity'>> {
  const { findSession } = await import('../../sessions/sessions.js');
  const prompt = { text: asked.text, images: sizedImages(asked.parts.images) };
  const storedSession = session === undefined ? undefined : findSession(store, session);
  if (storedSession === undefined) {
    refusePromptOverLimit(options.system, prompt.text, prompt.images);
    return { model: asked.model, ...(asked.provider === undefined ? {} : { provider: asked.provider }), ...(options.system === undefined ? {} : { system: options.system }) };
  }
  const { sessionRouteQuestion } = await import('../../sessions/converse.js');
  return sessionRouteQuestion(store, storedSession, policy, {
    prompt,
    overrides: {
      ...(options.provider === undefined ? {} : { provider: options.provider }),
      model: options.model,
      ...(options.system === undefined ? {} : { system: options.system }),
      tools: asked.parts.settings.tools !== undefined,
    },
    ...(options.sensitivity === undefined ? {} : { sensitivity: options.sensitivity as SensitivityLevel }),
  });
}

function printPlan(output: ReturnType<typeof contextFor>['output'], routed: RouteExplanation, explain: boolean): void {
  const { plan, classification, skipped } = routed;
  const detectors = [...new Set(classification.findings.map((finding) => finding.detector))];
  output.line(
    `sensitivity: ${plan.sensitivity}${detectors.length === 0 ? '' : ` (${detectors.join(', ')})`}${classification.failedClosed ? ' — classifier failed closed' : ''}`,
  );
  const printSkipped = (): void => {
    for (const entry of skipped) output.line(`#${entry.rank} ${entry.provider}:${entry.model}: ${entry.reason} (${keyExports([entry.missingKey])} to use it)`);
    if (skipped.length > 0 && skipped.length === plan.candidates.length) output.line('every candidate would be skipped: `run` would fail (exit 5)');
  };
  if (explain) {
    output.line(plan.explanation);
    printSkipped();
    printHeldBack(output, routed.holds);
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
