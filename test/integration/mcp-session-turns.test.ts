import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { mcpEngineScenario, toolText } from '../helpers/mcp.js';
import { defaultModel, inferenceExchanges } from '../helpers/scenario.js';

/**
 * One stored session used by two clients at once — an agent through `syndicate mcp` and the
 * operator's `run --session` — the stored conversation stays what each model was sent.
 */
describe('a stored session continued by two clients at once', () => {
  const setup = mcpEngineScenario('llama', { kind: 'llama.cpp', answer: 'one two three four five six seven eight nine ten' });

  it('a turn answered on a conversation another turn was added to meanwhile is not appended after it: the result says so, the answer stays in the evidence', { timeout: 90_000 }, async () => {
    const started = await setup.scenario.json(['session', 'start', '--name', 'shared', '--model', `llama:${defaultModel(setup.engine)}`]);
    expect(started.result.exitCode, started.result.stderr).toBe(0);
    const sessionId = (started.document.session as { id: string }).id;

    // The agent's turn streams slowly; it has read the (empty) conversation once its attempt starts.
    setup.engine.setFault({ slowStreamMs: 400 }, 1);
    let attemptStarted!: () => void;
    const asking = new Promise<void>((resolve) => (attemptStarted = resolve));
    const agentTurn = setup.client.callTool({ name: 'complete', arguments: { prompt: 'The agent asks first.', session: 'shared' } }, undefined, {
      onprogress: (progress) => {
        if (progress.message?.startsWith('asking ') === true) attemptStarted();
      },
    }) as Promise<CallToolResult>;
    await asking;

    // Meanwhile the operator's turn, on the same conversation, is answered and appended.
    const operatorTurn = await setup.scenario.cli(['run', 'The operator asks meanwhile.', '--session', 'shared']);
    expect(operatorTurn.exitCode, operatorTurn.stderr).toBe(0);

    const agent = await agentTurn;
    expect(agent.isError).toBe(true);
    expect(toolText(agent)).toContain(`session ${sessionId} changed meanwhile (another turn or a switch was added while this one was answered): the answer was not added to it (usage)`);
    const evidenceId = /syndicate evidence show (ev_\w+)/.exec(toolText(agent))?.[1];
    expect(evidenceId, toolText(agent)).toBeDefined();
    expect(await setup.scenario.evidence(evidenceId!)).toMatchObject({ state: 'completed', caller: 'mcp', sessionId });

    // The model that answered the agent was sent no operator turn: the stored conversation holds the operator's turn only.
    const agentRequest = inferenceExchanges(setup.engine).find((exchange) => exchange.requestBody.toString().includes('The agent asks first.'))!;
    expect(agentRequest.requestBody.toString()).not.toContain('The operator asks meanwhile.');
    const shown = await setup.scenario.json(['session', 'show', 'shared']);
    const messages = (shown.document.session as { messages: { turn: number; role: string; text: string }[] }).messages;
    expect(messages.map((message) => [message.turn, message.role])).toEqual([
      [1, 'user'],
      [1, 'assistant'],
    ]);
    expect(messages[0]!.text).toBe('The operator asks meanwhile.');

    // Asked again, the agent's turn continues the conversation as it now stands.
    const again = (await setup.client.callTool({ name: 'complete', arguments: { prompt: 'The agent asks again.', session: 'shared' } })) as CallToolResult;
    expect(again.isError, toolText(again)).toBeFalsy();
    expect(again.structuredContent).toMatchObject({ session: { id: sessionId, turn: 2 } });
    expect(inferenceExchanges(setup.engine).at(-1)!.requestBody.toString()).toContain('The operator asks meanwhile.');
    expect((await setup.scenario.cli(['evidence', 'verify'])).exitCode).toBe(0);
  });

  it('a turn the agent marked restricted keeps its level: route_explain and complete route every later turn of the session as restricted', { timeout: 90_000 }, async () => {
    const started = await setup.scenario.json(['session', 'start', '--name', 'marked', '--model', `llama:${defaultModel(setup.engine)}`]);
    expect(started.result.exitCode, started.result.stderr).toBe(0);
    const marked = (await setup.client.callTool({ name: 'complete', arguments: { prompt: 'The board meets on Friday about the merger.', session: 'marked', sensitivity: 'restricted' } })) as CallToolResult;
    expect(marked.isError, toolText(marked)).toBeFalsy();
    const explained = (await setup.client.callTool({ name: 'route_explain', arguments: { prompt: 'What day was it?', session: 'marked' } })) as CallToolResult;
    expect(explained.isError, toolText(explained)).toBeFalsy();
    expect(explained.structuredContent).toMatchObject({ plan: { sensitivity: 'restricted' } });
    const next = (await setup.client.callTool({ name: 'complete', arguments: { prompt: 'What day was it?', session: 'marked' } })) as CallToolResult;
    expect(next.isError, toolText(next)).toBeFalsy();
    expect(next.structuredContent).toMatchObject({ sensitivity: 'restricted', session: { turn: 2 } });
  });
});
