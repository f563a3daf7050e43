import { UsageError } from '../errors.js';
import type { ImagePart, RequestSettings, ResponseFormat, ToolChoice, ToolDefinition } from '../wire/canonical.js';
import type { ReasoningEffort } from '../wire/reasoning.js';

/** The image types `run --image` and MCP `images` take, as their messages name them. */
export const IMAGE_TYPES_TEXT = 'PNG, JPEG, GIF or WebP';

/** What a prompt is sent with beyond its text: the settings of its request (`run`, `route`, MCP `complete` and `route_explain`). */
export type PromptSettings = Pick<RequestSettings, 'maxTokens' | 'temperature' | 'responseFormat' | 'reasoningEffort' | 'tools' | 'toolChoice'>;

/** What the options put in the canonical request: images sent with the prompt (before it), and settings. */
export interface PromptRequestParts {
  images: PromptImage[];
  settings: PromptSettings;
}

/**
 * An image sent with a prompt: the inline part its request carries, and the bytes the part was
 * made of, which a stored session hashes and keeps as they are (not decoded back from the part).
 */
export interface PromptImage {
  part: ImagePart & { mediaType: string; data: string };
  bytes: Uint8Array;
}

/** The parts of these images, as a request carries them. */
export function imageParts(images: readonly PromptImage[]): ImagePart[] {
  return images.map((image) => image.part);
}

/** An image as the caller gave it: its bytes, how the caller's messages name it, and the type it said it has (MCP's `mimeType`). */
export interface GivenImage {
  bytes: Uint8Array;
  name: string;
  declaredType?: string;
}

/** The options of a prompt, read (files) and parsed (JSON) but not yet checked together. */
export interface GivenPromptOptions {
  images?: readonly GivenImage[];
  maxTokens?: number;
  temperature?: number;
  responseFormat?: ResponseFormat;
  reasoningEffort?: ReasoningEffort;
  /** The tool definitions and where they came from (a file, or the MCP argument), for the messages. */
  tools?: { definitions: ToolDefinition[]; source: string };
  toolChoice?: string;
}

/** How a surface names the options in its messages: `run`'s and `route`'s flags, or the MCP tools' arguments. */
export interface PromptOptionNames {
  /** The tools option, as a hint asks for it (`--tools FILE`, `` `tools` ``). */
  tools: string;
  toolChoice: string;
  /** What an image's type is not told by (`its name`, `its mimeType`), and how to give another. */
  imageNamedBy: string;
  otherImage: string;
}

/**
 * Where a gateway request body carries what each prompt option sets: `route --request` and MCP
 * `route_explain` with a `request` refuse the option beside a body, naming the field to set instead.
 */
export const PROMPT_OPTION_CARRIERS = {
  system: 'its system prompt (a `system` message, or Anthropic `system`)',
  maxTokens: 'its `max_tokens`',
  temperature: 'its `temperature`',
  images: 'image parts in its messages',
  schema: 'its `response_format` (OpenAI) or `output_config.format` (Anthropic)',
  jsonMode: 'its `response_format`',
  reasoningEffort: 'its `reasoning_effort` (OpenAI) or `thinking` (Anthropic)',
  tools: 'its `tools`',
  toolChoice: 'its `tool_choice`',
} as const;

export const RUN_PROMPT_OPTION_NAMES: PromptOptionNames = { tools: '--tools FILE', toolChoice: '--tool-choice', imageNamedBy: 'its name', otherImage: 'or name another file' };

/**
 * Checks the options of a prompt together, before anything is routed, and turns them into the
 * request's parts: an image that is none of the inline types (told by its first bytes, the same
 * reader for every surface) or that is not the type it says it is, and a tool choice without tools
 * or naming none of them, are usage errors (exit 2) naming the option as the caller gave it.
 */
export async function promptRequestParts(given: GivenPromptOptions, names: PromptOptionNames): Promise<PromptRequestParts> {
  if (given.toolChoice !== undefined && given.tools === undefined) {
    throw new UsageError(`${names.toolChoice} applies to ${bareName(names.tools)} only`, { hint: `add ${names.tools}, or drop ${names.toolChoice}` });
  }
  // Loaded when asked for: the tool readers behind it are the gateway faces' parsers, which a CLI command without these options never needs.
  const { inlineImagePart, toolChoiceOf } = await import('../wire/request-files.js');
  const images = (given.images ?? []).map((image) => {
    const part = inlineImagePart(image.bytes);
    if (part === undefined) {
      throw new UsageError(`${image.name} is not a ${IMAGE_TYPES_TEXT} image (told by its first bytes, not ${names.imageNamedBy})`, { hint: `convert it to ${IMAGE_TYPES_TEXT}, ${names.otherImage}` });
    }
    if (image.declaredType !== undefined && image.declaredType.toLowerCase() !== part.mediaType) {
      throw new UsageError(`${image.name} says it is ${image.declaredType} and its bytes are ${part.mediaType}`, { hint: `give the type its bytes have (${part.mediaType}), or send the image it was meant to be` });
    }
    return { part, bytes: image.bytes };
  });
  let toolChoice: ToolChoice | undefined;
  if (given.toolChoice !== undefined && given.tools !== undefined) {
    const { definitions, source } = given.tools;
    toolChoice = toolChoiceOf(given.toolChoice, definitions);
    if (toolChoice === undefined) {
      throw new UsageError(`${names.toolChoice} ${given.toolChoice} names no tool of ${source}`, {
        hint: `use auto, none, required or one of: ${definitions.map((tool) => tool.name).join(', ')}`,
      });
    }
  }
  return {
    images,
    settings: {
      ...(given.maxTokens === undefined ? {} : { maxTokens: given.maxTokens }),
      ...(given.temperature === undefined ? {} : { temperature: given.temperature }),
      ...(given.responseFormat === undefined ? {} : { responseFormat: given.responseFormat }),
      ...(given.reasoningEffort === undefined ? {} : { reasoningEffort: { effort: given.reasoningEffort, field: 'reasoning_effort' as const } }),
      ...(given.tools === undefined ? {} : { tools: given.tools.definitions }),
      ...(toolChoice === undefined ? {} : { toolChoice }),
    },
  };
}

/** `--tools FILE` as the option alone: `--tools`. */
function bareName(option: string): string {
  return option.split(' ')[0] ?? option;
}
