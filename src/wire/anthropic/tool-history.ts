import { counted } from '../../common/counted.js';
import type { WireWarning } from '../canonical.js';
import type { AnthropicContentBlock, AnthropicImageBlock, AnthropicMessage, AnthropicTextBlock, AnthropicToolResultBlock } from './types.js';

/** The warning's `setting` when a request's tool history went as text. */
export const TOOL_HISTORY_AS_TEXT_SETTING = 'messages';

/**
 * The Messages API refuses `tool_use` and `tool_result` blocks in a request that declares no tools
 * (400 "Requests which include `tool_use` or `tool_result` blocks must define tools."), and clients
 * send exactly that once a tool turn is over: the history keeps its calls and results, the new
 * request no tools. Each block becomes text in its own turn — which tool was called with what input,
 * under which id, and what came back — so the model reads the same conversation and can still call
 * nothing. No tool is declared to make the blocks acceptable (LiteLLM's `modify_params` declares a
 * `dummy_tool`, which the model may then call). Changes `messages` in place; one warning says how many
 * calls and results went as text. Nothing changes when the history holds none.
 */
export function toolHistoryAsText(messages: AnthropicMessage[], warnings: WireWarning[]): void {
  const names = new Map<string, string>();
  let calls = 0;
  let results = 0;
  for (const message of messages) {
    if (!message.content.some((block) => block.type === 'tool_use' || block.type === 'tool_result')) continue;
    message.content = message.content.flatMap((block): AnthropicContentBlock[] => {
      if (block.type === 'tool_use') {
        calls += 1;
        names.set(block.id, block.name);
        return [{ type: 'text', text: `[tool call ${block.id}: ${block.name} with input ${JSON.stringify(block.input)}]` }];
      }
      if (block.type === 'tool_result') {
        results += 1;
        return resultAsText(block, names.get(block.tool_use_id));
      }
      return [block];
    });
  }
  if (calls + results === 0) return;
  warnings.push({
    setting: TOOL_HISTORY_AS_TEXT_SETTING,
    message: `the request declares no tools, and the anthropic wire refuses tool calls and results without them: the history's ${counted(calls, 'tool call')} and ${counted(results, 'tool result')} were sent as text in their turns`,
  });
}

/** A result's header (its call's id and tool, and whether it was an error) and its content, as text and images; a cache breakpoint on the result goes on its last block. */
function resultAsText(block: AnthropicToolResultBlock, name: string | undefined): Array<AnthropicTextBlock | AnthropicImageBlock> {
  const header = `[result of tool call ${block.tool_use_id}${name === undefined ? '' : ` (${name})`}${block.is_error === true ? ', an error' : ''}]`;
  const blocks: Array<AnthropicTextBlock | AnthropicImageBlock> =
    typeof block.content === 'string'
      ? [{ type: 'text', text: block.content === '' ? header : `${header}\n${block.content}` }]
      : [{ type: 'text', text: header }, ...block.content.map((part) => ({ ...part }))];
  if (block.cache_control !== undefined) {
    const last = blocks[blocks.length - 1];
    if (last !== undefined) last.cache_control = block.cache_control;
  }
  return blocks;
}

