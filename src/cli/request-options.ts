import { statSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { InvalidInputError, UsageError } from '../errors.js';
import { refuseRequestOverLimit } from '../invoke/request-size.js';
import { IMAGE_TYPES_TEXT, PROMPT_OPTION_CARRIERS, promptRequestParts as sharedPromptRequestParts, RUN_PROMPT_OPTION_NAMES, type GivenImage, type PromptRequestParts } from '../invoke/prompt-options.js';
import { INPUT_LIMIT_BYTES, INPUT_LIMIT_TEXT, readInputFile, STDIN_FILE_NAME } from '../validation/input-file.js';
import { TEMPERATURE_RANGE } from '../wire/canonical.js';
import { REASONING_EFFORTS, type ReasoningEffort } from '../wire/reasoning.js';
import { numberOption, positiveIntegerOption, readStdinBytes, readTextInput } from './input.js';

export type { PromptRequestParts };

/** The request options `run` sends and `route` explains, as commander parses them. */
export interface RequestOptionValues {
  system?: string;
  maxTokens?: string;
  temperature?: string;
  image?: string[];
  schema?: string;
  jsonMode?: boolean;
  reasoningEffort?: ReasoningEffort;
  tools?: string;
  toolChoice?: string;
}

/** The flags of `RequestOptionValues`, as the operator types them (for `route --request`, which the body decides). */
export const REQUEST_OPTION_FLAGS: ReadonlyArray<{ option: keyof RequestOptionValues; flag: string; carrier: string }> = (
  [
    ['system', '--system', PROMPT_OPTION_CARRIERS.system],
    ['maxTokens', '--max-tokens', PROMPT_OPTION_CARRIERS.maxTokens],
    ['temperature', '--temperature', PROMPT_OPTION_CARRIERS.temperature],
    ['image', '--image', PROMPT_OPTION_CARRIERS.images],
    ['schema', '--schema', PROMPT_OPTION_CARRIERS.schema],
    ['jsonMode', '--json-mode', PROMPT_OPTION_CARRIERS.jsonMode],
    ['reasoningEffort', '--reasoning-effort', PROMPT_OPTION_CARRIERS.reasoningEffort],
    ['tools', '--tools', PROMPT_OPTION_CARRIERS.tools],
    ['toolChoice', '--tool-choice', PROMPT_OPTION_CARRIERS.toolChoice],
  ] as const
).map(([option, flag, carrier]) => ({ option, flag, carrier }));

/** Adds the options of a request beyond its prompt (`run`, and `route` explaining what `run` would send). */
export function addRequestOptions(command: Command): Command {
  return command
    .option('--system <text>', 'system prompt')
    .option('--max-tokens <n>', 'maximum tokens to generate')
    .option('--temperature <t>', 'sampling temperature, from 0 to 2')
    .option('--image <file>', `send an image with the prompt (${IMAGE_TYPES_TEXT}, told by its bytes; \`-\`: stdin); repeat for more`, (file: string, files: string[] = []) => [...files, file])
    .option('--schema <file>', 'ask for an answer that follows this JSON Schema (structured output, named after the file; `-`: stdin)')
    .option('--json-mode', 'ask for a JSON object as the answer')
    .addOption(new Option('--reasoning-effort <level>', 'how hard a reasoning model thinks').choices([...REASONING_EFFORTS]))
    .option('--tools <file>', 'a JSON array of tool definitions the model may call (OpenAI or Anthropic form; `-`: stdin)')
    .option('--tool-choice <choice>', 'auto, none, required, or a tool name to force that tool (with --tools)');
}

/**
 * Reads the files the options name and checks them together, before anything is routed: a bad
 * number, an image that is missing or of another type and a tool choice without tools are usage
 * errors (exit 2); a schema or tools file that is not valid is an invalid input file (exit 3).
 */
export async function promptRequestParts(options: RequestOptionValues): Promise<PromptRequestParts> {
  const maxTokens = positiveIntegerOption(options.maxTokens, '--max-tokens');
  const temperature = numberOption(options.temperature, '--temperature', TEMPERATURE_RANGE);
  if (options.schema !== undefined && options.jsonMode === true) {
    throw new UsageError('--schema and --json-mode both ask for the form of the answer', { hint: 'give --schema FILE for an answer that follows the schema, or --json-mode for any JSON object' });
  }
  const { jsonSchemaFormatOf, toolDefinitionsOf } = await import('../wire/request-files.js');
  const images: GivenImage[] = [];
  for (const file of options.image ?? []) images.push(await givenImage(file));
  const schema = options.schema === undefined ? undefined : await readTextInput(options.schema, '--schema');
  const tools = options.tools === undefined ? undefined : await readTextInput(options.tools, '--tools');
  const responseFormat = schema !== undefined ? jsonSchemaFormatOf(schema.text, schema.file) : options.jsonMode === true ? ({ type: 'json_object' } as const) : undefined;
  return sharedPromptRequestParts(
    {
      images,
      ...(maxTokens === undefined ? {} : { maxTokens }),
      ...(temperature === undefined ? {} : { temperature }),
      ...(responseFormat === undefined ? {} : { responseFormat }),
      ...(options.reasoningEffort === undefined ? {} : { reasoningEffort: options.reasoningEffort }),
      ...(tools === undefined ? {} : { tools: { definitions: toolDefinitionsOf(tools.text, tools.file), source: tools.file } }),
      ...(options.toolChoice === undefined ? {} : { toolChoice: options.toolChoice }),
    },
    RUN_PROMPT_OPTION_NAMES,
  );
}

/** Where the request options read stdin (`--image -`, `--schema -`, `--tools -`), for `stdinAtMostOnce`. */
export function requestOptionStdinReaders(options: RequestOptionValues): Array<readonly [string, boolean]> {
  return [
    ...(options.image ?? []).map((file) => ['--image -', file === '-'] as const),
    ['--schema -', options.schema === '-'],
    ['--tools -', options.tools === '-'],
  ];
}

/**
 * The sizes of the `--image` files, as their files tell them before any is read (for the bound on
 * the whole request): `--image -` counts 0 here (it is measured once read), and so do a file that
 * cannot be stat'ed and one over the input limit on its own (each refused as it is read, exit 2).
 */
export function imageFileSizes(options: Pick<RequestOptionValues, 'image'>): Array<{ size: number }> {
  return (options.image ?? []).map((file) => {
    if (file === '-') return { size: 0 };
    try {
      const stats = statSync(file);
      return { size: stats.isFile() && stats.size <= INPUT_LIMIT_BYTES ? stats.size : 0 };
    } catch {
      return { size: 0 };
    }
  });
}

/**
 * The bound on the whole request of a prompt `run` sends without a stored session, and `route`
 * explains (`refuseRequestOverLimit`: exit 3, its hint naming the `--image` files): measured from the
 * files' sizes before they are read (`imageFileSizes`), and again once read (`--image -`'s size is
 * known only then). A stored session's turn is measured with its conversation (`sessionTurn`).
 */
export function refusePromptOverLimit(system: string | undefined, text: string, images: readonly { size: number }[]): void {
  refuseRequestOverLimit({ systemPrompt: system ?? null, prompt: { text, images } }, '--image files');
}

/**
 * One `--image` file's bytes (`-`: stdin's, as piped: `curl … | syndicate run "what is this?" --image -`);
 * its type is told from them later, as for a file. Exit 2 when it cannot be read: the image is part
 * of the command line, not an input file to validate.
 */
async function givenImage(file: string): Promise<GivenImage> {
  try {
    if (file === '-') {
      const bytes = await readStdinBytes('--image - reads the image from stdin, which is a terminal here', `pipe the image: --image - < screenshot.png, or name it: --image screenshot.png`);
      return { bytes, name: `--image ${STDIN_FILE_NAME}` };
    }
    return { bytes: readInputFile(file), name: `--image ${file}` };
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    const tooLarge = error.details?.['limitBytes'] !== undefined;
    throw new UsageError(`--image: ${error.message}`, {
      hint: tooLarge ? `name a ${IMAGE_TYPES_TEXT} file of at most ${INPUT_LIMIT_TEXT}` : `name a readable ${IMAGE_TYPES_TEXT} file`,
    });
  }
}
