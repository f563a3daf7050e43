/**
 * OpenAI's `custom` (freeform) tools, shared by the Chat Completions and Responses faces. A custom
 * tool takes raw text, not JSON; through the canonical model it is a function of one string
 * parameter, `input`, so any provider can serve it (engines and Anthropic know only functions),
 * and its calls come back to the client as custom calls carrying the raw text.
 */

import type { CanonicalRequest, FreeformFormat, ToolDefinition } from '../canonical.js';
import { isRecord } from '../json.js';
import type { RequestProblems } from '../request-reader.js';

/**
 * Where a custom tool's grammar sits: flat in the Responses API's `format` (`{type: "grammar",
 * syntax, definition}`), under `format.grammar` in Chat Completions (`{type: "grammar", grammar:
 * {syntax, definition}}`, openai-node's `ChatCompletionCustomTool.Custom.Grammar`).
 */
export type CustomToolGrammarShape = 'flat' | 'nested';

/**
 * A custom tool's `{name, description?, format?}` as a function of one string, `input`. Its grammar,
 * when it has one, goes into the description so the model knows the shape the text must take: no
 * engine behind the gateway can enforce an OpenAI grammar (Lark or regex). The declaration as the
 * client sent it is kept too, for OpenAI's own API, which takes the tool natively.
 */
export function readCustomTool(tool: Record<string, unknown>, pointer: string, problems: RequestProblems, grammarShape: CustomToolGrammarShape): ToolDefinition | undefined {
  const name = tool['name'];
  if (typeof name !== 'string' || name === '') {
    problems.add(`${pointer}/name`, 'is required');
    return undefined;
  }
  const description = tool['description'];
  if (description !== undefined && typeof description !== 'string') problems.add(`${pointer}/description`, 'must be a string');
  const format = tool['format'];
  let formatNote = '';
  let declaredFormat: FreeformFormat | undefined;
  const grammarForm = grammarShape === 'flat' ? '{type: "grammar", syntax, definition}' : '{type: "grammar", grammar: {syntax, definition}}';
  if (isRecord(format) && format['type'] === 'grammar') {
    const grammar = grammarShape === 'flat' ? format : isRecord(format['grammar']) ? format['grammar'] : {};
    const syntax = typeof grammar['syntax'] === 'string' ? grammar['syntax'] : 'grammar';
    const definition = grammar['definition'];
    if (typeof definition === 'string') {
      formatNote = `\n\nThe input must match this ${syntax} grammar:\n${definition}`;
      declaredFormat = { type: 'grammar', ...(typeof grammar['syntax'] === 'string' ? { syntax: grammar['syntax'] } : {}), definition };
    } else problems.add(`${pointer}/format`, `has no grammar definition: must be ${grammarForm}`, 'send the grammar\'s text as its `definition`, or `{type: "text"}` for unconstrained text');
  } else if (isRecord(format) && format['type'] === 'text') {
    declaredFormat = { type: 'text' };
  } else if (format !== undefined) {
    problems.add(`${pointer}/format`, `must be {type: "text"} or ${grammarForm}`);
  }
  return {
    name,
    description: `${typeof description === 'string' ? description : ''}${formatNote}`.trim() || `Freeform tool ${name}`,
    inputSchema: {
      type: 'object',
      properties: { input: { type: 'string', description: 'The raw input text, exactly as the tool reads it (not JSON-encoded within the string).' } },
      required: ['input'],
      additionalProperties: false,
    },
    freeform: true,
    freeformDeclaration: {
      ...(typeof description === 'string' ? { description } : {}),
      ...(declaredFormat === undefined ? {} : { format: declaredFormat }),
    },
  };
}

/** A freeform call's raw `input` travels to engines as the JSON arguments `{"input": …}`. */
export function customCallArguments(input: string): string {
  return JSON.stringify({ input });
}

/**
 * The raw text of a freeform call from the arguments an engine produced: the `input` string it
 * was asked for, a bare JSON string, or — when the model ignored the schema — its text as is.
 */
export function freeformInput(argumentsText: string): string {
  if (argumentsText === '') return '';
  try {
    const parsed: unknown = JSON.parse(argumentsText);
    if (isRecord(parsed) && typeof parsed['input'] === 'string') return parsed['input'];
    if (isRecord(parsed) && Object.keys(parsed).length === 0) return '';
    if (typeof parsed === 'string') return parsed;
  } catch {
    // Not JSON: the model wrote the raw text itself.
  }
  return argumentsText;
}

/** The request's `custom` (freeform) tools, whose calls are answered as custom calls. */
export function freeformToolNames(request: CanonicalRequest): ReadonlySet<string> {
  return new Set((request.tools ?? []).filter((tool) => tool.freeform === true).map((tool) => tool.name));
}
