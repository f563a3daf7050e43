import { Command, CommanderError, Help, Option } from 'commander';
import { closest } from '../common/closest.js';
import { ExitCode, SyndicateError, toSyndicateError, UsageError } from '../errors.js';
import { resolveHome, type HomePaths } from '../home/home.js';
import { helpDocument, VERSION_OPTION } from './help-document.js';
import { whenStoppedAtOnce } from './interrupt.js';
import { writeDiagnostic } from './diagnostics.js';
import { Output, printedDocument, type GlobalOptions } from './output.js';

/**
 * Every command, in the order an operator meets them (set up, register, decide, invoke, inspect,
 * serve), each loaded only when the program needs it: a command line that names one loads that
 * module alone (see `namedCommand`), which keeps the start-up of every process short.
 */
const COMMANDS: ReadonlyArray<readonly [name: string, load: () => Promise<Command>]> = [
  ['init', async () => (await import('./commands/init.js')).initCommand()],
  ['doctor', async () => (await import('./commands/doctor.js')).doctorCommand()],
  ['provider', async () => (await import('./commands/provider.js')).providerCommand()],
  ['policy', async () => (await import('./commands/policy.js')).policyCommand()],
  ['classify', async () => (await import('./commands/classify.js')).classifyCommand()],
  ['route', async () => (await import('./commands/route.js')).routeCommand()],
  ['run', async () => (await import('./commands/run.js')).runCommand()],
  ['embed', async () => (await import('./commands/embed.js')).embedCommand()],
  ['session', async () => (await import('./commands/session.js')).sessionCommand()],
  ['permit', async () => (await import('./commands/permit.js')).permitCommand()],
  ['evidence', async () => (await import('./commands/evidence.js')).evidenceCommand()],
  ['serve', async () => (await import('./commands/serve.js')).serveCommand()],
  ['mcp', async () => (await import('./commands/mcp.js')).mcpCommand()],
  ['engine', async () => (await import('./commands/engine.js')).engineCommand()],
  ['metrics', async () => (await import('./commands/metrics.js')).metricsCommand()],
  ['completion', async () => (await import('./commands/completion.js')).completionCommand()],
];

/**
 * The command a line runs, when commander is sure to run it whatever the other commands are: the
 * first word after nothing but the program's own options (`--json`, `--home DIR`) names it.
 * Anything else before it (`--help`, an unknown flag, `--home=DIR`, `--`) or a word that names no
 * command leaves it undecided, and the whole program is loaded, as the root help and commander's
 * suggestions need every command.
 */
export function namedCommand(argv: readonly string[]): string | undefined {
  const words = argv.slice(2);
  for (let index = 0; index < words.length; index += 1) {
    const word = words[index] ?? '';
    if (word === '--json') continue;
    if (word === '--home') {
      index += 1;
      continue;
    }
    if (word.startsWith('-')) return undefined;
    return COMMANDS.some(([name]) => name === word) ? word : undefined;
  }
  return undefined;
}

/** The program with every command, or with only `only` when the line names it (see `namedCommand`). */
export async function buildProgram(only?: string): Promise<Command> {
  const program = new Command('syndicate')
    .description('Governed control plane for LLM inference on this host: classify, route, permit, invoke, record.')
    .addOption(new Option('--json', 'print one JSON document on stdout instead of human output'))
    .addOption(new Option('--home <dir>', 'data directory (default: $SYNDICATE_HOME, else XDG data/config dirs)'))
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      `
Examples:
  $ syndicate init
  $ syndicate provider register ollama-local.yaml
  $ syndicate provider list --json
  $ syndicate engine serve --model model.gguf --register local
  $ git diff | syndicate run - --workflow batch
  $ syndicate doctor

Exit codes: 0 ok, 1 check failed, 2 usage, 3 invalid input, 4 refused by policy,
            5 upstream failure, 6 store failure, 70 internal bug, 130 interrupted,
            141 output closed while run streamed, 143 terminated (SIGTERM).`,
    );

  // -V, --version is answered before commander parses (see `main.ts`), so it is no option of commander's;
  // the program's help lists it under Options all the same, after --help (as its document does).
  const versionOption = new Option(VERSION_OPTION.flags, VERSION_OPTION.description);
  program.configureHelp({
    visibleOptions(command: Command): Option[] {
      const shown = Help.prototype.visibleOptions.call(this, command);
      return command === program ? [...shown, versionOption] : shown;
    },
  });

  const loads = COMMANDS.filter(([name]) => only === undefined || name === only).map(([, load]) => load());
  for (const command of await Promise.all(loads)) program.addCommand(command);

  applyToTree(program, (command) => {
    command.exitOverride();
    command.configureOutput({ outputError: () => {} });
    refuseBothSidesOfNegation(command);
  });
  return program;
}

/**
 * `run --stream --no-stream`: commander lets the last of the pair win, and `.conflicts()` cannot
 * tell them apart (they set one value). A line giving both is refused as commander refuses
 * `.conflicts()` pairs, before the action runs (and after `--help`, which still shows the help).
 */
function refuseBothSidesOfNegation(command: Command): void {
  for (const negative of command.options.filter((option) => option.negate)) {
    const positive = command.options.find((option) => !option.negate && option.attributeName() === negative.attributeName());
    if (positive === undefined) continue;
    const given = new Set<string>();
    for (const option of [positive, negative]) command.on(`option:${option.name()}`, () => given.add(option.flags));
    command.hook('preAction', () => {
      if (given.size > 1) command.error(`error: option '${positive.flags}' cannot be used with option '${negative.flags}'`, { code: 'commander.conflictingOption' });
    });
  }
}

function applyToTree(command: Command, apply: (command: Command) => void): void {
  apply(command);
  for (const child of command.commands) applyToTree(child, apply);
}

/**
 * Whether `--json` was asked for, read from the raw command line because the error to print may
 * come from commander before it has parsed anything. Reads the words as commander reads the
 * program's own options, which it picks out anywhere on the line: it stops at `--` (what follows
 * is operands, e.g. a prompt that is literally `--json`) and skips the value of a program option
 * that takes one (`--home --json` names a directory). A subcommand's option does not protect the
 * next word: commander gives `run --system --json hi` the flag, so this does too.
 */
function wantsJson(program: Command, argv: string[]): boolean {
  return programWords(program, argv).json;
}

/** `syndicate mcp`: its stdout carries only the MCP protocol, so an error there would corrupt it (see `Output.error`). */
function stdoutIsProtocol(program: Command, argv: string[]): boolean {
  return programWords(program, argv).command === 'mcp';
}

/** The `--json` flag and the command word (the first operand), read from the raw line as `wantsJson` describes. */
function programWords(program: Command, argv: string[]): { json: boolean; command?: string } {
  const words = argv.slice(2);
  let json = false;
  let command: string | undefined;
  for (let index = 0; index < words.length; index += 1) {
    const word = words[index] ?? '';
    if (word === '--') break;
    if (word === '--json') json = true;
    else if (command === undefined && !word.startsWith('-')) command = word;
    const option = program.options.find((candidate) => candidate.long === word || candidate.short === word);
    const next = words[index + 1];
    if (option?.required === true || (option?.optional === true && next !== undefined && !next.startsWith('-'))) index += 1;
  }
  return command === undefined ? { json } : { json, command };
}

/**
 * `syndicate <command …> --help` for the (sub)command the line names, as far as it names known
 * ones — the help of the command a bad flag or argument was given to; `syndicate --help` when the
 * line names none. Values of the options before each command word are skipped.
 */
function helpCommandFor(program: Command, argv: string[]): string {
  const names: string[] = [];
  let current = program;
  const words = argv.slice(2);
  for (let index = 0; index < words.length; index += 1) {
    const word = words[index] ?? '';
    if (word === '--') break;
    if (word.startsWith('-')) {
      const option = [...current.options, ...program.options].find((candidate) => candidate.long === word || candidate.short === word);
      if (option?.required === true) index += 1;
      continue;
    }
    const next = current.commands.find((candidate) => candidate.name() === word || candidate.aliases().includes(word));
    if (next === undefined) break;
    names.push(word);
    current = next;
  }
  return ['syndicate', ...names, '--help'].join(' ');
}

/**
 * With `--json`, the help a line asks for (`--help`, `help <command>`) is printed as the document of
 * the command it names (see `helpDocument`): the text help goes nowhere, and the command it was
 * for is kept here. Help printed for a usage error (a group without its subcommand) goes to stderr
 * as text and is not kept: that line fails with its error document.
 */
function documentHelp(program: Command): { command?: Command } {
  const asked: { command?: Command } = {};
  applyToTree(program, (command) => {
    command.configureOutput({ writeOut: () => {} });
    command.on('beforeHelp', (context: { error: boolean; command: Command }) => {
      if (!context.error) asked.command = context.command;
    });
  });
  return asked;
}

/**
 * The home `--home` named, if it names one: the hint of an error is printed for it (see
 * `Output.forHome`). Read from commander's parsed options, which hold the flag wherever it stood.
 */
function homeFromFlag(program: Command): HomePaths | undefined {
  const { home } = program.opts<GlobalOptions>();
  return home === undefined || home.trim() === '' ? undefined : resolveHome({ home });
}

/**
 * `syndicate help <command …>` (and `syndicate provider help <command …>`) as `syndicate <command …>
 * --help`. Commander's help command reads only the word after it: `help provider show` showed
 * `provider`'s help, `help provider nosuch` too (exit 0), and `help nosuch` printed the root help
 * with "missing subcommand". Every word after `help` up to the first option now names a command
 * below the last, and one that names none is an unknown command (exit 2), as it is without `help`.
 */
function helpCommandLine(program: Command, argv: string[]): string[] {
  const words = argv.slice(2);
  let current = program;
  for (let index = 0; index < words.length; index += 1) {
    const word = words[index] ?? '';
    if (word === '--') break;
    if (word.startsWith('-')) {
      const option = program.options.find((candidate) => candidate.long === word || candidate.short === word);
      if (option?.required === true) index += 1;
      continue;
    }
    if (word === 'help' && current.commands.length > 0) {
      let end = index + 1;
      let topic = current;
      for (; end < words.length && !(words[end] ?? '-').startsWith('-'); end += 1) {
        const name = words[end] ?? '';
        // `help help`: the help command's own help is its group's.
        if (name === 'help') continue;
        const next = topic.commands.find((candidate) => candidate.name() === name || candidate.aliases().includes(name));
        if (next === undefined) {
          const nearest = closest(name, topic.commands.map((candidate) => candidate.name()));
          const path = ['syndicate', ...ancestorNames(topic), '--help'].join(' ');
          throw new UsageError(`unknown command '${name}'${nearest === undefined ? '' : `\n(Did you mean ${nearest}?)`}`, { hint: `run \`${path}\`` });
        }
        topic = next;
      }
      if (end === index + 1) return argv;
      return [...argv.slice(0, 2), ...words.slice(0, index), ...words.slice(index + 1, end), '--help', ...words.slice(end)];
    }
    const next = current.commands.find((candidate) => candidate.name() === word || candidate.aliases().includes(word));
    if (next === undefined) return argv;
    current = next;
  }
  return argv;
}

/** The command words from the program down to `command`: `['provider', 'show']`. */
function ancestorNames(command: Command): string[] {
  const names: string[] = [];
  for (let each: Command | null = command; each?.parent !== null && each !== null; each = each.parent) names.unshift(each.name());
  return names;
}

/**
 * Whether commander's unknown option is text no option could be: it holds whitespace (a prompt held
 * in a variable that begins with a bullet, `syndicate run "$LINE"` of `- fix the build`).
 */
function textReadAsOption(error: CommanderError, message: string): boolean {
  if (error.code !== 'commander.unknownOption') return false;
  const word = /^unknown option '(.*)'/s.exec(message)?.[1];
  return word !== undefined && /\s/.test(word);
}

/** Parses and runs one command line; returns the exit code (the entry point sets it). */
export async function runProgram(argv: string[]): Promise<number> {
  const program = await buildProgram(namedCommand(argv));
  const helpAsked = wantsJson(program, argv) ? documentHelp(program) : {};
  if (wantsJson(program, argv)) {
    whenStoppedAtOnce((error) => {
      if (!printedDocument()) new Output({ json: true, home: homeFromFlag(program) }).error(error, { stdoutIsProtocol: stdoutIsProtocol(program, argv) });
    });
  }
  try {
    await program.parseAsync(helpCommandLine(program, argv));
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0 || error.code === 'commander.helpDisplayed' || error.code === 'commander.version') {
        if (helpAsked.command !== undefined) new Output({ json: true }).document({ command: helpDocument(helpAsked.command) });
        return ExitCode.ok;
      }
      // A command group run without its subcommand: commander has printed the group's help (to
      // stderr) and reports '(outputHelp)', which says nothing to the user.
      const message = error.code === 'commander.help' ? 'missing subcommand: pick one of the commands listed above' : error.message.replace(/^error: /, '');
      const help = `\`${helpCommandFor(program, argv)}\``;
      const usage = new UsageError(message, { hint: error.code === 'commander.conflictingOption' ? `give one of the two; ${help} says what each does` : textReadAsOption(error, message) ? `text that begins with \`-\` is read as an option: put \`--\` before it (\`${helpCommandFor(program, argv).replace(/ --help$/, '')} -- "$TEXT"\`), or pipe it on stdin; ${help} lists the options` : `run ${help}` });
      // Its hint names `--help`, which reads no home.
      new Output({ json: wantsJson(program, argv) }).error(usage, { stdoutIsProtocol: stdoutIsProtocol(program, argv) });
      return usage.exitCode;
    }
    const failure: SyndicateError = toSyndicateError(error);
    new Output({ json: wantsJson(program, argv), home: homeFromFlag(program) }).error(failure, { stdoutIsProtocol: stdoutIsProtocol(program, argv) });
    if (failure.exitCode === ExitCode.internal && process.env.SYNDICATE_DEBUG !== undefined) {
      writeDiagnostic('error', (error as Error).stack ?? '');
    }
    return failure.exitCode;
  }
}
