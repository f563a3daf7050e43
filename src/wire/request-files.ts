import { basename, extname } from 'node:path';
import { InvalidInputError } from '../errors.js';
import { STDIN_FILE_NAME } from '../validation/input-file.js';
import { parseJsonText } from '../validation/json-source.js';
import type { ImagePart, JsonObject, ResponseFormat, ToolChoice, ToolDefinition } from './canonical.js';
import { inlineImageTypeOf, type InlineImageType } from './inline-image.js';
import { isRecord } from './json.js';
import { readAnthropicTool } from './anthropic/server.js';
import { readFunctionTool } from './openai/server.js';
import { RequestProblems } from './request-reader.js';


/** An image file's bytes as an inline image part (base64, as a gateway client's `data:` URL decodes); undefined for another type. */
export function inlineImagePart(bytes: Uint8Array): (ImagePart & { mediaType: InlineImageType; data: string }) | undefined {
  const mediaType = inlineImageTypeOf(bytes);
  return mediaType === undefined ? undefined : { type: 'image', mediaType, data: Buffer.from(bytes).toString('base64') };
}

/**
 * A JSON Schema file as a `json_schema` answer format, named after the file (its name without the
 * extension, each character OpenAI does not take in a name, `^[a-zA-Z0-9_-]{1,64}$`, as `_`).
 */
export function jsonSchemaFormatOf(text: string, file: string): ResponseFormat {
  return jsonSchemaFormat(parseJsonText(text, file), schemaName(file), file);
}

/**
 * A JSON Schema value as a `json_schema` answer format called `name`; anything but an object is
 * an invalid input (exit 3) located in `source` (a file, or the MCP argument that gave it).
 */
export function jsonSchemaFormat(schema: unknown, name: string, source: string): ResponseFormat {
  if (!isRecord(schema)) {
    const message = 'must be a JSON Schema object';
    throw new InvalidInputError(`${source}: ${message}`, [{ file: source, pointer: '', message }], { hint: 'write the schema of the answer, e.g. {"type": "object", "properties": {...}}' });
  }
  return { type: 'json_schema', name, schema: schema as JsonObject };
}

function schemaName(file: string): string {
  if (file === STDIN_FILE_NAME) return 'answer';
  const name = basename(file, extname(file)).replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64);
  return name === '' ? 'answer' : name;
}

/**
 * A tools file: a JSON array of tool definitions, each in OpenAI chat completions form
 * (`{type: "function", function: {name, description?, parameters?}}`) or Anthropic form
 * (`{name, description?, input_schema}`), read as the gateway's faces read them. Every problem
 * names the file and the JSON pointer of the definition at fault (exit 3).
 */
export function toolDefinitionsOf(text: string, file: string): ToolDefinition[] {
  return toolDefinitionsFrom(parseJsonText(text, file), file);
}

/** `toolDefinitionsOf` for a value already parsed; its problems are located in `source` (a file, or the MCP argument that gave it). */
export function toolDefinitionsFrom(raw: unknown, source: string): ToolDefinition[] {
  const problems = new RequestProblems('tools');
  const tools: ToolDefinition[] = [];
  if (!Array.isArray(raw) || raw.length === 0) {
    problems.add('', 'must be a non-empty JSON array of tool definitions', TOOL_FORMS_HINT);
  } else {
    raw.forEach((tool, index) => {
      const pointer = `/${index}`;
      const definition =
        isRecord(tool) && (tool['type'] === 'function' || isRecord(tool['function']))
          ? readOpenAITool(tool, pointer, problems)
          : isRecord(tool) && ('input_schema' in tool || 'name' in tool)
            ? readAnthropicTool(tool, pointer, problems)
            : (problems.add(pointer, `must be ${OPENAI_TOOL_FORM} or ${ANTHROPIC_TOOL_FORM}`, TOOL_FORMS_HINT), undefined);
      if (definition === undefined) return;
      if (tools.some((known) => known.name === definition.name)) problems.add(`${pointer}/name`, `names the tool ${JSON.stringify(definition.name)} a second time`, 'give each tool its own name');
      else tools.push(definition);
    });
  }
  const first = problems.problems[0];
  if (first !== undefined) {
    const located = problems.problems.map((problem) => ({ ...problem, file: source }));
    const more = located.length > 1 ? ` (and ${located.length - 1} more problem${located.length === 2 ? '' : 's'})` : '';
    throw new InvalidInputError(`${source}: ${first.pointer === '' ? '' : `${first.pointer}: `}${first.message}${more}`, located, { hint: first.hint ?? TOOL_FORMS_HINT });
  }
  return tools;
}

const OPENAI_TOOL_FORM = '{"type": "function", "function": {"name", "description", "parameters"}}';
const ANTHROPIC_TOOL_FORM = '{"name", "description", "input_schema"}';
const TOOL_FORMS_HINT = `write each tool as ${OPENAI_TOOL_FORM} (OpenAI) or ${ANTHROPIC_TOOL_FORM} (Anthropic)`;

function readOpenAITool(tool: Record<string, unknown>, pointer: string, problems: RequestProblems): ToolDefinition | undefined {
  const fn = tool['function'];
  if (tool['type'] !== 'function' || !isRecord(fn)) {
    problems.add(pointer, `must be ${OPENAI_TOOL_FORM}`, TOOL_FORMS_HINT);
    return undefined;
  }
  return readFunctionTool(fn, `${pointer}/function`, problems);
}

/** `auto`, `none`, `required`, or the name of one of `tools` (that tool is forced); undefined for a name `tools` lacks. */
export function toolChoiceOf(value: string, tools: readonly ToolDefinition[]): ToolChoice | undefined {
  if (value === 'auto' || value === 'none' || value === 'required') return value;
  return tools.some((tool) => tool.name === value) ? { name: value } : undefined;
}
