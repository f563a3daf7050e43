import { Command, Option } from 'commander';
import type { SensitivityLevel } from '../../common/vocabulary.js';
import { SyndicateError, UsageError } from '../../errors.js';
import type { PermitDenial } from '../../permits/denial.js';
import type { Store } from '../../store/store.js';
import { contextFor, type CommandContext } from '../context.js';
import { sessionOption } from '../input.js';

const LEVELS = ['public', 'internal', 'confidential', 'restricted'];

interface IssueOptions {
  provider?: string;
  model?: string;
  ttl: string;
  sensitivity: string;
  session?: string;
}

interface VerifyOptions {
  provider?: string;
  model?: string;
  sensitivity?: string;
  session?: string;
}

const EXAMPLES: Readonly<Record<string, string>> = { '--provider': 'ollama-local', '--model': 'llama3.2:3b' };

function requireNonEmpty(value: string | undefined, flag: '--provider' | '--model'): void {
  if (value !== undefined && value.trim() === '') throw new UsageError(`${flag} must not be empty`, { hint: `pass a value, e.g. ${flag} ${EXAMPLES[flag] ?? ''}` });
}

function requireLevel(value: string | undefined): SensitivityLevel | undefined {
  if (value === undefined) return undefined;
  if (!LEVELS.includes(value)) throw new UsageError(`unknown sensitivity "${value}"`, { hint: `use one of: ${LEVELS.join(', ')}` });
  return value as SensitivityLevel;
}

/**
 * Records a permit refusal as an evidence denial row, then rethrows it with the row's id. A failure to record is
 * reported on stderr but never replaces the refusal (exit 4 stays exit 4).
 */
async function recordAndRethrow(context: CommandContext, store: Store, error: unknown, denial: () => PermitDenial): Promise<never> {
  if (error instanceof SyndicateError && error.exitCode === 4) {
    try {
      const { recordDenial } = await import('../../evidence/index.js');
      // Its row's id where a script reads every refusal's (`--json`: `details.evidenceId`).
      error.withDetails({ evidenceId: recordDenial(store, denial()) });
    } catch (recordingError) {
      context.output.warn(`the refusal could not be recorded as evidence: ${(recordingError as Error).message}`);
    }
  }
  throw error;
}

/**
 * The session id a permit binds: a stored session's id when `--session` names one (by id or name),
 * as `run --session` resolves it, else the value itself.
 */
async function recordedSession(store: Store, session: string | undefined): Promise<string | undefined> {
  if (session === undefined) return undefined;
  const { recordedSessionId } = await import('../../sessions/sessions.js');
  return recordedSessionId(store, session);
}

export function permitCommand(): Command {
  const permit = new Command('permit')
    .description('issue and check single-use signed permits, for scripts that invoke later')
    .addHelpText('after', '\nExample:\n  $ TOKEN=$(syndicate permit issue --provider ollama-local --model llama3.2:3b)\n  $ syndicate permit verify "$TOKEN"');

  permit
    .command('issue')
    .description("issue a permit for one invocation of a provider's current version (prints only the token)")
    // Checked in the action, not by commander: an unknown provider is reported before a missing --model.
    .option('--provider <id>', 'provider id (required)')
    .option('--model <model>', 'model id or alias (required)')
    .option('--ttl <duration>', 'lifetime, with its unit: 30s, 5m (at most 1h)', '60s')
    .addOption(new Option('--sensitivity <level>', 'most sensitive data the invocation may carry').choices(LEVELS).default('public'))
    .option('--session <id>', 'bind the permit to one session')
    .addHelpText(
      'after',
      '\nExample:\n  $ TOKEN=$(syndicate permit issue --provider ollama-local --model llama3.2:3b --ttl 30s --sensitivity internal)\n  $ syndicate run --provider ollama-local:llama3.2:3b --permit "$TOKEN" "hello"',
    )
    .action(async (options: IssueOptions, command: Command) => {
      if (options.provider === undefined) {
        throw new UsageError("required option '--provider <id>' not specified", { hint: 'name the provider and model, e.g. --provider ollama-local --model llama3.2:3b (`syndicate provider list` lists them)' });
      }
      const providerId = options.provider;
      requireNonEmpty(options.provider, '--provider');
      requireNonEmpty(options.model, '--model');
      sessionOption(options.session);
      const maxSensitivity = requireLevel(options.sensitivity) ?? 'public';
      const context = contextFor(command);
      const [{ parseDuration }, permits] = await Promise.all([import('../../common/duration.js'), import('../../permits/index.js')]);
      const ttlMs = parseDuration(options.ttl, '--ttl', { minimumMs: 1, maximumMs: permits.MAXIMUM_PERMIT_TTL_MS });
      const key = permits.loadPermitKey(context.home.permitKeyPath);
      const [{ loadPolicy }, { classRefusal }] = await Promise.all([import('../../policy/load.js'), import('../../invoke/permit-class.js')]);
      const policy = loadPolicy(context.home.policyPath);
      const store = await context.store();
      try {
        const sessionId = await recordedSession(store, options.session);
        let issued;
        try {
          issued = permits.issuePermitForProvider(
            store,
            key,
            { providerId, model: options.model, maxSensitivity, ...(sessionId === undefined ? {} : { sessionId }) },
            { ttlMs, refusalFor: (provider, modelId) => classRefusal(policy, provider, modelId, maxSensitivity) },
          );
        } catch (error) {
          return await recordAndRethrow(context, store, error, () =>
            permits.permitDenial(undefined, error as SyndicateError, {
              caller: 'cli',
              outsideRequest: true,
              providerId,
              ...(options.model === undefined ? {} : { model: options.model }),
              sensitivity: maxSensitivity,
              ...(sessionId === undefined ? {} : { sessionId }),
            }),
          );
        }
        const { token, permit: payload, provider } = issued;
        const expiresAt = new Date(payload.exp).toISOString();
        context.output.result(
          { token, permit: payload, provider: { id: provider.id, version: provider.currentVersion, class: provider.record.class }, expiresAt },
          () => {
            context.output.line(token);
            context.output.info(
              `permit ${payload.id} for ${provider.id}@v${provider.currentVersion} model ${payload.model}, data up to ${payload.maxSensitivity}${payload.session === undefined ? '' : `, session ${payload.session}`}; single use, expires ${expiresAt}`,
            );
          },
        );
      } finally {
        context.close();
      }
    });

  permit
    .command('verify')
    .description('check a permit (signature, expiry, provider version, scope, unused) without consuming it')
    .argument('<token>', 'the token printed by `permit issue`')
    .option('--provider <id>', 'require this provider')
    .option('--model <model>', 'require this model (id or alias)')
    .addOption(new Option('--sensitivity <level>', 'require the permit to allow data of this level').choices(LEVELS))
    .option('--session <id>', 'require this session')
    .addHelpText('after', '\nExample:\n  $ syndicate permit verify "$TOKEN" --provider ollama-local --model llama3.2:3b --json')
    .action(async (token: string, options: VerifyOptions, command: Command) => {
      if (token.trim() === '') throw new UsageError('the token is empty', { hint: 'pass the token printed by `syndicate permit issue`' });
      requireNonEmpty(options.provider, '--provider');
      requireNonEmpty(options.model, '--model');
      sessionOption(options.session);
      const sensitivity = requireLevel(options.sensitivity);
      const context = contextFor(command);
      const permits = await import('../../permits/index.js');
      const key = permits.loadPermitKey(context.home.permitKeyPath);
      const store = await context.store();
      try {
        const sessionId = await recordedSession(store, options.session);
        const expected = {
          ...(options.provider === undefined ? {} : { providerId: options.provider }),
          ...(options.model === undefined ? {} : { model: options.model }),
          ...(sensitivity === undefined ? {} : { sensitivity }),
          ...(sessionId === undefined ? {} : { sessionId }),
        };
        let inspection;
        try {
          inspection = permits.inspectPermit(store, key, token.trim(), expected);
        } catch (error) {
          return await recordAndRethrow(context, store, error, () =>
            permits.permitDenial(token.trim(), error as SyndicateError, { caller: 'cli', outsideRequest: true, ...expected }),
          );
        }
        const { permit: payload, provider, expiresInMs } = inspection;
        const expiresAt = new Date(payload.exp).toISOString();
        context.output.result(
          { valid: true, consumed: false, permit: payload, provider: { id: provider.id, version: provider.version, class: provider.providerClass }, expiresAt, expiresInMs },
          () => {
            const { output } = context;
            output.line(`${output.color.green('valid')}: permit ${payload.id} is unused and expires in ${Math.ceil(expiresInMs / 1000)} s (${expiresAt})`);
            output.table(
              ['field', 'value'],
              [
                ['provider', `${provider.id}@v${payload.providerVersion} (${provider.providerClass})`],
                ['model', payload.model],
                ['max sensitivity', payload.maxSensitivity],
                ['session', payload.session ?? '(any)'],
                ['issued', new Date(payload.iat).toISOString()],
              ],
            );
          },
        );
      } finally {
        context.close();
      }
    });

  return permit;
}
