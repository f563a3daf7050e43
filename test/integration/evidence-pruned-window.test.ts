/**
 * A window that reaches back past what `evidence prune` deleted: `evidence list`, `evidence export`
 * and `metrics` read only the rows kept, so an empty answer there ("no evidence rows match", 0
 * hosted) would read as "nothing happened" to an auditor. Each says on stderr that the rows created
 * before the prune's cut-off were deleted; a window that begins after the cut-off says nothing.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { connectMcpClient, toolText } from '../helpers/mcp.js';
import { Scenario } from '../helpers/scenario.js';

describe('a window reaching into pruned evidence', () => {
  let scenario: Scenario;
  let local: FakeEngine;
  let cutOff: string;
  /** The head after the first of the two requests the prune deleted. */
  let firstHead: { seq: number; hash: string };

  beforeAll(async () => {
    local = await startFakeEngine({ kind: 'ollama', conforming: true });
    scenario = await Scenario.create();
    await scenario.register({ id: 'local', engine: local });
    const answered = await scenario.cli(['run', 'my password is hunter2, why does login fail?']);
    expect(answered.exitCode, answered.stderr).toBe(0);
    const first = await scenario.json(['evidence', 'verify']);
    firstHead = first.document.head as { seq: number; hash: string };
    const again = await scenario.cli(['run', 'Name the capital of France.']);
    expect(again.exitCode, again.stderr).toBe(0);
    const pruned = await scenario.json(['evidence', 'prune', '--older-than', '1ms']);
    expect(pruned.result.exitCode, pruned.result.stderr).toBe(0);
    const verified = await scenario.json(['evidence', 'verify']);
    const prunes = verified.document.prunes as { olderThan: string; envelopes: number }[];
    expect(prunes).toHaveLength(1);
    cutOff = (prunes[0] as { olderThan: string }).olderThan;
  }, 90_000);
  afterAll(async () => {
    scenario?.cleanup();
    await local?.close();
  });

  const warning = (): string => `evidence created before ${cutOff} was deleted by \`evidence prune\``;

  it('evidence list says the rows before the cut-off were deleted, with --json too', async () => {
    const listed = await scenario.cli(['evidence', 'list', '--since', '1d', '--sensitivity', 'restricted']);
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('no evidence rows match');
    expect(listed.stderr).toContain(warning());
    const json = await scenario.json(['evidence', 'list']);
    expect(json.result.stderr).toContain(warning());
  });

  it('metrics and evidence export say so too', async () => {
    const metrics = await scenario.cli(['metrics', '--since', '1d']);
    expect(metrics.exitCode, metrics.stderr).toBe(0);
    expect(metrics.stderr).toContain(warning());
    const exported = await scenario.cli(['evidence', 'export', '--since', '1d', '--output', join(scenario.home, 'e.jsonl')]);
    expect(exported.exitCode, exported.stderr).toBe(0);
    expect(exported.stderr).toContain(warning());
  });

  it('a window that begins at or after the cut-off says nothing of it', async () => {
    const listed = await scenario.cli(['evidence', 'list', '--since', cutOff]);
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect(listed.stderr).not.toContain('prune');
    const metrics = await scenario.cli(['metrics', '--since', cutOff]);
    expect(metrics.stderr).not.toContain('prune');
  });

  it('an export --from a head inside the deleted part is refused, naming the prune', async () => {
    const { result, document } = await scenario.json(['evidence', 'export', '--sensitivity', 'restricted', '--from', `${firstHead.seq}:${firstHead.hash}`, '--output', join(scenario.home, 'f.jsonl')]);
    expect(result.exitCode).toBe(1);
    expect(document.error).toMatchObject({ code: 'check_failed', message: expect.stringContaining(`row #${firstHead.seq} was deleted by \`evidence prune\``) });
  });

  it("the MCP server's metrics tool says so in its text", async () => {
    const client = await connectMcpClient(scenario.home);
    try {
      const result = await client.callTool({ name: 'metrics', arguments: { since: '1d' } });
      expect(result.isError).not.toBe(true);
      expect(toolText(result as Parameters<typeof toolText>[0])).toContain(warning());
      const after = await client.callTool({ name: 'metrics', arguments: { since: '1ms' } });
      expect(toolText(after as Parameters<typeof toolText>[0])).not.toContain('prune');
    } finally {
      await client.close();
    }
  }, 90_000);
});
