import { Command, Option } from 'commander';
import { UsageError } from '../../errors.js';
import { providerSummary } from '../../registry/summary.js';
import type { ModelPrice, ProviderVersion, RegisteredProvider, RegistrationOutcome } from '../../registry/types.js';
import { describeHold, type HoldReport, type ReleaseTarget } from '../../router/shared-holds.js';
import { contextFor, type CommandContext } from '../context.js';
import { positiveIntegerOption, readTextInput, stdinAtMostOnce } from '../input.js';
import { printHeldBack } from '../held-back.js';
import { counted } from '../output.js';
import { providerCapabilitiesCommand, providerTestCommand } from './provider-probes.js';
import { shellWord } from '../../common/shell-word.js';

export function providerCommand(): Command {
  const provider = new Command('provider')
    .description('register, inspect and retire provider records (versioned)')
    .addHelpText(
      'after',
      `
Examples:
  $ syndicate provider register ollama-local.yaml
  $ syndicate provider add --list
  $ syndicate provider add ollama
  $ syndicate provider list --json
  $ syndicate provider history ollama-local`,
    );

  provider
    .command('register')
    .description('validate provider YAML files (`-`: one record from stdin) and store them as new versions (all or nothing)')
    .argument('<file...>', 'provider record files (apiVersion: syndicate/v1, kind: Provider); `-`: one record from stdin')
    .addHelpText('after', '\nExample:\n  $ syndicate provider register ollama-local.yaml anthropic-hosted.yaml\n\n`syndicate provider add --list` names the directory of ready-to-edit records to copy.')
    .action(async (files: string[], _options: unknown, command: Command) => {
      if (files.length === 0) throw new UsageError('no files given', { hint: 'name the provider files: `syndicate provider register FILE...`' });
      const context = contextFor(command);
      const [{ prepareProviderFiles }, { registerPreparedProviders }] = await Promise.all([import('../../registry/register.js'), import('../../registry/registry.js')]);
      // `-` reads one record from stdin, named `<stdin>` in its problems; stdin can be read only once.
      stdinAtMostOnce(files.map((file, index) => [`argument ${index + 1} \`-\``, file === '-'] as const));
      const prepared = await prepareProviderFiles(await Promise.all(files.map(async (file) => (file === '-' ? readTextInput(file, 'provider register') : file))));
      const store = await context.store();
      try {
        const results = registerPreparedProviders(store, prepared);
        context.output.result({ results }, () => {
          for (const outcome of results) context.output.line(describeOutcome(outcome));
        });
        for (const outcome of results) warnDroppedDiscoveries(context, outcome);
      } finally {
        context.close();
      }
    });

  provider
    .command('list')
    .description('list registered providers with their current version, and what is held back from routes now')
    .addHelpText('after', '\nExample:\n  $ syndicate provider list --json')
    .action(async (_options: unknown, command: Command) => {
      const context = contextFor(command);
      const [{ listProviders }, { holdsInForce }] = await Promise.all([import('../../registry/registry.js'), import('../../router/shared-holds.js')]);
      try {
        const store = await context.store({ existing: true });
        const providers = listProviders(store);
        const holds = holdsInForce(store, providers);
        const { output } = context;
        output.result({ providers: providers.map(providerSummary), holds }, () => {
          if (providers.length === 0) {
            output.line(output.forHome('no providers registered; try `syndicate provider add --list` or `syndicate provider register <file>`'));
            return;
          }
          output.table(
            ['id', 'version', 'class', 'wire', 'base url', 'models', 'status'],
            providers.map((item) => [
              item.id,
              `v${item.currentVersion}`,
              item.record.class,
              item.record.wire,
              item.record.baseUrl,
              item.record.models.map((model) => model.id).join(', '),
              item.retiredAt === null ? 'active' : output.color.yellow('retired'),
            ]),
          );
          if (holds.length > 0) output.line();
          printHeldBack(output, holds);
        });
      } finally {
        context.close();
      }
    });

  provider
    .command('show')
    .description('show one provider record (current version, or --version N), and what of it is held back from routes now')
    .argument('<id>', 'provider id')
    .addOption(new Option('--version <n>', 'show this stored version (2 or v2) instead of the current one'))
    .addOption(new Option('--at <n>', 'same as --version'))
    .addHelpText('after', '\nExamples:\n  $ syndicate provider show ollama-local --version 1\n  $ syndicate provider show ollama-local --json')
    .action(async (id: string, options: { version?: string; at?: string }, command: Command) => {
      if (options.version !== undefined && options.at !== undefined && options.version !== options.at) {
        throw new UsageError('--version and --at name different versions', { hint: 'give one of them' });
      }
      const flag = options.at === undefined ? '--version' : '--at';
      const requested = options.at ?? options.version;
      const version = requested === undefined ? undefined : parseVersion(requested, flag);
      const context = contextFor(command);
      const [registry, { holdsInForce }] = await Promise.all([import('../../registry/registry.js'), import('../../router/shared-holds.js')]);
      try {
        const store = await context.store({ existing: true });
        const current = registry.requireProvider(store, id);
        const wanted = version ?? current.currentVersion;
        const stored = registry.getProviderVersion(store, id, wanted);
        if (stored === undefined) {
          throw new UsageError(`provider "${id}" has no version ${wanted}`, { hint: `versions 1 to ${current.currentVersion} exist; see \`syndicate provider history ${id}\`` });
        }
        // Holds concern the provider as it is registered now, whichever version is shown.
        printVersion(context, current, stored, holdsInForce(store, [current]));
      } finally {
        context.close();
      }
    });

  provider
    .command('history')
    .description('list every version of a provider with what changed')
    .argument('<id>', 'provider id')
    .addHelpText('after', '\nExample:\n  $ syndicate provider history ollama-local')
    .action(async (id: string, _options: unknown, command: Command) => {
      const context = contextFor(command);
      const registry = await import('../../registry/registry.js');
      try {
        const store = await context.store({ existing: true });
        const current = registry.requireProvider(store, id);
        const versions = registry.providerHistory(store, id);
        const { output } = context;
        output.result({ id, status: current.retiredAt === null ? 'active' : 'retired', retiredAt: current.retiredAt, currentVersion: current.currentVersion, versions }, () => {
          output.table(
            ['version', 'created', 'hash', 'reason'],
            versions.map((item) => [`v${item.version}`, item.createdAt, item.contentHash.slice(0, 12), item.reason]),
          );
          for (const item of versions) {
            for (const change of item.changes) {
              output.line(`  v${item.version} ${change.pointer}: ${formatValue(change.before)} → ${formatValue(change.after)}`);
            }
          }
          if (current.retiredAt !== null) output.line(output.color.yellow(`retired at ${current.retiredAt}`));
        });
      } finally {
        context.close();
      }
    });

  provider
    .command('remove')
    .description('retire a provider: no new invocations; every version is kept for evidence')
    .argument('<id>', 'provider id')
    .addHelpText('after', '\nExample:\n  $ syndicate provider remove ollama-local')
    .action(async (id: string, _options: unknown, command: Command) => {
      const context = contextFor(command);
      const { retireProvider } = await import('../../registry/registry.js');
      try {
        const result = retireProvider(await context.store({ existing: true }), id);
        context.output.result({ ...result }, () => {
          context.output.line(
            result.alreadyRetired
              ? `${id} was already retired at ${result.retiredAt}`
              : `retired ${id} (v${result.version}); its versions are kept so evidence still resolves them`,
          );
        });
      } finally {
        context.close();
      }
    });

  provider
    .command('add')
    .description('register a catalog entry; local engines are asked which models they serve')
    .argument('[name]', 'catalog name: ollama, llama.cpp, lmstudio, vllm, anthropic, openai, glm')
    .addOption(new Option('--id <id>', 'register under this provider id (default: the catalog name)'))
    .addOption(new Option('--base-url <url>', 'where the engine or API listens (default: the catalog URL)'))
    .addOption(new Option('--list', 'print the catalog and exit').conflicts(['id', 'baseUrl']))
    .addHelpText('after', '\nExamples:\n  $ syndicate provider add --list\n  $ syndicate provider add ollama --base-url http://127.0.0.1:11434/v1\n  $ syndicate provider add anthropic')
    .action(async (name: string | undefined, options: { id?: string; baseUrl?: string; list?: boolean }, command: Command) => {
      if (options.list === true && name !== undefined) throw new UsageError('give a catalog name or --list, not both', { hint: '`syndicate provider add --list` prints the catalog; `syndicate provider add NAME` registers one entry' });
      if (options.list !== true && (name === undefined || name === '')) {
        throw new UsageError('missing catalog name', { hint: 'run `syndicate provider add --list` to see the names, then `syndicate provider add <name>`' });
      }
      if (options.id !== undefined && !/^[a-z0-9][a-z0-9._-]{0,62}$/.test(options.id)) {
        throw new UsageError(`--id "${options.id}" is not a valid provider id`, { hint: "use 1-63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit" });
      }
      const context = contextFor(command);
      try {
        if (options.list === true) await printCatalog(context);
        else await addEntry(context, name ?? '', options);
      } finally {
        context.close();
      }
    });

  provider
    .command('switch')
    .description("switch a session to another model, keeping its context: compacted first when the new window is smaller, the turns with images dropped when it takes no image input (what was dropped is printed); a class above the session's envelope invalidates it until `session approve`; refused (exit 4) when the new model's class may not receive the conversation")
    .argument('<provider:model>', 'the registered model to switch to')
    .requiredOption('--session <id>', 'the session to switch (id or name)')
    .option('--room <tokens>', 'compact until the new window leaves at least this many tokens after the conversation, for the next prompt and its answer (default: room for the minimum answer)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ syndicate provider switch ollama-local:llama3.2:1b --session triage\n  $ syndicate provider switch ollama-local:llama3.2:1b --session triage --room 3000',
    )
    .action(async (choice: string, options: { session: string; room?: string }, command: Command) => {
      const room = positiveIntegerOption(options.room, '--room', 3000);
      const context = contextFor(command);
      try {
        const { switchSessionModel } = await import('../../sessions/index.js');
        const { loadPolicy } = await import('../../policy/load.js');
        const store = await context.store({ existing: true });
        const report = await switchSessionModel(store, loadPolicy(context.home.policyPath), options.session, choice, room === undefined ? {} : { room });
        const { output } = context;
        const { describeDroppedTurns } = await import('./session.js');
        output.result({ switch: report }, () => {
          const from = report.from.kind === 'auto' ? 'auto' : `${report.from.providerId}:${report.from.model}`;
          output.line(`session ${report.session.id}: ${from} → ${report.to.providerId}:${report.to.model} (${report.to.capabilityClass}, window ${report.to.contextWindow})`);
          const withImages = report.droppedTurns.filter((turn) => turn.reason === 'images');
          const toFit = report.droppedTurns.filter((turn) => turn.reason === undefined);
          if (withImages.length > 0) {
            output.line(`${report.to.providerId}:${report.to.model} takes no image input: dropped ${counted(withImages.length, 'turn')} with images:`);
            for (const line of describeDroppedTurns(withImages)) output.line(`  dropped ${line}`);
          }
          if (toFit.length === 0) output.line(`context kept ${withImages.length === 0 ? 'whole' : 'otherwise whole'} (${report.promptTokens} tokens estimated, ${report.room} left for the next prompt and its answer)`);
          else {
            output.line(`compacted to fit: dropped ${counted(toFit.length, 'turn')}, kept ${report.promptTokens} tokens estimated (${report.room} left for the next prompt and its answer):`);
            for (const line of describeDroppedTurns(toFit)) output.line(`  dropped ${line}`);
          }
          if (report.invalidatedEnvelope) {
            output.line(
              output.color.yellow(
                output.forHome(
                  `envelope invalidated: ${report.to.capabilityClass} is above the approved ${report.session.envelope.maxCapability}; runs are refused until \`syndicate session approve ${report.session.id}\``,
                ),
              ),
            );
          }
        });
      } finally {
        context.close();
      }
    });

  provider
    .command('release')
    .description('lift the holds that keep a provider, or one provider:model, out of routes after failures or rate limits, in every syndicate process on this store (a running gateway included)')
    .argument('[provider[:model]]', 'the provider (its own hold and every model\'s), or one provider:model')
    .option('--all', "release every provider's holds")
    .addHelpText(
      'after',
      `
Holds begun before the release are lifted at once in every process (a running gateway sees it
within 5 ms); a failure after it holds again. Nothing held is not an error.
Exit codes: 0 released (or nothing was held), 2 unknown provider or model, 6 store failure.

Examples:
  $ syndicate provider release anthropic:claude-opus-5-5
  $ syndicate provider release ollama
  $ syndicate provider release --all --json`,
    )
    .action(async (name: string | undefined, options: { all?: boolean }, command: Command) => {
      if (options.all === true && name !== undefined) throw new UsageError('give a provider or --all, not both', { hint: '`syndicate provider release PROVIDER[:MODEL]`, or `syndicate provider release --all`' });
      if (options.all !== true && (name === undefined || name === '')) throw new UsageError('missing provider', { hint: '`syndicate provider release PROVIDER[:MODEL]` (`syndicate provider list` shows what is held), or `syndicate provider release --all`' });
      const context = contextFor(command);
      const [{ listProviders }, { holdsInForce, releaseHolds }, { releaseTargetOf }] = await Promise.all([
        import('../../registry/registry.js'),
        import('../../router/shared-holds.js'),
        import('../../router/release-target.js'),
      ]);
      try {
        const store = await context.store({ existing: true });
        const targets: ReleaseTarget[] = name === undefined ? listProviders(store).map((provider) => ({ provider, everyModel: true })) : [releaseTargetOf(store, name)];
        const released = releaseHolds(store, targets, 'every');
        const stillHeld = holdsInForce(store, targets.map((target) => target.provider));
        const { output } = context;
        output.result({ released, stillHeld }, () => {
          const [target] = targets;
          const what = name === undefined || target === undefined ? 'any provider' : target.model === undefined ? target.provider.id : `${target.provider.id}:${target.model}`;
          if (released.length === 0) output.line(`nothing was held back for ${what}`);
          for (const hold of released) output.line(`released ${describeHold(hold)}`);
          if (released.length > 0) output.line(`every syndicate process on this store may route to ${what} again`);
          printHeldBack(output, stillHeld);
        });
      } finally {
        context.close();
      }
    });

  provider.addCommand(providerTestCommand());
  provider.addCommand(providerCapabilitiesCommand());
  return provider;
}

/** `2`, or `v2` as `provider history` and `register` print it. */
function parseVersion(text: string, flag: string): number {
  const match = /^v?([1-9]\d*)$/i.exec(text.trim());
  if (match === null) throw new UsageError(`${flag} "${text}" is not a version number`, { hint: `use a whole number >= 1, e.g. ${flag} 2` });
  return Number(match[1]);
}

/** On stderr (also with --json): the discovered deviations a registration left out, and how to keep them. */
function warnDroppedDiscoveries(context: CommandContext, outcome: RegistrationOutcome): void {
  const dropped = outcome.droppedDiscoveries ?? [];
  if (dropped.length === 0) return;
  const deviations = dropped.map((item) => item.deviation).join(', ');
  const found = dropped
    .map((item) => `${item.deviation}: added in v${item.addedInVersion}, found by ${item.source === 'invocation' ? 'an invocation' : item.source.replace(/^probe:/, 'probe ')}${item.evidenceId === null ? '' : ` (evidence ${item.evidenceId})`}`)
    .join('; ');
  const file = outcome.sourcePath === null ? 'the provider file' : shellWord(outcome.sourcePath);
  context.output.warn(
    `${outcome.id} v${outcome.version} no longer declares ${deviations}, which ${dropped.length === 1 ? 'was' : 'were'} discovered on the engine (${found}). ` +
      `To keep ${dropped.length === 1 ? 'it' : 'them'}, list ${deviations} under deviations: in ${file} and register it again; ` +
      `otherwise the next probe or invocation that shows ${dropped.length === 1 ? 'it' : 'them'} adds ${dropped.length === 1 ? 'it' : 'them'} back as a new version`,
  );
}

function describeOutcome(outcome: RegistrationOutcome): string {
  switch (outcome.status) {
    case 'registered':
      return `registered ${outcome.id} v${outcome.version}`;
    case 'unchanged':
      return `unchanged ${outcome.id} (v${outcome.version})`;
    case 'updated':
      return `updated ${outcome.id} v${outcome.previousVersion ?? '?'} → v${outcome.version}: ${outcome.reason}`;
    case 'reactivated':
      return `re-registered ${outcome.id} as v${outcome.version} (it was retired): ${outcome.reason}`;
  }
}

function printVersion(context: CommandContext, current: RegisteredProvider, stored: ProviderVersion, holds: readonly HoldReport[]): void {
  const { output } = context;
  const { record } = stored;
  output.result(
    {
      provider: {
        id: current.id,
        version: stored.version,
        currentVersion: current.currentVersion,
        status: current.retiredAt === null ? 'active' : 'retired',
        retiredAt: current.retiredAt,
        contentHash: stored.contentHash,
        reason: stored.reason,
        changes: stored.changes,
        createdAt: stored.createdAt,
        sourcePath: stored.sourcePath,
        record,
      },
      holds,
    },
    () => {
      const status = current.retiredAt === null ? 'active' : `retired at ${current.retiredAt}`;
      const versionNote = stored.version === current.currentVersion ? 'current' : `current is v${current.currentVersion}`;
      output.line(`${output.color.bold(record.id)} v${stored.version} (${versionNote}, ${status})`);
      if (record.description !== undefined) output.line(`  ${record.description}`);
      output.line(`  class       ${record.class}`);
      output.line(`  wire        ${record.wire}`);
      output.line(`  base url    ${record.baseUrl}`);
      if (record.auth !== undefined) output.line(`  auth        $${record.auth.env}${record.auth.header === undefined ? '' : ` (header ${record.auth.header})`}`);
      output.line(`  deviations  ${record.deviations.length === 0 ? 'none declared' : record.deviations.join(', ')}`);
      if (record.engine !== undefined) {
        const launch = record.engine.launch === undefined ? '' : `, launch: ${[record.engine.launch.command, ...(record.engine.launch.args ?? [])].join(' ')}`;
        output.line(`  engine      ${record.engine.kind}${record.engine.vramBudgetGb === undefined ? '' : `, ${record.engine.vramBudgetGb} GB VRAM budget`}${launch}`);
      }
      output.line(`  hash        ${stored.contentHash}`);
      output.line(`  reason      ${stored.reason}`);
      output.line(`  created     ${stored.createdAt}${stored.sourcePath === null ? '' : ` from ${stored.sourcePath}`}`);
      output.line();
      output.table(
        ['model', 'context', 'capability', 'vram gb', 'priority', 'price in/out per mtok', 'tags', 'aliases', 'deviations'],
        record.models.map((model) => [
          model.id,
          model.contextWindow,
          model.capabilityClass,
          model.vramGb,
          model.priority,
          model.price === undefined ? undefined : describePrice(model.price),
          model.tags?.join(', '),
          model.aliases?.join(', '),
          model.deviations?.join(', '),
        ]),
      );
      if (holds.length > 0) output.line();
      printHeldBack(output, holds);
    },
  );
}

async function printCatalog(context: CommandContext): Promise<void> {
  const { examplesDirectory, loadCatalog } = await import('../../catalog/catalog.js');
  const entries = await loadCatalog();
  const examples = examplesDirectory();
  const { output } = context;
  output.result(
    {
      examples,
      catalog: entries.map((entry) => ({
        name: entry.name,
        id: entry.record.id,
        class: entry.record.class,
        wire: entry.record.wire,
        baseUrl: entry.record.baseUrl,
        engine: entry.engineKind ?? null,
        authEnv: entry.record.auth?.env ?? null,
        discoversModels: entry.local,
        models: entry.local ? [] : entry.record.models.map((model) => model.id),
        deviations: entry.record.deviations,
      })),
    },
    () => {
      output.table(
        ['name', 'class', 'wire', 'base url', 'models'],
        entries.map((entry) => [
          entry.name,
          entry.record.class,
          entry.record.wire,
          entry.record.baseUrl,
          entry.local ? `discovered from ${entry.engineKind ?? 'the engine'}` : `${entry.record.models.map((model) => model.id).join(', ')} ($${entry.record.auth?.env ?? '-'})`,
        ]),
      );
      output.line();
      output.line(output.forHome('register one with `syndicate provider add <name>` (local engines must be running)'));
      output.line(output.forHome(`or copy and edit a record from ${shellWord(examples)} and \`syndicate provider register FILE\` it`));
    },
  );
}

async function addEntry(context: CommandContext, name: string, options: { id?: string; baseUrl?: string }): Promise<void> {
  const { addFromCatalog } = await import('../../catalog/add.js');
  const { output } = context;
  const spinner = await output.spinner(`adding ${name}`);
  let result;
  try {
    result = await addFromCatalog(() => context.store(), name, {
      ...(options.id === undefined ? {} : { id: options.id }),
      ...(options.baseUrl === undefined ? {} : { baseUrl: options.baseUrl }),
      onProgress: (text) => spinner.update(`discovering models: ${text}`),
    });
  } catch (error) {
    spinner.fail(`could not add ${name}`);
    throw error;
  }
  spinner.stop();
  const { outcome, record, discovery, notes } = result;
  output.result(
    {
      entry: result.entry,
      outcome,
      record,
      discovery: discovery === undefined ? null : { engine: discovery.engine, engineUrl: discovery.engineUrl, notes: discovery.notes },
      notes,
    },
    () => {
      output.line(describeOutcome(outcome));
      if (discovery !== undefined) output.line(`discovered ${counted(record.models.length, 'model')} from ${discovery.engine} at ${discovery.engineUrl}`);
      output.table(
        ['model', 'context', 'capability'],
        record.models.map((model) => [model.id, model.contextWindow, model.capabilityClass]),
      );
      for (const note of [...notes, ...(discovery?.notes ?? [])]) output.info(`note: ${note}`);
      if (record.auth !== undefined) output.line(`the key is read from $${record.auth.env} at call time`);
    },
  );
  warnDroppedDiscoveries(context, outcome);
}

/** `$2 / $10 (cached in $0.1); over 272000 in: $4 / $15` — the base rates, then each tier's. */
function describePrice(price: ModelPrice): string {
  const base = `$${price.inputPerMTok} / $${price.outputPerMTok}${price.cachedInputPerMTok === undefined ? '' : ` (cached in $${price.cachedInputPerMTok})`}`;
  return [base, ...(price.tiers ?? []).map((tier) => `over ${tier.aboveInputTokens} in: $${tier.inputPerMTok} / $${tier.outputPerMTok}`)].join('; ');
}

function formatValue(value: unknown): string {
  if (value === undefined) return '(none)';
  return JSON.stringify(value);
}
