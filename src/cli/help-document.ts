import type { Argument, Command, Option } from 'commander';

/** One argument of a command, as its `--help` shows it. */
export interface HelpArgument {
  name: string;
  description: string;
  required: boolean;
  variadic: boolean;
  default?: unknown;
  choices?: string[];
}

/** One option of a command, as its `--help` shows it. */
export interface HelpOption {
  /** As written in the help: `-h, --help`, `--since <duration>`. */
  flags: string;
  long?: string;
  short?: string;
  description: string;
  /** Whether it takes a value (`<value>` required, `[value]` optional), and so whether the next word is that value. */
  takesValue: boolean;
  /** `--no-stream`: turns off what its positive form turns on. */
  negate: boolean;
  default?: unknown;
  choices?: string[];
}

/**
 * What `syndicate <command …> --help --json` prints: the command's own place in commander's tree
 * (the text help is built from the same), its subcommands described the same way, whole.
 */
export interface HelpDocument {
  name: string;
  /** The command line that reaches it: `syndicate provider register`. */
  path: string;
  usage: string;
  description: string;
  aliases: string[];
  arguments: HelpArgument[];
  options: HelpOption[];
  commands: HelpDocument[];
}

/**
 * The program's `-V, --version`: answered before commander parses anything (see `main.ts`), so it
 * is no commander option — one would take `provider show ID --version N` for itself — but it is
 * one of the program's options all the same: its text help lists it, and so do its document and
 * the completion scripts built from that.
 */
export const VERSION_OPTION: HelpOption = {
  flags: '-V, --version',
  long: '--version',
  short: '-V',
  description: "print the version (only before a command: `provider show ID --version N` is the command's own flag)",
  takesValue: false,
  negate: false,
};

/** The help of any command (the program's included), read from commander's tree: what its text help shows, structured. */
export function helpDocument(command: Command): HelpDocument {
  // The program: no parent, and commands below it (commander's implicit `help` has no parent either).
  return documentOf(command, command.parent === null && command.commands.length > 0);
}

function documentOf(command: Command, isProgram: boolean): HelpDocument {
  const helper = command.createHelp();
  const options = helper.visibleOptions(command).map(helpOption);
  return {
    name: command.name(),
    path: [...ancestors(command), command].map((each) => each.name()).join(' '),
    usage: helper.commandUsage(command),
    description: command.description(),
    aliases: command.aliases(),
    arguments: command.registeredArguments.map(helpArgument),
    // The program's text help lists -V, --version too (`buildProgram`); a program built without it still has it here.
    options: isProgram && !options.some((option) => option.long === VERSION_OPTION.long) ? [...options, VERSION_OPTION] : options,
    // The implicit `help [command]` is commander's, not ours: its text help lists it, so this does too.
    commands: helper.visibleCommands(command).map((child) => documentOf(child, false)),
  };
}

function ancestors(command: Command): Command[] {
  const chain: Command[] = [];
  for (let parent = command.parent; parent !== null; parent = parent.parent) chain.unshift(parent);
  return chain;
}

function helpArgument(argument: Argument): HelpArgument {
  return {
    name: argument.name(),
    description: argument.description,
    required: argument.required,
    variadic: argument.variadic,
    ...valueDetails(argument.defaultValue, argument.argChoices),
  };
}

function helpOption(option: Option): HelpOption {
  return {
    flags: option.flags,
    ...(option.long === undefined ? {} : { long: option.long }),
    ...(option.short === undefined ? {} : { short: option.short }),
    description: option.description,
    takesValue: option.required || option.optional,
    negate: option.negate,
    ...valueDetails(option.defaultValue, option.argChoices),
  };
}

function valueDetails(defaultValue: unknown, choices: string[] | undefined): { default?: unknown; choices?: string[] } {
  return { ...(defaultValue === undefined ? {} : { default: defaultValue }), ...(choices === undefined ? {} : { choices: [...choices] }) };
}
