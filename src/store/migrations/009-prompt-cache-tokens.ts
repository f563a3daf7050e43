import type { Migration } from './index.js';

/**
 * Prompt-cache figures per envelope: input tokens read from the provider's or engine's prompt
 * cache, and input tokens written to it (Anthropic's cache writes, five-minute and one-hour
 * together). Both are counted in `input_tokens` as well. Appended to the hashed columns
 * (src/evidence/chain.ts): rows written before this migration hold null there and hash as they did.
 */
export const promptCacheTokensMigration: Migration = {
  version: 9,
  name: 'prompt-cache-tokens',
  sql: `
ALTER TABLE evidence ADD COLUMN cached_input_tokens INTEGER;
ALTER TABLE evidence ADD COLUMN cache_write_input_tokens INTEGER;
`,
};
