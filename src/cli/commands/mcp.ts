import { Command } from 'commander';
import { InterruptedError } from '../../errors.js';
import { contextFor } from '../context.js';
import { exitCodeFor, takeOverStopSignals, type StopSignal } from '../interrupt.js';
import { counted } from '../output.js';
import { reportPolicyChange } from '../policy-change.js';
import { reportRegistryWarmUp } from '../registry-warm-up.js';

interface McpOptions {
  trustTier?: string;
}

export function mcpCommand(): Command {
  return new Command('mcp')
    .description('run the MCP server on stdio: tools complete, classify, route_explain, providers and metrics over the governed pipeline')
    .option('--trust-tier <name>', "trust tier of the agents calling it (default: the policy's defaultTrustTier)")
    .addHelpText(
      'after',
      `
stdout carries only the MCP protocol (JSON-RPC, one message per line); notes go to stderr.
When the client closes stdin it answers every request it read before, then stops. It stops at once
when the client closes stdout, or on SIGTERM or Ctrl-C: calls still running are cancelled (their
evidence says so) before the store is closed. It exits 0, or 130 (Ctrl-C) / 143 (SIGTERM) when the
signal cancelled calls.

Examples:
  $ claude mcp add syndicate -- syndicate mcp
  $ npx @modelcontextprotocol/inspector syndicate mcp
  Claude Desktop, Cursor and other clients: {"mcpServers": {"syndicate": {"command": "syndicate", "args": ["mcp"]}}}`,
    )
    .action(async (options: McpOptions, command: Command) => {
      const context = contextFor(command);
      const { output } = context;
      const [{ createMcpServer, MCP_TOOLS }, { StdioServerTransport }, { syndicateVersion }] = await Promise.all([
        import('../../mcp/server.js'),
        import('@modelcontextprotocol/sdk/server/stdio.js'),
        import('../../common/version.js'),
      ]);
      // An MCP server needs init's permit key and policy as `run` does: never half-create a home.
      // Started by the MCP client, in its environment: a missing home's hint names the directory.
      const store = await context.store({ existing: true, startedBy: 'the MCP client' });
      const mcp = createMcpServer({
        home: context.home,
        store,
        version: syndicateVersion(),
        ...(options.trustTier === undefined ? {} : { trustTier: options.trustTier }),
        onPolicyChange: (change) => reportPolicyChange(output, change),
      });
      const [{ answerMalformedMessages, answerTooLongMessage, tooDeeplyNestedAnswer }, { boundedLines }, { followRequests }, { INPUT_LIMIT_BYTES, INPUT_LIMIT_TEXT }] = await Promise.all([
        import('../../mcp/malformed-messages.js'),
        import('../../mcp/bounded-lines.js'),
        import('../../mcp/answered-requests.js'),
        import('../../validation/input-file.js'),
      ]);
      // A message over the input limit is dropped and answered, never handed to the transport, whose
      // own smaller buffer would close it (stopping the server) on a screenshot-sized image.
      const lines = boundedLines(process.stdin, INPUT_LIMIT_BYTES, (dropped) => {
        output.warn(`a message over the ${INPUT_LIMIT_TEXT} input limit was not read (${dropped.bytes} bytes${dropped.id === null ? '' : `, request ${dropped.id}`})`);
        answerTooLongMessage(transport, dropped, INPUT_LIMIT_BYTES);
      }, (line) => {
        // Nested deeper than the SDK's validation can take (it overflows the stack): answered here instead.
        const answer = tooDeeplyNestedAnswer(line.toString('utf8'));
        if (answer !== undefined) transport.send(answer).catch(() => undefined);
        return answer !== undefined;
      });
      const transport = new StdioServerTransport(lines, process.stdout, { maxBufferSize: 2 * INPUT_LIMIT_BYTES });
      answerMalformedMessages(transport);
      const requests = followRequests(transport);
      // Stops on whichever comes first: the client closing stdin (once every request it sent before is
      // answered), the transport closing, SIGTERM, Ctrl-C or SIGHUP.
      // SIGHUP: its terminal closed (a client started by hand in one); stop as for SIGTERM.
      const signalled = takeOverStopSignals(['SIGTERM', 'SIGINT', 'SIGHUP']);
      // The MCP stdio shutdown (the official SDK client's `close()`): stdin closed, then SIGTERM if the
      // server has not exited 2 s later. A signal after stdin ended is said to be so: most likely the
      // client's shutdown, which an operator reading the evidence must not take for a stop of theirs.
      let stdinEnded = false;
      const stopped = new Promise<{ reason: string; signal?: StopSignal }>((resolve) => {
        void signalled.then((signal) => resolve({ reason: stdinEnded ? `${signal} after the client closed stdin` : signal, signal }));
        const closedStdin = 'the client closed stdin';
        // The MCP stdio shutdown, or `printf '%s\n' … | syndicate mcp`: stdin ends right after the
        // last request, which is answered first — as are all before it, however long they take.
        process.stdin.once('end', () => {
          stdinEnded = true;
          void requests.allAnswered(lines).then(() => resolve({ reason: closedStdin }), () => resolve({ reason: closedStdin }));
        });
        // Closed without its end (torn down): nothing more can be read, nor known to be awaited.
        process.stdin.once('close', () => {
          if (!process.stdin.readableEnded) resolve({ reason: closedStdin });
        });
        // A client that went away may be noticed on stdout first (EPIPE on the next progress
        // notification or answer): stop as for a closed stdin, cancelling the calls in flight so
        // their evidence says so, instead of the CLI's exit on EPIPE leaving their rows pending.
        process.stdout.removeAllListeners('error');
        process.stdout.on('error', () => resolve({ reason: 'the client closed stdout' }));
        transport.onclose = () => resolve({ reason: 'the transport closed' });
      });
      // A priced model registered later has the tokenizer loaded then; followed from before the
      // warm-up reads the registry, so no change falls between.
      const registryWarmUp = mcp.followRegistry((report) => reportRegistryWarmUp(output, report));
      // Before connecting: the client's first tool call is then as quick as the next.
      await mcp.warmUp();
      await mcp.connect(transport);
      output.info(`syndicate MCP server on stdio (tools: ${MCP_TOOLS.join(', ')}; data: ${context.home.dataDir})`);
      const { reason, signal } = await stopped;
      const inFlight = mcp.inFlight;
      output.info(`stopping (${reason})${inFlight === 0 ? '' : `: cancelling ${counted(inFlight, 'call')} in flight`}`);
      // The evidence of a cancelled call says why: the operator's signal, or the client that went away.
      await mcp.drain(signal === undefined ? 'its client went away' : `it received ${reason}`);
      await mcp.server.close();
      // The transport paused the lines it read; stdin, piped into them, would keep the process alive.
      process.stdin.unpipe(lines);
      process.stdin.pause();
      await registryWarmUp.stop();
      context.close();
      if (signal !== undefined && inFlight > 0) {
        throw new InterruptedError(`MCP server stopped (${reason}): ${counted(inFlight, 'call')} in flight cancelled`, {
          hint: 'each is recorded as cancelled by the caller, with what was received so far',
          exitCode: exitCodeFor(signal),
        });
      }
    });
}
