import { Command, Option } from 'commander';
import { formatDuration, parseTimeout } from '../../common/duration.js';
import { InterruptedError, UsageError } from '../../errors.js';
import type { AccessLogEntry } from '../../gateway/access-log.js';
import type { HomePaths } from '../../home/home.js';
import { shellWord } from '../../common/shell-word.js';
import type { EngineExitReport, SupervisedEngines } from '../../engines/supervise.js';
import type { EngineTransition, HoldTransition } from '../../router/health.js';
import { contextFor, type CommandContext } from '../context.js';
import { DEFAULT_DRAIN_TIMEOUT, drainTimeoutOption, drainWithin } from '../drain.js';
import { exitCodeFor, takeOverHangup, takeOverStopSignals } from '../interrupt.js';
import { counted, logStderrAsJson, type Output } from '../output.js';
import { checkEachOption, hostOption, portOption } from '../input.js';
import { reportPolicyChange } from '../policy-change.js';
import { reportRegistryWarmUp } from '../registry-warm-up.js';

interface ServeOptions {
  host: string;
  port: string;
  allowRemote?: boolean;
  printToken?: boolean;
  rotateToken?: boolean;
  trustTier?: string;
  accessLog?: boolean;
  corsOrigin?: string[];
  allowHost?: string[];
  startEngines?: boolean;
  drainTimeout: string;
}

/**
 * Options that only shape a gateway that serves: `--print-token` and `--rotate-token` exit without
 * serving, so one of these beside them would be silently ignored. `--host` and `--port` are left
 * out: a script that always names its address may still read the token.
 */
const SERVING_ONLY_OPTIONS = ['allowRemote', 'trustTier', 'accessLog', 'corsOrigin', 'allowHost', 'startEngines'];

export function serveCommand(): Command {
  return new Command('serve')
    .description('run the local gateway: OpenAI- and Anthropic-compatible HTTP, and the MCP server at /mcp, in front of the governed pipeline')
    .option('--host <host>', 'address to bind (non-loopback needs --allow-remote)', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 picks a free one)', '8089')
    .option('--allow-remote', 'allow binding to an address other machines can reach')
    .addOption(new Option('--print-token', 'print the bearer token clients must send, and exit').conflicts(['rotateToken', ...SERVING_ONLY_OPTIONS]))
    .addOption(
      new Option('--rotate-token', 'replace the bearer token with a new one, and exit (a running gateway accepts only the new one within a second)').conflicts(SERVING_ONLY_OPTIONS),
    )
    .option('--trust-tier <name>', "trust tier of gateway callers (default: the policy's defaultTrustTier)")
    .option('--access-log', 'one line per request on stderr as it ends (JSON lines with --json); never prompts, answers or header values')
    .option('--cors-origin <origin...>', 'let browser pages from these origins call the gateway (e.g. http://localhost:3000); the token is still required')
    .option('--allow-host <name...>', 'answer requests whose Host is this name too (a reverse proxy that keeps the client\'s Host); loopback names and addresses always work')
    .option('--start-engines', "start every local engine whose record declares engine.launch and that is not running, before listening; stop them when the gateway stops")
    .addOption(drainTimeoutOption())
    .addHelpText(
      'after',
      `
Once listening it prints "syndicate gateway listening on URL" on stdout (with --json, one JSON
line: url, openaiBaseUrl, anthropicBaseUrl, mcpUrl, host, port, pid); everything else goes to stderr,
with --json each line one JSON object: {"time","level","message","fields"}.

A local engine that stops answering or answers again is said on stderr once per change (its engines
are probed every 10 s); one --start-engines started that exits is said with its exit code or signal,
and is not restarted.

Example:
  $ syndicate serve --port 8089 &
  $ OPENAI_BASE_URL=http://127.0.0.1:8089/v1 OPENAI_API_KEY=$(syndicate serve --print-token) my-agent

MCP: the tools of \`syndicate mcp\` (complete, classify, route_explain, providers, metrics) over
Streamable HTTP at URL/mcp, on the gateway's pipeline and --trust-tier, with the same token.
A browser page may call it only from an origin --cors-origin names (others get 403).

Against DNS rebinding, a request whose Host is not an address, localhost, *.localhost, this
machine's host name or a name --allow-host gives is refused (403 host_not_allowed); with
--allow-remote, only when --allow-host names some.
  $ claude mcp add --transport http syndicate http://127.0.0.1:8089/mcp --header "Authorization: Bearer $(syndicate serve --print-token)"

With --start-engines the declared engines are started one after the other (each waits for its
readyPath, as \`engine start\` does); one that does not start is reported and left out of routes,
and the gateway serves the others. The engines it started are stopped after the gateway drains;
engines that were already running are left alone, except those a gateway killed outright
(SIGKILL) had started: it takes them over and stops them too. Ctrl-C or SIGTERM while they start
stops the ones started so far (exit 130 / 143).

With evidence.retentionDays in policy.yaml, envelopes older than that are deleted at start and
then daily (as \`evidence prune\` does), each deletion reported on stderr; a run that finds the
store busy is tried again after 5 min, doubling up to the day.

Signals: SIGTERM or Ctrl-C stop after the requests in flight (exit 0), for at most --drain-timeout
(default ${DEFAULT_DRAIN_TIMEOUT}): those still running then, or at a second signal, are cancelled — each
recorded as cancelled by the caller with the bytes so far, a stream ending with its API's error
event (at a second signal every connection is closed within 1 s, whatever is left) — and serve
exits 130 (Ctrl-C) or 143 (SIGTERM). SIGHUP re-reads policy.yaml and the token file now (edits
are otherwise picked up within a second; an invalid policy keeps requests local, a missing or empty
token file refuses every request until a token is back) — not the environment: a key variable set
later needs a restart.`,
    )
    .action(async (options: ServeOptions, command: Command) => {
      const context = contextFor(command);
      const { output } = context;
      // A journal (`journalctl -o cat | jq`) reads every line of a --json gateway's stderr as JSON.
      if (output.json) logStderrAsJson();
      const port = portOption(options.port, 8089);
      const drainTimeoutMs = parseTimeout(options.drainTimeout, '--drain-timeout');
      const host = hostOption(options.host);
      const { startGateway } = await import('../../gateway/server.js');
      const corsOrigins = options.corsOrigin ?? [];
      if (corsOrigins.length > 0) {
        const { normalizeOrigin } = await import('../../gateway/cors.js');
        checkEachOption(corsOrigins, normalizeOrigin, '--cors-origin', 'name each origin a browser page is served from; "*" is not accepted');
      }
      const allowedHosts = options.allowHost ?? [];
      if (allowedHosts.length > 0) {
        const { normalizeHostName } = await import('../../common/host-check.js');
        checkEachOption(allowedHosts, normalizeHostName, '--allow-host', 'name the host a reverse proxy passes on in Host; "*" is not accepted');
      }

      if (options.rotateToken === true) {
        const { rotateGatewayToken } = await import('../../home/init.js');
        // A home init never made (a mistyped --home) gets no directory holding a lone token.
        await context.store({ existing: true });
        context.close();
        const path = rotateGatewayToken(context.home);
        if (output.json) output.document({ rotated: true, path });
        output.info(`gateway token replaced in ${path}; a running gateway accepts only the new one within a second`);
        output.info(`clients need the new token: ${tokenCommandFor(context.home)}`);
        return;
      }

      if (options.printToken === true) {
        const { readGatewayToken } = await import('../../home/home.js');
        const token = readGatewayToken(context.home.gatewayTokenPath);
        if (output.json) output.document({ token });
        else output.write(`${token}\n`);
        return;
      }

      // SIGHUP re-reads the policy and the token once the gateway runs. Before that — `systemctl
      // reload` just after a start, a terminal closed while --start-engines waits for an engine —
      // there is nothing to re-read yet (the gateway reads both as it starts), and the CLI's stop on
      // the signal would end serve (exit 129), leaving the engines it started.
      let reload = (): void => output.info('SIGHUP while starting: nothing to re-read yet, the gateway reads the policy and the token as it starts');
      takeOverHangup();
      process.on('SIGHUP', () => reload());
      // The gateway needs init's token, permit key and policy: never half-create a home.
      const store = await context.store({ existing: true });
      if (options.startEngines === true) {
        // An invalid policy.yaml stops serve (exit 3) before any engine is started, not after
        // the engines' whole start time, only to stop them again.
        const { loadPolicy } = await import('../../policy/load.js');
        loadPolicy(context.home.policyPath);
      }
      const engines = options.startEngines === true ? await startEngines(context) : undefined;
      // From here a signal stops the gateway gracefully, even one that comes before it listens: the
      // engines just started must go with it (the CLI's default handlers would exit at once).
      const stopRequested = takeOverStopSignals(['SIGTERM', 'SIGINT']);
      let running;
      try {
        running = await startGateway({
          home: context.home,
          store,
          host,
          port,
          allowRemote: options.allowRemote === true,
          ...(options.trustTier === undefined ? {} : { trustTier: options.trustTier }),
          ...(corsOrigins.length === 0 ? {} : { corsOrigins }),
          ...(allowedHosts.length === 0 ? {} : { allowedHosts }),
          onInternalError: (error) => output.warn(`internal gateway error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`),
          onCheckpointFailure: (message) => output.warn(`background WAL checkpoints stopped (${message}); the gateway checkpoints its store on its own connection from now on`),
          ...(options.accessLog === true ? { onRequestEnd: (entry: AccessLogEntry) => output.info(accessLine(entry), { ...entry }) } : {}),
          onEngineTransition: (transition) => reportEngineTransition(output, transition),
          onHoldTransition: (transition) => reportHoldTransition(output, transition),
          onTokenChange: (change) => {
            if (change.kind === 'reloaded') output.info(`gateway token reloaded from ${change.path}: only the new token is accepted`);
            else output.warn(`${change.reason}; every request is refused until then`);
          },
          onPolicyChange: (change) => reportPolicyChange(output, change),
          onRegistryWarmUp: (report) => reportRegistryWarmUp(output, report),
          onRetention: (outcome) => {
            if ('error' in outcome) {
              output.warn(`evidence retention could not prune: ${outcome.error.message} (tried again in ${formatDuration(outcome.retryInMs)})${outcome.error.hint === undefined ? '' : `; ${outcome.error.hint}`}`);
            } else if ('recoveredAfter' in outcome) {
              const tries = `${outcome.recoveredAfter} failed ${outcome.recoveredAfter === 1 ? 'try' : 'tries'}`;
              const deleted = outcome.result.envelopes > 0 || outcome.result.permits > 0;
              output.info(`evidence retention (${counted(outcome.retentionDays, 'day')}) ran after ${tries}${deleted ? '' : ': nothing was old enough to delete'}`);
            }
            else if ('heldBack' in outcome) {
              output.warn(
                `evidence retention (${counted(outcome.retentionDays, 'day')}) held back: ${context.home.policyPath} is not a valid policy now, and nothing is deleted on a policy being edited; fix it (the policy warning says what is wrong) — retention runs as soon as the fixed file is read (within a second of the next request, or at once on SIGHUP)`,
              );
            }
            else {
              const { result, retentionDays } = outcome;
              output.info(`evidence retention (${counted(retentionDays, 'day')}): deleted ${counted(result.envelopes, 'envelope')} created before ${result.olderThan} and ${counted(result.permits, 'expired permit')}; \`evidence verify\` starts from #${result.throughSeq ?? '-'}`);
            }
          },
        });
      } catch (error) {
        // Nothing will route to the engines this serve started: they go with it.
        await stopEngines(output, engines);
        throw error;
      }
      const urls = { url: running.url, openaiBaseUrl: `${running.url}/v1`, anthropicBaseUrl: running.url, mcpUrl: `${running.url}/mcp` };
      // Where it listens is the result (stdout, for a script waiting on it); how to use it is guidance (stderr).
      if (output.json) output.documentLine({ ...urls, host: running.host, port: running.port, pid: process.pid });
      else output.line(`syndicate gateway listening on ${running.url}`);
      const tokenCommand = tokenCommandFor(context.home);
      output.info(`  OpenAI SDKs:    OPENAI_BASE_URL=${urls.openaiBaseUrl} OPENAI_API_KEY=${tokenCommand}`);
      output.info(`  Anthropic SDKs: ANTHROPIC_BASE_URL=${urls.anthropicBaseUrl} ANTHROPIC_API_KEY=${tokenCommand}`);
      output.info(`  MCP clients:    claude mcp add --transport http syndicate ${urls.mcpUrl} --header "Authorization: Bearer ${tokenCommand}"`);
      output.info('  model: auto, provider:model or an alias (GET /v1/models); hints: x-syndicate-sensitivity, x-syndicate-workflow, x-syndicate-session');
      output.info('  GET /metrics (Prometheus, token required), GET /healthz; SIGTERM or Ctrl-C stops after in-flight requests finish');
      output.info(`  policy: ${context.home.policyPath} (edits apply to new requests within a second; SIGHUP re-reads at once)`);
      if (corsOrigins.length > 0) output.info(`  browser pages from ${corsOrigins.join(', ')} may call it (with the token)`);
      if (allowedHosts.length > 0) output.info(`  it also answers to Host ${allowedHosts.join(', ')}`);
      // A service's environment is not the shell's: a key file left out of the unit (systemd's
      // `EnvironmentFile=-…` is optional) would otherwise show only as requests routed elsewhere.
      const { listProviders } = await import('../../registry/registry.js');
      const { providersWithoutKeys } = await import('../../registry/credentials.js');
      for (const { provider, variable } of providersWithoutKeys(listProviders(store), process.env)) {
        output.warn(`${variable} is not set in the gateway's environment: ${provider} is skipped by every request until serve is restarted with it set (a service: in its unit's environment or EnvironmentFile)`, { provider, variable });
      }

      // SIGHUP: re-read an edited policy or a rotated token now rather than within the second.
      const gateway = running;
      reload = () => {
        gateway.policy.checkNow();
        gateway.token.checkNow();
      };
      const stopSignal = await stopRequested;
      const uploading = running.uploading;
      const cutShort = await drainWithin({
        output,
        stopSignal,
        drainTimeoutMs,
        // A request still uploading its body is in flight already once its token was checked (its body is read only then).
        inFlightNote: `finishing ${counted(running.gateway.inFlight, 'in-flight request')}${uploading === 0 ? '' : ` (${uploading} still uploading)`}`,
        close: () => running.close(),
        cancelInFlight: (why, secondSignal) => {
          const reason = new InterruptedError(`the gateway stopped (${why}) before the answer ended`, { hint: 'the attempt is recorded as cancelled by the caller, with what was received so far' });
          return running.cutShort(reason, { atOnce: secondSignal });
        },
      });
      await stopEngines(output, engines);
      context.close();
      // Only requests cut short make the stop an interruption: a second signal on an idle gateway is still a clean stop.
      if (cutShort !== undefined && cutShort.cancelled > 0) {
        throw new InterruptedError(`gateway stopped (${cutShort.why}): ${counted(cutShort.cancelled, 'request')} in flight cancelled`, {
          hint: `each is recorded as cancelled by the caller, with what was received so far; give the requests more time with \`serve --drain-timeout\``,
          exitCode: exitCodeFor(stopSignal),
        });
      }
      output.info('gateway stopped');
    });
}

/** `--start-engines`: starts the declared engines, saying what happened to each on stderr. */
async function startEngines(context: CommandContext): Promise<SupervisedEngines> {
  const { output } = context;
  const { startDeclaredEngines } = await import('../../engines/supervise.js');
  const { cancellable } = await import('../interrupt.js');
  const store = await context.store();
  // Ctrl-C or SIGTERM before the gateway listens stops the engine being started and those already
  // started (exit 130 or 143), rather than leaving them running with no gateway to stop them.
  const engines = await cancellable((signal) =>
    startDeclaredEngines(store, {
      storePath: context.home.storePath,
      signal,
      onStarting: (provider) => output.info(`starting ${provider}'s engine ...`),
      onWaiting: (provider, seconds) => output.info(`waiting for ${provider}'s engine (${seconds} s) ...`),
      onExit: (exit) => reportEngineExit(output, exit),
      onReport: (report) => {
        if (report.outcome === 'started') output.info(`started ${report.provider}'s engine: pid ${report.pid}, ready in ${(report.readyMs / 1000).toFixed(1)} s (log ${report.logPath})`);
        else if (report.outcome === 'already-running') output.info(`${report.provider}'s engine is already running`);
        else if (report.outcome === 'taken-over') {
          output.info(`${report.provider}'s engine is already running (pid ${report.pid}), started by a gateway (pid ${report.formerSupervisor}) that is gone: it is stopped when this one stops`);
        }
        else output.warn(`${report.provider}'s engine did not start: ${report.error.message}${report.error.hint === undefined ? '' : ` — ${report.error.hint}`}`);
      },
    }),
  );
  if (engines.reports.length === 0) output.info('--start-engines: no local provider declares engine.launch');
  return engines;
}

/**
 * A local engine stopped answering, or answers again, as routing sees it: one line per change. An
 * engine down from the first probe is said too; one up from the start is no news.
 */
function reportEngineTransition(output: Output, transition: EngineTransition): void {
  const { provider, baseUrl, state } = transition;
  const fields = { event: 'engine_health', ...transition };
  if (state === 'up') {
    output.info(`${provider}'s engine at ${baseUrl} answers again: routes use it`, fields);
    return;
  }
  const how = transition.first ? 'does not answer' : 'stopped answering';
  const why = transition.cause === 'failing' ? `it answers with errors${transition.status === undefined ? '' : ` (HTTP ${transition.status})`}: ${transition.reason ?? ''}` : (transition.reason ?? 'nothing answers');
  output.warn(`${provider}'s engine at ${baseUrl} ${how} (${why}); routes leave it out until it answers again`, fields);
}

/**
 * A hosted provider (or one of its models) held out of routes, or usable again: why traffic moved
 * to another provider (the local model) and back. The reason is syndicate's, never the upstream's text.
 */
function reportHoldTransition(output: Output, transition: HoldTransition): void {
  const target = transition.model === undefined ? transition.provider : `${transition.provider}:${transition.model}`;
  const fields = { event: 'provider_hold', ...transition };
  if (transition.state === 'lifted') {
    const how = transition.how === 'expired' ? 'its hold ended' : transition.how === 'answered' ? 'a call succeeded' : 'a release was recorded';
    output.info(`${target} at ${transition.baseUrl} is usable again (${how}): routes use it`, fields);
    return;
  }
  const what = transition.hold === 'rate_limited' ? 'is rate-limited' : transition.cause === 'failing' || transition.cause === undefined ? 'is failing' : transition.cause === 'unreachable' ? 'does not answer' : `is not served (${transition.cause})`;
  output.warn(`${target} at ${transition.baseUrl} ${what} (${transition.reason}); routes leave it out until ${transition.until} and use the others the policy allows`, fields);
}

/** An engine `--start-engines` started ended while the gateway ran: serve does not restart it. */
function reportEngineExit(output: Output, exit: EngineExitReport): void {
  const how = exit.code !== null ? `exited with code ${exit.code}` : exit.signal !== null ? `was killed by ${exit.signal}` : 'is gone';
  output.warn(
    `${exit.provider}'s engine (pid ${exit.pid}, ${exit.baseUrl}) ${how}; serve does not restart it: routes leave it out while nothing answers there, and \`syndicate engine start ${exit.provider}\` starts it again (its log: ${exit.logPath})`,
    { event: 'engine_exit', restarted: false, ...exit },
  );
}

/** Stops the engines `--start-engines` started, saying so on stderr. */
async function stopEngines(output: Output, engines: SupervisedEngines | undefined): Promise<void> {
  if (engines === undefined) return;
  for (const result of await engines.stop()) {
    if (result.stopped) output.info(`stopped ${result.provider}'s engine`);
    else if (result.error !== undefined) output.warn(`could not stop ${result.provider}'s engine: ${result.error.message}`);
  }
}

/** The command that prints the token, for the same data directory: `$(syndicate [--home DIR] serve --print-token)`. */
function tokenCommandFor(home: HomePaths): string {
  return `$(syndicate${home.source === 'flag' ? ` --home ${shellWord(home.dataDir)}` : ''} serve --print-token)`;
}

/** `2026-12-04T14:50:01.123Z POST /v1/responses 200 412.3 ms ok ollama:llama3.2 local public tokens 25/12 ev_…` */
function accessLine(entry: AccessLogEntry): string {
  const fields = [entry.at, entry.method, entry.path, String(entry.status), `${entry.durationMs.toFixed(1)} ms`, entry.outcome];
  if (entry.provider !== undefined) fields.push(`${entry.provider}:${entry.model ?? '?'}`);
  if (entry.providerClass !== undefined) fields.push(entry.providerClass);
  if (entry.sensitivity !== undefined) fields.push(entry.sensitivity);
  if (entry.streamed === true) fields.push('stream');
  if (entry.inputTokens !== undefined && entry.outputTokens !== undefined) fields.push(`tokens ${entry.inputTokens}/${entry.outputTokens}`);
  fields.push(entry.evidenceId ?? entry.requestId ?? '-');
  return fields.join(' ');
}
