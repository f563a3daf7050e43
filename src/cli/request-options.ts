import { Option, type Command } from 'commander';
import { InvalidInputError, UsageError } from '../errors.js';
import { readInputFile } from '../validation/input-file.js';
import type { ImagePart, RequestSettings, ToolChoice } from '../wire/canonical.js';
import { REASONING_EFFORTS, type ReasoningEffort } from '../wire/reasoning.js';
import { readTextFile } from './input.js';

/** The request options `run` sends and `route` explains, as commander parses them. */
export interface RequestOptionValues {
  image?: string[];
  schema?: string;
  jsonMode?: boolean;
  reasoningEffort?: ReasoningEffort;
  tools?: string;
  toolChoice?: string;
}

/** What those options put in the canonical request: image parts sent with the prompt (before it), and settings. */
export interface PromptRequestParts {
  images: ImagePart[];
  settings: Pick<RequestSettings, 'responseFormat' | 'reasoningEffort' | 'tools' | 'toolChoice'>;
}

/** The flags of `RequestOptionValues`, as the operator types them (for `route --request`, which the body decides). */
export const REQUEST_OPTION_FLAGS: ReadonlyArray<{ option: keyof RequestOptionValues; flag: string; carrier: string }> = [
  { option: 'image', flag: '--image', carrier: 'image parts in its messages' },
  { option: 'schema', flag: '--schema', carrier: 'its `response_format` (OpenAI) or `output_config.format` (Anthropic)' },
  { option: 'jsonMode', flag: '--json-mode', carrier: 'its `response_format`' },
  { option: 'reasoningEffort', flag: '--reasoning-effort', carrier: 'its `reasoning_effort` (OpenAI) or `thinking` (Anthropic)' },
  { option: 'tools', flag: '--tools', carrier: 'its `tools`' },
  { option: 'toolChoice', flag: '--tool-choice', carrier: 'its `tool_choice`' },
];

const IMAGE_TYPES_TEXT = 'PNG, JPEG, GIF or WebP';

/** Adds the options of a request beyond its prompt (`run`, and `route` explaining what `run` would do). */
export function addRequestOptions(command: Command): Command {
  return command
    .option('--image <file>', `send an image with the prompt (${IMAGE_TYPES_TEXT}, told by its bytes); repeat for more`, (file: string, files: string[] = []) => [...files, file])
    .option('--schema <file>', 'ask for an answer that follows this JSON Schema (structured output, named after the file)')
    .option('--json-mode', 'ask for a JSON object as the answer')
    .addOption(new Option('--reasoning-effort <level>', 'how hard a reasoning model thinks').choices([...REASONING_EFFORTS]))
    .option('--tools <file>', 'a JSON array of tool definitions the model may call (OpenAI or Anthropic form)')
    .option('--tool-choice <choice>', 'auto, none, required, or a tool name to force that tool (with --tools)');
}

/**
 * Reads the files the options name and checks them together, before anything is routed: an image
 * that is missing or of another type and a tool choice without tools are usage errors (exit 2); a
 * schema or tools file that is not valid is an invalid input file (exit 3).
 */
export async function promptRequestParts(options: RequestOptionValues): Promise<PromptRequestParts> {
  if (options.schema !== undefined && options.jsonMode === true) {
    throw new UsageError('--schema and --json-mode both ask for the form of the answer', { hint: 'give --schema FILE for an answer that follows the schema, or --json-mode for any JSON object' });
  }
  if (options.toolChoice !== undefined && options.tools === undefined) {
    throw new UsageError('--tool-choice applies to --tools only', { hint: 'add --tools FILE, or drop --tool-choice' });
  }
  const { inlineImagePart, jsonSchemaFormatOf, toolDefinitionsOf, toolChoiceOf } = await import('../wire/request-files.js');
  const images = (options.image ?? []).map((file) => {
    if (file === '-') throw new UsageError('--image - : an image is read from a file, not from stdin', { hint: `name the ${IMAGE_TYPES_TEXT} file, e.g. --image screenshot.png` });
    let bytes: Buffer;
    try {
      bytes = readInputFile(file);
    } catch (error) {
      // Exit 2 as for any bad argument: the image is part of the command line, not an input file to validate.
      if (!(error instanceof InvalidInputError)) throw error;
      throw new UsageError(`--image: ${error.message}`, { hint: `name a readable ${IMAGE_TYPES_TEXT} file` });
    }
    const part = inlineImagePart(bytes);
    if (part === undefined) {
      throw new UsageError(`--image ${file} is not a ${IMAGE_TYPES_TEXT} image (told by its first bytes, not its name)`, { hint: `convert it to ${IMAGE_TYPES_TEXT}, or name another file` });
    }
    return part;
  });
  const responseFormat = options.schema !== undefined ? jsonSchemaFormatOf(readTextFile(options.schema), options.schema) : options.jsonMode === true ? ({ type: 'json_object' } as const) : undefined;
  const tools = options.tools === undefined ? undefined : toolDefinitionsOf(readTextFile(options.tools), options.tools);
  let toolChoice: ToolChoice | undefined;
  if (options.toolChoice !== undefined && tools !== undefined) {
    toolChoice = toolChoiceOf(options.toolChoice, tools);
    if (toolChoice === undefined) {
      throw new UsageError(`--tool-choice ${options.toolChoice} names no tool of ${options.tools ?? ''}`, {
        hint: `use auto, none, required or one of: ${tools.map((tool) => tool.name).join(', ')}`,
      });
    }
  }
  return {
    images,
    settings: {
      ...(responseFormat === undefined ? {} : { responseFormat }),
      ...(options.reasoningEffort === undefined ? {} : { reasoningEffort: { effort: options.reasoningEffort, field: 'reasoning_effort' as const } }),
      ...(tools === undefined ? {} : { tools }),
      ...(toolChoice === undefined ? {} : { toolChoice }),
    },
  };
}
