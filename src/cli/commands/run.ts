import { counted } from '../output.js';
import { Command, Option } from 'commander';
import { SENSITIVITY_LEVELS, WORKFLOW_CLASSES, type SensitivityLevel, type WorkflowClass } from '../../common/vocabulary.js';
import { UsageError } from '../../errors.js';
import { CLI_MODEL_NAMING } from '../../invoke/model-naming.js';
import { imageParts } from '../../invoke/prompt-options.js';
import type { AttemptStarted, InvocationResult } from '../../invoke/types.js';
import { promptMessage, type CanonicalRequest, type StreamPart } from '../../wire/canonical.js';
import { contextFor } from '../context.js';
import { promptNamesFileWarning, providerAndModel, readStdin, refuseEmptyModelChoice, sessionOption, stdinAtMostOnce } from '../input.js';
import { cancellable, cancelRecording, printingAnswer } from '../interrupt.js';
import { addRequestOptions, imageFileSizes, promptRequestParts, refusePromptOverLimit, requestOptionStdinReaders, type RequestOptionValues } from '../request-options.js';

interface RunOptions extends RequestOptionValues {
  showReasoning?: boolean;
  provider?: string;
  model?: string;
  permit?: string;
  stream?: boolean;
  workflow?: WorkflowClass;
  sensitivity?: SensitivityLevel;
  session?: string;
  timeout?: string;
}

const RUN_TIMEOUT_OPTION = 'syndicate run --timeout';

export function runCommand(): Command {
  const command = new Command('run')
    .description('one governed invocation: classify, route, permit, invoke, record evidence; the answer goes to stdout; `-` reads the prompt or one input file from stdin')
    .argument('[prompt]', 'the prompt; `-` or omitted reads stdin')
    .option('--provider <id[:model]>', 'use only this provider (and model); every policy rule still applies')
    .option('--model <model>', 'model id, alias, `provider:model` or `auto` (default)');
  return addRequestOptions(command)
    .option('--permit <token>', 'use a permit issued earlier by `syndicate permit issue` instead of issuing one')
    .option('--show-reasoning', "print the model's reasoning to stderr when its engine sends it apart from the answer (thinking models)")
    .option('--stream', 'print tokens as they arrive (default on a TTY)')
    .option('--no-stream', 'wait for the whole answer')
    .addOption(new Option('--workflow <class>', 'workflow class for routing').choices([...WORKFLOW_CLASSES]))
    .addOption(new Option('--sensitivity <level>', 'raise the sensitivity (a hint never lowers it)').choices([...SENSITIVITY_LEVELS]))
    .option('--session <id>', 'continue a stored session (`session start`): its conversation and model; any other id is only recorded with the evidence')
    .option('--timeout <duration>', 'give up after this long, e.g. 90s or 5m; a bare number is seconds (default 10m; from 1ms to 24d)')
    .addHelpText(
      'after',
      `
Examples:
  $ syndicate run "Summarise RFC 9110 in one line" --provider ollama
  $ echo "explain this stack trace" | syndicate run - --workflow batch --json
  $ TOKEN=$(syndicate permit issue --provider ollama --model llama3.2:1b) && syndicate run "hi" --permit "$TOKEN"
  $ syndicate run "What is in this screenshot?" --image screen.png
  $ syndicate run "Extract the invoice fields" --schema invoice.schema.json --json
  $ syndicate run "Weather in Paris?" --tools tools.json --tool-choice required`,
    )
    .action(async (prompt: string | undefined, options: RunOptions, command: Command) => {
      const context = contextFor(command);
      const { output } = context;
      const sessionId = sessionOption(options.session);
      refuseEmptyModelChoice(options);
      const promptOnStdin = prompt === undefined || prompt === '-';
      stdinAtMostOnce([[prompt === undefined ? 'the omitted prompt' : 'the prompt `-`', promptOnStdin], ...requestOptionStdinReaders(options)]);
      const text = promptOnStdin ? await readStdin('prompt') : prompt;
      if (text.trim() === '') throw new UsageError('the prompt is empty', { hint: 'pass the prompt as an argument or on stdin' });
      const namesFile = promptOnStdin ? undefined : promptNamesFileWarning(text, 'run');
      if (namesFile !== undefined) output.warn(namesFile);
      const { parseTimeout } = await import('../../common/duration.js');
      const totalMs = options.timeout === undefined ? undefined : parseTimeout(options.timeout, '--timeout');
      const stream = options.stream ?? (process.stdout.isTTY === true && !output.json);
      const { provider: providerId, model } = providerAndModel(options, command.getOptionValueSource('model') === 'cli');
      const { sizedImages } = await import('../../invoke/request-size.js');
      // The whole request within the input limit (a session's turn is measured with its conversation): from the files' sizes, before they are read.
      if (sessionId === undefined) refusePromptOverLimit(options.system, text, imageFileSizes(options));
      const { images, settings } = await promptRequestParts(options);
      const requestSettings: Omit<CanonicalRequest, 'model' | 'system' | 'messages'> = { ...settings, stream };
      const request: CanonicalRequest = {
        model,
        ...(options.system === undefined ? {} : { system: options.system }),
        messages: [promptMessage(text, imageParts(images))],
        ...requestSettings,
      };
      const { invoke } = await import('../../invoke/pipeline.js');
      const { createPipelineContext } = await import('../../invoke/context.js');
      const store = await context.store({ existing: true }); // `run` needs init's key and policy too: never half-create a home
      // A stored session carries the conversation and decides the model; any other id is only recorded with the evidence.
      const storedSession = sessionId === undefined ? undefined : (await import('../../sessions/sessions.js')).findSession(store, sessionId);
      const sessions = storedSession === undefined ? undefined : await import('../../sessions/converse.js');
      // Measured again as read (`--image -`'s size is known only now), and for an id that is no stored session.
      if (storedSession === undefined) refusePromptOverLimit(options.system, text, sizedImages(images));
      if (sessions !== undefined && storedSession !== undefined) {
        sessions.refuseSessionOverrides(storedSession, {
          ...(options.provider === undefined ? {} : { provider: options.provider }),
          ...(options.model === undefined ? {} : { model: options.model }),
          ...(options.system === undefined ? {} : { system: options.system }),
          tools: settings.tools !== undefined,
        });
      }
      const pipeline = { ...createPipelineContext(context.home, store), onCancelRecording: cancelRecording };
      const spinner = stream ? undefined : await output.spinner('routing');
      let printingReasoning = false;
      const showReasoning = options.showReasoning === true && !output.json;
      const onPart = (part: StreamPart): void => {
        if (part.type === 'reasoning-delta' && showReasoning) {
          output.writeStderr(output.stderrColor.dim(output.modelText(part.text, 'stderr')));
          printingReasoning = true;
        }
        // A refusal (OpenAI's `refusal`) is what the model answered: printed as the answer is.
        if (part.type === 'text-delta' || part.type === 'refusal-delta') {
          if (printingReasoning) output.writeStderr('\n');
          printingReasoning = false;
          output.write(output.modelText(part.text));
        }
      };
      let result: InvocationResult;
      let sessionTurn: { id: string; turn: number | null; kept: boolean } | undefined;
      let sessionLabel: string | undefined;
      try {
        // Ctrl-C aborts the call through its signal: the pipeline records the attempt as cancelled by
        // the caller (with the first-token time and the bytes received so far) and throws InterruptedError (exit 130).
        result = await cancellable(async (signal) => {
          const common = {
            signal,
            caller: 'cli',
            timeoutOption: RUN_TIMEOUT_OPTION,
            modelNaming: CLI_MODEL_NAMING,
            ...(options.permit === undefined ? {} : { permitToken: options.permit }),
            ...(options.workflow === undefined ? {} : { workflow: options.workflow }),
            ...(options.sensitivity === undefined ? {} : { sensitivityHint: options.sensitivity }),
            ...(totalMs === undefined ? {} : { timeouts: { totalMs } }),
            onAttempt: (attempt: AttemptStarted) => spinner?.update(`asking ${attempt.provider.id}@v${attempt.provider.version} (${attempt.model})`),
            // Only a caller that prints parts as they come takes them: with --json the answer is printed
            // at the end, so a stream that breaks mid-answer can still fall back (nothing reached stdout).
            // Nothing more is printed once Ctrl-C has cancelled the call (the entry point ended the line).
            ...(stream && !output.json ? { onPart: (part: StreamPart) => (signal.aborted ? undefined : onPart(part)) } : {}),
          };
          if (sessions !== undefined && storedSession !== undefined) {
            const answered = await sessions.invokeInSession(pipeline, { ...common, sessionId: storedSession.id, prompt: text, images, settings: requestSettings });
            sessionTurn = sessions.sessionTurnSummary(answered);
            sessionLabel = answered.session.name ?? answered.session.id;
            return answered.result;
          }
          return invoke(pipeline, {
            ...common,
            request,
            ...(providerId === undefined ? {} : { provider: providerId }),
            ...(sessionId === undefined ? {} : { sessionId }),
          });
        }, { timeoutOption: RUN_TIMEOUT_OPTION, shorterOutputOption: '--max-tokens' });
      } catch (error) {
        spinner?.stop();
        // The partial answer (and reasoning) ends its line: the error starts on its own.
        output.endOpenLines();
        throw error;
      }
      spinner?.stop();
      const { response } = result;
      const kept = output.forHome(`the call completed and its evidence ${result.evidenceId} keeps the whole answer: \`syndicate evidence show ${result.evidenceId}\``);
      printingAnswer({ message: 'stdout was closed (its reader went away) before the answer was all written', hint: `${kept}; read the whole output`, kept });
      if (output.json) {
        const { invocationSummary } = await import('../../invoke/summary.js');
        output.document({ ...invocationSummary(result), ...(sessionTurn === undefined ? {} : { session: sessionTurn }) });
        return;
      }
      if (!stream && showReasoning && response.reasoning !== undefined) output.info(output.stderrColor.dim(output.modelText(response.reasoning, 'stderr')));
      if (printingReasoning) output.writeStderr('\n');
      // The answer as it was streamed: its text, then the model's refusal when it refused.
      const answer = response.text + (response.refusal ?? '');
      if (!stream) output.write(output.modelText(answer));
      if (answer !== '' && !answer.endsWith('\n')) output.write('\n');
      for (const call of response.toolCalls) output.write(`tool call ${output.modelText(`${call.name} ${compactArguments(call.arguments)}`)}\n`);
      if (answer === '' && response.toolCalls.length === 0) output.write('\n');
      const { contentStopSentence, printedWarnings } = await import('../../invoke/summary.js');
      if (response.refusal !== undefined) output.warn('the model refused to answer: its refusal is the answer printed');
      // Anthropic's `refusal` stop (its classifiers cut the answer; no refusal message comes with it), a content filter's stop (OpenAI `content_filter`, Zhipu GLM `sensitive`).
      else if (response.finishReason === 'content_filter') {
        // In a session the cut turn is not kept (`keptInSession`): the provider would refuse every later turn that carried it.
        const notKept = sessionTurn?.kept === false ? `; the turn is not kept in session ${sessionLabel}: rephrase the prompt` : '';
        output.warn(`${contentStopSentence(response)}: what is printed is what the model wrote before${notKept}`);
      }
      for (const warning of printedWarnings(result)) output.warn(`${warning.setting}: ${warning.message}`);
      const tokens =
        result.usage === undefined
          ? 'tokens n/a'
          : `${result.usage.inputTokens}+${result.usage.outputTokens} tokens (${result.fidelity.tokenAccounting})`;
      const latency = `${result.latency.firstTokenMs === undefined ? '' : `first token ${Math.round(result.latency.firstTokenMs)} ms, `}total ${Math.round(result.latency.totalMs)} ms`;
      const hops = result.attempts.length > 1 ? `, after ${counted(result.attempts.length - 1, 'fallback hop')}` : '';
      output.info(
        output.stderrColor.dim(
          `${result.provider.id}@v${result.provider.version} ${result.model} · ${result.classification.level} · ${tokens} · ${latency}${hops} · evidence ${result.evidenceId}${sessionTurn === undefined ? '' : ` · session ${sessionTurn.id} ${sessionTurn.turn === null ? 'turn not kept' : `turn ${sessionTurn.turn}`}`}`,
        ),
      );
    });
}

/** A tool call's arguments on one line: its JSON compacted, or the text as it came when it is not JSON. */
function compactArguments(argumentsText: string): string {
  try {
    return JSON.stringify(JSON.parse(argumentsText));
  } catch {
    return argumentsText.replace(/\s*\n\s*/g, ' ');
  }
}
