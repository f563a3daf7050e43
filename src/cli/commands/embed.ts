import { counted } from '../output.js';
import { Command, Option } from 'commander';
import { SENSITIVITY_LEVELS, WORKFLOW_CLASSES, type SensitivityLevel, type WorkflowClass } from '../../common/vocabulary.js';
import { UsageError } from '../../errors.js';
import { CLI_MODEL_NAMING } from '../../invoke/model-naming.js';
import { providerChoice } from '../../invoke/provider-choice.js';
import type { AttemptStarted } from '../../invoke/types.js';
import { EMPTY_EMBEDDING_TEXT_HINT, isEmbeddableText, type CanonicalRequest } from '../../wire/canonical.js';
import { contextFor } from '../context.js';
import { positiveIntegerOption, readStdin, refuseEmptyModelChoice, sessionOption } from '../input.js';
import { cancellable, cancelRecording } from '../interrupt.js';

interface EmbedOptions {
  provider?: string;
  model?: string;
  dimensions?: string;
  workflow?: WorkflowClass;
  sensitivity?: SensitivityLevel;
  session?: string;
  timeout?: string;
}

const EMBED_TIMEOUT_OPTION = 'syndicate embed --timeout';

export function embedCommand(): Command {
  return new Command('embed')
    .description('one governed embeddings call: classify the texts, route to an embedding model, permit, invoke, record evidence; one vector per line on stdout')
    .argument('[text...]', 'the texts to embed, one vector each; `-` or none reads one text from stdin')
    .option('--provider <id[:model]>', 'use only this provider (and model); every policy rule still applies')
    .option('--model <model>', 'embedding model id, alias, `provider:model` or `auto` (default)')
    .option('--dimensions <n>', 'ask for vectors of this length (models trained for shortened vectors honour it)')
    .addOption(new Option('--workflow <class>', 'workflow class for routing').choices([...WORKFLOW_CLASSES]))
    .addOption(new Option('--sensitivity <level>', 'raise the sensitivity (a hint never lowers it)').choices([...SENSITIVITY_LEVELS]))
    .option('--session <id>', "record the call under this session id (a stored session's capability envelope bounds the route)")
    .option('--timeout <duration>', 'give up after this long, e.g. 90s or 5m; a bare number is seconds (default 10m; from 1ms to 24d)')
    .addHelpText(
      'after',
      `
Examples:
  $ syndicate embed "first document" "second document"
  $ cat notes.md | syndicate embed - --json
  $ syndicate embed "a query" --model ollama:nomic-embed-text:latest --dimensions 256`,
    )
    .action(async (texts: string[], options: EmbedOptions, command: Command) => {
      const context = contextFor(command);
      const { output } = context;
      const sessionId = sessionOption(options.session);
      refuseEmptyModelChoice(options);
      // `-` reads the one text from stdin; beside other texts it was embedded as the text "-" and stdin left unread.
      const dash = texts.indexOf('-');
      if (texts.length > 1 && dash !== -1) {
        throw new UsageError(`text ${dash + 1} is \`-\`, which reads stdin only as the one text: beside other texts it would be embedded as the text "-"`, {
          hint: 'pipe one text alone (`syndicate embed -`), or pass every text as an argument',
        });
      }
      const inputs = texts.length === 0 || dash === 0 ? [await readStdin('text')] : texts;
      const empty = inputs.findIndex((text) => !isEmbeddableText(text));
      if (empty !== -1) throw new UsageError(inputs.length === 1 ? 'the text is empty' : `text ${empty + 1} is empty`, { hint: `${EMPTY_EMBEDDING_TEXT_HINT}: pass the texts as arguments or one text on stdin` });
      const dimensions = positiveIntegerOption(options.dimensions, '--dimensions');
      const { parseTimeout } = await import('../../common/duration.js');
      const totalMs = options.timeout === undefined ? undefined : parseTimeout(options.timeout, '--timeout');
      const { provider: providerId, model: providerModel } = providerChoice(options.provider);
      const request: CanonicalRequest = {
        model: providerModel ?? options.model ?? 'auto',
        messages: [],
        stream: false,
        embedding: { input: { kind: 'texts', texts: inputs }, encodingFormat: 'float', ...(dimensions === undefined ? {} : { dimensions }) },
      };
      const { invoke } = await import('../../invoke/pipeline.js');
      const { createPipelineContext } = await import('../../invoke/context.js');
      const store = await context.store({ existing: true });
      const pipeline = { ...createPipelineContext(context.home, store), onCancelRecording: cancelRecording };
      const spinner = await output.spinner('routing');
      let result;
      try {
        result = await cancellable((signal) =>
          invoke(pipeline, {
            request,
            signal,
            caller: 'cli',
            timeoutOption: EMBED_TIMEOUT_OPTION,
            modelNaming: CLI_MODEL_NAMING,
            ...(providerId === undefined ? {} : { provider: providerId }),
            ...(sessionId === undefined ? {} : { sessionId }),
            ...(options.workflow === undefined ? {} : { workflow: options.workflow }),
            ...(options.sensitivity === undefined ? {} : { sensitivityHint: options.sensitivity }),
            ...(totalMs === undefined ? {} : { timeouts: { totalMs } }),
            onAttempt: (attempt: AttemptStarted) => spinner?.update(`asking ${attempt.provider.id}@v${attempt.provider.version} (${attempt.model})`),
          }),
          { timeoutOption: EMBED_TIMEOUT_OPTION },
        );
      } finally {
        spinner?.stop();
      }
      const embeddings = result.response.embeddings ?? [];
      if (output.json) {
        const { invocationSummary } = await import('../../invoke/summary.js');
        const { answer: _answer, reasoning: _reasoning, toolCalls: _toolCalls, finishReason: _finishReason, ...summary } = invocationSummary(result);
        output.document({ embeddings, ...summary });
        return;
      }
      for (const vector of embeddings) output.write(`${JSON.stringify(vector)}\n`);
      for (const warning of result.warnings) output.warn(`${warning.setting}: ${warning.message}`);
      const tokens = result.usage === undefined ? 'tokens n/a' : `${counted(result.usage.inputTokens, 'token')} (${result.fidelity.tokenAccounting})`;
      const hops = result.attempts.length > 1 ? `, after ${counted(result.attempts.length - 1, 'fallback hop')}` : '';
      output.info(
        output.stderrColor.dim(
          `${result.provider.id}@v${result.provider.version} ${result.model} · ${result.classification.level} · ${counted(embeddings.length, 'vector')} of ${embeddings[0]?.length ?? 0} · ${tokens} · total ${Math.round(result.latency.totalMs)} ms${hops} · evidence ${result.evidenceId}`,
        ),
      );
    });
}
