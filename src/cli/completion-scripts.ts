import type { HelpDocument, HelpOption } from './help-document.js';

export const COMPLETION_SHELLS = ['bash', 'zsh', 'fish'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/**
 * One command of the tree as a completion needs it: where it is (`provider show`, `''` for the
 * program), what may follow it, and which of its options take a value (the next word is that
 * value, not a command). The program's own options (`--json`, `--home`) are every command's.
 */
interface CompletionNode {
  path: string;
  commands: { name: string; description: string }[];
  options: { word: string; description: string; takesValue: boolean; choices: string[] }[];
  /** Whether it takes arguments: file names are then offered (every argument may name a file, or `-`). */
  takesArguments: boolean;
}

/**
 * The completion script for a shell, static: the whole command tree is written into it, so
 * completing never starts syndicate (nor opens its store). Regenerate it after an upgrade.
 */
export function completionScript(shell: CompletionShell, program: HelpDocument): string {
  const nodes = completionNodes(program);
  if (shell === 'bash') return bashScript(nodes);
  if (shell === 'zsh') return zshScript(nodes);
  return fishScript(nodes);
}

function completionNodes(program: HelpDocument): CompletionNode[] {
  // Every command takes the program's --json and --home; --version is the program's alone (after a command word it is that command's own flag, or none).
  const programOptions = program.options.filter((option) => option.long !== '--help' && option.long !== '--version');
  const nodes: CompletionNode[] = [];
  const visit = (command: HelpDocument, path: string[]): void => {
    const own = path.length === 0 ? command.options : [...command.options, ...programOptions];
    nodes.push({
      path: path.join(' '),
      commands: command.commands.map((child) => ({ name: child.name, description: child.description })),
      options: own.flatMap(optionWords),
      takesArguments: command.arguments.length > 0,
    });
    for (const child of command.commands) visit(child, [...path, child.name]);
  };
  visit(program, []);
  return nodes;
}

function optionWords(option: HelpOption): CompletionNode['options'] {
  return [option.long, option.short]
    .filter((word): word is string => word !== undefined)
    .map((word) => ({ word, description: option.description, takesValue: option.takesValue, choices: option.choices ?? [] }));
}

/** A word in single quotes for bash and zsh. */
function quoted(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A `case` over the command path, one branch per node that has something to say. */
function caseOverPath(nodes: readonly CompletionNode[], body: (node: CompletionNode) => string | undefined): string {
  const branches = nodes.flatMap((node) => {
    const text = body(node);
    return text === undefined ? [] : [`    ${quoted(node.path)}) ${text} ;;`];
  });
  return ['  case "$1" in', ...branches, '    *) reply=() ;;', '  esac'].join('\n');
}

function choiceBranches(nodes: readonly CompletionNode[]): string {
  const branches = nodes.flatMap((node) =>
    node.options.filter((option) => option.choices.length > 0).map((option) => `    ${quoted(`${node.path}|${option.word}`)}) reply=(${option.choices.map(quoted).join(' ')}) ;;`),
  );
  return ['  case "$1|$2" in', ...branches, '    *) reply=() ;;', '  esac'].join('\n');
}

function bashScript(nodes: readonly CompletionNode[]): string {
  const words = (list: readonly string[]): string => `reply=(${list.map(quoted).join(' ')})`;
  return `# bash completion for syndicate, written by \`syndicate completion bash\` (regenerate it after an upgrade)

_syndicate_commands() {
${caseOverPath(nodes, (node) => (node.commands.length === 0 ? undefined : words(node.commands.map((command) => command.name))))}
}

_syndicate_options() {
${caseOverPath(nodes, (node) => words(node.options.map((option) => option.word)))}
}

_syndicate_value_options() {
${caseOverPath(nodes, (node) => words(node.options.filter((option) => option.takesValue).map((option) => option.word)))}
}

_syndicate_choices() {
${choiceBranches(nodes)}
}

# Whether $1 is one of the words after it.
_syndicate_contains() {
  local word="$1"
  shift
  local candidate
  for candidate in "$@"; do [[ "$candidate" == "$word" ]] && return 0; done
  return 1
}

_syndicate() {
  local current="\${COMP_WORDS[COMP_CWORD]}" path="" word index
  local -a reply
  COMPREPLY=()
  for ((index = 1; index < COMP_CWORD; index++)); do
    word="\${COMP_WORDS[index]}"
    # After \`--\` only operands follow: the shell's own file names.
    [[ "$word" == "--" ]] && return 0
    if [[ "$word" == -* ]]; then
      _syndicate_value_options "$path"
      _syndicate_contains "$word" "\${reply[@]}" && ((index++))
      continue
    fi
    _syndicate_commands "$path"
    _syndicate_contains "$word" "\${reply[@]}" && path="\${path:+$path }$word"
  done
  if ((COMP_CWORD > 1)); then
    local previous="\${COMP_WORDS[COMP_CWORD-1]}"
    _syndicate_value_options "$path"
    if _syndicate_contains "$previous" "\${reply[@]}"; then
      _syndicate_choices "$path" "$previous"
      ((\${#reply[@]} > 0)) && COMPREPLY=($(compgen -W "\${reply[*]}" -- "$current"))
      return 0
    fi
  fi
  if [[ "$current" == -* ]]; then
    _syndicate_options "$path"
  else
    _syndicate_commands "$path"
  fi
  ((\${#reply[@]} > 0)) && COMPREPLY=($(compgen -W "\${reply[*]}" -- "$current"))
  return 0
}

# -o default: where nothing is offered (an argument, an option's value), the shell completes file names.
complete -o default -F _syndicate syndicate
`;
}

function zshScript(nodes: readonly CompletionNode[]): string {
  // `_describe` reads `name:description`; a colon in the name is escaped.
  const described = (entries: readonly { name: string; description: string }[]): string =>
    `reply=(${entries.map((entry) => quoted(`${entry.name.replace(/:/g, '\\:')}:${entry.description}`)).join(' ')})`;
  const words = (list: readonly string[]): string => `reply=(${list.map(quoted).join(' ')})`;
  return `#compdef syndicate
# zsh completion for syndicate, written by \`syndicate completion zsh\` (regenerate it after an upgrade)

_syndicate_commands() {
${caseOverPath(nodes, (node) => (node.commands.length === 0 ? undefined : described(node.commands)))}
}

_syndicate_options() {
${caseOverPath(nodes, (node) => described(node.options.map((option) => ({ name: option.word, description: option.description }))))}
}

_syndicate_value_options() {
${caseOverPath(nodes, (node) => words(node.options.filter((option) => option.takesValue).map((option) => option.word)))}
}

_syndicate_takes_arguments() {
  case "$1" in
${nodes.filter((node) => node.takesArguments).map((node) => `    ${quoted(node.path)}) return 0 ;;`).join('\n')}
  esac
  return 1
}

_syndicate_choices() {
${choiceBranches(nodes)}
}

_syndicate() {
  # Not \`path\`: in zsh that is the array tied to PATH.
  local command_path='' word index previous
  local -a reply names
  for (( index = 2; index < CURRENT; index++ )); do
    word=\${words[index]}
    if [[ $word == -- ]]; then
      _files
      return
    fi
    if [[ $word == -* ]]; then
      _syndicate_value_options "$command_path"
      (( \${reply[(Ie)$word]} )) && (( index++ ))
      continue
    fi
    _syndicate_commands "$command_path"
    names=(\${reply%%:*})
    (( \${names[(Ie)$word]} )) && command_path=\${command_path:+$command_path }$word
  done
  if (( CURRENT > 2 )); then
    previous=\${words[CURRENT-1]}
    _syndicate_value_options "$command_path"
    if (( \${reply[(Ie)$previous]} )); then
      _syndicate_choices "$command_path" "$previous"
      if (( \${#reply} )); then compadd -- "\${reply[@]}"; else _files; fi
      return
    fi
  fi
  if [[ \${words[CURRENT]} == -* ]]; then
    _syndicate_options "$command_path"
    _describe -t options option reply
    return
  fi
  _syndicate_commands "$command_path"
  if (( \${#reply} )); then
    _describe -t commands command reply
  elif _syndicate_takes_arguments "$command_path"; then
    _files
  fi
}

if [[ "\${funcstack[1]}" == _syndicate ]]; then
  _syndicate "$@"
else
  compdef _syndicate syndicate
fi
`;
}

/** A word in single quotes for fish (which escapes only \\ and ' inside them). */
function fishQuoted(text: string): string {
  return `'${text.replace(/[\\']/g, (character) => `\\${character}`)}'`;
}

function fishScript(nodes: readonly CompletionNode[]): string {
  const switchOverPath = (body: (node: CompletionNode) => readonly string[]): string => {
    const branches = nodes.flatMap((node) => {
      const list = body(node);
      return list.length === 0 ? [] : [`        case ${fishQuoted(node.path)}`, `            printf '%s\\n' ${list.map(fishQuoted).join(' ')}`];
    });
    return ['    switch "$argv[1]"', ...branches, '    end'].join('\n');
  };
  const lines: string[] = [];
  for (const node of nodes) {
    const at = `-n ${fishQuoted(`__syndicate_at ${fishQuoted(node.path)}`)}`;
    for (const command of node.commands) lines.push(`complete -c syndicate ${at} -a ${fishQuoted(command.name)} -d ${fishQuoted(command.description)}`);
    if (node.takesArguments) lines.push(`complete -c syndicate ${at} -F`);
    for (const option of node.options) {
      const flag = option.word.startsWith('--') ? `-l ${fishQuoted(option.word.slice(2))}` : `-s ${fishQuoted(option.word.slice(1))}`;
      const value = !option.takesValue ? '' : option.choices.length > 0 ? ` -x -a ${fishQuoted(option.choices.join(' '))}` : ' -r -F';
      lines.push(`complete -c syndicate ${at} ${flag}${value} -d ${fishQuoted(option.description)}`);
    }
  }
  return `# fish completion for syndicate, written by \`syndicate completion fish\` (regenerate it after an upgrade)

function __syndicate_commands
${switchOverPath((node) => node.commands.map((command) => command.name))}
end

function __syndicate_value_options
${switchOverPath((node) => node.options.filter((option) => option.takesValue).map((option) => option.word))}
end

# The command the line is in so far: \`provider show\`, or '' for the program itself.
function __syndicate_command_path
    set -l path
    set -l skip 0
    for token in (commandline -opc)[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        test "$token" = '--'; and break
        if string match -q -- '-*' $token
            contains -- $token (__syndicate_value_options "$path"); and set skip 1
            continue
        end
        contains -- $token (__syndicate_commands "$path"); and set path (string join ' ' $path $token)
    end
    echo "$path"
end

# After \`--\` only operands follow: file names, as bash and zsh offer there, never a command or an option.
function __syndicate_after_operands_mark
    contains -- '--' (commandline -opc)[2..-1]
end

function __syndicate_at
    __syndicate_after_operands_mark; and return 1
    set -l path (__syndicate_command_path)
    test "$path" = "$argv[1]"
end

# No file names unless a command takes arguments, an option a value, or \`--\` came before.
complete -c syndicate -f
complete -c syndicate -n __syndicate_after_operands_mark -F
${lines.join('\n')}
`;
}
