import { Chalk, type ChalkInstance } from 'chalk';
import { formatInputProblem, InvalidInputError, type SyndicateError } from '../errors.js';
import { commandsForHome, hintsForHome, type HomePaths } from '../home/home.js';
import { checkStop, ITEMS_BETWEEN_CHECKS, runToEnd, type PausingWork } from '../common/pausing.js';
import { isStderrJson, writeDiagnostic, type LogFields } from './diagnostics.js';
import { endOpenLines, noteStreamed } from './open-lines.js';

export { logStderrAsJson, type LogFields } from './diagnostics.js';

export { counted } from '../common/counted.js';

export interface GlobalOptions {
  json?: boolean;
  home?: string;
}

/** A spinner on stderr when it is a TTY; otherwise a no-op that still reports the outcome once. */
export interface Spinner {
  update(text: string): void;
  succeed(text?: string): void;
  fail(text?: string): void;
  stop(): void;
}

/** Whether this process printed its `--json` document (result or error) on stdout: a second would break a script's parse. */
let documentPrinted = false;
/** Whether it printed a document as one line (`serve`): what follows on stdout must be JSON lines too. */
let documentLinePrinted = false;

export function printedDocument(): boolean {
  return documentPrinted;
}

/**
 * Everything a command prints goes through here: results on stdout, diagnostics on stderr,
 * one JSON document with `--json`, colour and spinners only on a TTY without NO_COLOR.
 */
export class Output {
  readonly json: boolean;
  /** Colour for what goes to stdout: on when stdout is a terminal (or FORCE_COLOR asks). */
  readonly color: ChalkInstance;
  /**
   * Colour for what goes to stderr (`info`, `warn`, errors), decided by stderr's own terminal: a
   * `run` on a terminal whose stderr goes to a file (`2>run.log`) writes no escape codes there.
   */
  readonly stderrColor: ChalkInstance;
  readonly stdoutIsTty: boolean;
  readonly stderrIsTty: boolean;
  /** NO_COLOR set (and not empty, as no-color.org reads it): no colour and no spinner. */
  private readonly noColor: boolean;
  /** TERM=dumb: a terminal that shows escape codes as text (Emacs' shell, some CI logs); no colour unless FORCE_COLOR asks, no spinner. */
  private readonly dumbTerminal: boolean;
  /** FORCE_COLOR set (not `0` or `false`): colour on stdout and stderr alike, a pipe or TERM=dumb included (not with NO_COLOR). */
  private readonly forcedColor: boolean;
  /** FORCE_COLOR=0 or false: no colour, on a terminal too, as Node's own output and chalk read it. */
  private readonly colorRefused: boolean;
  /** `CI` set: a runner's log keeps every line, so a spinner (whose frames ora would print as lines there) stays off, as ora's own is-interactive rule says. */
  private readonly continuousIntegration: boolean;
  /** The home the command runs on, when known: the `syndicate …` commands quoted in hints and warnings are made to work for it. */
  private readonly home: HomePaths | undefined;
  /**
   * The columns human output on stdout should fit in: on a terminal, `COLUMNS` when set to a
   * positive number (an operator's override, as Python's `shutil.get_terminal_size` reads it), else
   * the terminal's own width; undefined through a pipe or a file (a script reads every line as it
   * always was) and with `--json`.
   */
  readonly width: number | undefined;

  constructor(options: { json: boolean; env?: NodeJS.ProcessEnv; home?: HomePaths | undefined }) {
    const env = options.env ?? process.env;
    this.json = options.json;
    this.home = options.home;
    this.stdoutIsTty = process.stdout.isTTY === true;
    this.stderrIsTty = process.stderr.isTTY === true;
    this.noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
    this.dumbTerminal = env.TERM === 'dumb';
    this.continuousIntegration = env.CI !== undefined;
    this.colorRefused = env.FORCE_COLOR === '0' || env.FORCE_COLOR === 'false';
    this.forcedColor = env.FORCE_COLOR !== undefined && !this.colorRefused;
    this.color = new Chalk({ level: this.colorOn(this.stdoutIsTty) ? 1 : 0 });
    this.stderrColor = new Chalk({ level: this.colorOn(this.stderrIsTty) ? 1 : 0 });
    this.width = this.json || !this.stdoutIsTty ? undefined : terminalWidth(env.COLUMNS, process.stdout.columns);
  }

  /** Whether a stream (stdout or stderr: `isTty`) gets colour. */
  private colorOn(isTty: boolean): boolean {
    return !this.json && !this.noColor && !this.colorRefused && ((isTty && !this.dumbTerminal) || this.forcedColor);
  }

  /** Human result text on stdout (suppressed with --json: use `document`). */
  line(text = ''): void {
    if (!this.json) process.stdout.write(`${text}\n`);
  }

  /**
   * A model's text (an answer, its reasoning, a tool call) as stdout (`stream: 'stdout'`) or stderr
   * shows it: on a terminal, its control characters as escapes (`terminalSafeText`) — a model
   * steered by what it read can answer a screen clear or an OSC 52 clipboard write — and through a
   * pipe or into a file exactly as the model wrote it.
   */
  modelText(text: string, stream: 'stdout' | 'stderr' = 'stdout'): string {
    return (stream === 'stdout' ? this.stdoutIsTty : this.stderrIsTty) ? terminalSafeText(text) : text;
  }

  /** Raw text to stdout, e.g. streamed tokens. */
  write(text: string): void {
    process.stdout.write(text);
    noteStreamed('stdout', text);
  }

  /** Ends a line `write` or `writeStderr` left open (a stream cut short), so what follows starts on its own line. */
  endOpenLines(): void {
    endOpenLines();
  }

  /** Exact bytes to stdout (e.g. `evidence show --raw`), nothing added. */
  writeBytes(bytes: Uint8Array): void {
    process.stdout.write(bytes);
  }

  /** Raw text to stderr, e.g. a model's streamed reasoning beside the answer on stdout. */
  writeStderr(text: string): void {
    process.stderr.write(text);
    noteStreamed('stderr', text);
  }

  /** A diagnostic on stderr; always allowed, also with --json (a JSON line with `fields` after `logStderrAsJson`). */
  info(text: string, fields?: LogFields): void {
    writeDiagnostic('info', text, fields);
  }

  warn(text: string, fields?: LogFields): void {
    // JSON escapes control characters itself; a terminal gets them shown as text (`terminalSafe`).
    if (isStderrJson()) writeDiagnostic('warn', this.forHome(text), fields);
    else process.stderr.write(`${this.stderrColor.yellow('warning:')} ${terminalSafe(this.forHome(text))}\n`);
  }

  /** `text` with the `syndicate …` commands it quotes working as typed for this home (`--home DIR` added when it came from that flag). */
  forHome(text: string): string {
    return this.home === undefined ? text : commandsForHome(text, this.home);
  }

  /** `value` with every `hint` property in it, at any depth, made to work for this home as `forHome` makes one. */
  hintsForHome<T>(value: T): T {
    return this.home === undefined ? value : hintsForHome(value, this.home);
  }

  /** The single JSON document of a successful `--json` command. */
  document(body: Record<string, unknown>): void {
    this.documentText(JSON.stringify({ ok: true, ...body }, null, 2));
  }

  /** The single JSON document of a successful `--json` command, serialised already (`documentTextPausing`). */
  documentText(text: string): void {
    documentPrinted = true;
    process.stdout.write(`${text}\n`);
  }

  /**
   * The document of a command that goes on running once it is ready (`serve`), on one line: a
   * script reading stdout line by line has it whole the moment the command is ready.
   */
  documentLine(body: Record<string, unknown>): void {
    documentPrinted = true;
    documentLinePrinted = true;
    process.stdout.write(`${JSON.stringify({ ok: true, ...body })}\n`);
  }

  /** Prints the result: `document` with --json, otherwise the human renderer. */
  result(body: Record<string, unknown>, human: () => void): void {
    if (this.json) this.document(body);
    else human();
  }

  /**
   * An error, printed once: the JSON document on stdout with --json (on one line after a
   * `documentLine`), otherwise text on stderr.
   * `stdoutIsProtocol` (`syndicate mcp`, whose stdout carries only JSON-RPC): the document goes
   * to stderr instead, on one line.
   */
  error(error: SyndicateError, options: { stdoutIsProtocol?: boolean } = {}): void {
    const hint = error.hint === undefined ? undefined : this.forHome(error.hint);
    if (this.json) {
      const document = { ok: false, error: this.hintsForHome(error.toJSON()) };
      if (options.stdoutIsProtocol === true) process.stderr.write(`${JSON.stringify(document)}\n`);
      else {
        documentPrinted = true;
        // After a ready line (`serve`, `engine serve` stopped with requests cancelled), one line more: stdout stays JSON lines.
        process.stdout.write(documentLinePrinted ? `${JSON.stringify(document)}\n` : `${JSON.stringify(document, null, 2)}\n`);
      }
      return;
    }
    const color = this.stderrColor;
    // Messages quote what others wrote (an upstream's error answer, a file's content): text only reaches the terminal.
    process.stderr.write(`${color.red('error:')} ${terminalSafe(error.message)}\n`);
    if (error instanceof InvalidInputError) {
      for (const problem of error.problems) process.stderr.write(`  ${terminalSafe(formatInputProblem(this.hintsForHome(problem)))}\n`);
    }
    if (hint !== undefined) process.stderr.write(`${color.dim('hint:')} ${terminalSafe(hint)}\n`);
    // The evidence the refusal or failure recorded (`--json`: `details.evidenceId`), named as an answered `run` names its own.
    const evidenceId = error.details?.['evidenceId'];
    if (typeof evidenceId === 'string') process.stderr.write(`${color.dim(`evidence ${evidenceId}`)}\n`);
  }

  /** A table on stdout; one wider than the terminal (`width`) is printed as records, one per row (`renderTable`). */
  table(columns: string[], rows: (string | number | null | undefined)[][]): void {
    if (this.json) return;
    this.line(renderTable(columns, rows, this.color, this.width));
  }

  /** The text `table` prints, as work that pauses between rows (`renderTableWork`): printed with `line` once whole. */
  tableWork(columns: string[], rows: (string | number | null | undefined)[][]): PausingWork<string> {
    return renderTableWork(columns, rows, this.color, ITEMS_BETWEEN_CHECKS, this.width);
  }

  async spinner(text: string): Promise<Spinner> {
    // A terminal that reports no width (a pseudo-terminal no one sized: `script` in CI, `docker
    // exec -t` from a pipe) would make ora's line count infinite, and its clearing loop never end.
    if (this.json || this.noColor || this.dumbTerminal || this.continuousIntegration || !this.stderrIsTty || !((process.stderr.columns ?? 0) > 0)) return silentSpinner();
    const { default: ora } = await import('ora');
    const spinner = ora({ text, stream: process.stderr }).start();
    return {
      update: (next) => {
        spinner.text = next;
      },
      succeed: (final) => {
        spinner.succeed(final);
      },
      fail: (final) => {
        spinner.fail(final);
      },
      stop: () => {
        spinner.stop();
      },
    };
  }
}

function silentSpinner(): Spinner {
  return { update: () => {}, succeed: () => {}, fail: () => {}, stop: () => {} };
}

const ANSI = /\u001b\[[0-9;]*m/g;

// C0 and C1 control characters and DEL: a line break or an escape sequence would break a table row or drive the terminal.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;
const NAMED_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * `text` for one table cell: control characters written as escapes (`\n`, `\u001b`), everything
 * else as it is — a backslash stays one backslash, unlike with `JSON.stringify`.
 */
export function escapeControlCharacters(text: string): string {
  return text.replace(CONTROL_CHARACTERS, (character) => NAMED_ESCAPES[character] ?? escapedCharacter(character));
}

/** `COLUMNS` when it is a positive whole number, else the terminal's reported width when it reports one; undefined otherwise. */
export function terminalWidth(columnsVariable: string | undefined, reported: number | undefined): number | undefined {
  if (columnsVariable !== undefined && /^[1-9][0-9]{0,5}$/.test(columnsVariable.trim())) return Number(columnsVariable.trim());
  return reported !== undefined && reported > 0 ? reported : undefined;
}

/**
 * Rows under their column names, aligned. With `width` (the terminal's, `Output.width`), a table
 * whose lines would be wider is printed as records instead — each row as `COLUMN  value` lines,
 * a blank line between two, as psql's `\x auto` does: a wrapped row breaks every line of the
 * table in two, and shortening cells would cut the ids a reader copies (`evidence show ID`) and
 * the details they read. Without it (a pipe, a file) the table is printed whole, however wide.
 */
export function renderTable(
  columns: string[],
  rows: (string | number | null | undefined)[][],
  color: ChalkInstance,
  width?: number,
): string {
  return runToEnd(renderTableWork(columns, rows, color, ITEMS_BETWEEN_CHECKS, width));
}

/**
 * `renderTable` as work that pauses every `every` rows of each pass over them (`runPausing`):
 * tens of thousands of rows take a second or more (`evidence list --limit 100000`), and a signal
 * received meanwhile stops it before anything is printed.
 */
export function* renderTableWork(
  columns: string[],
  rows: (string | number | null | undefined)[][],
  color: ChalkInstance,
  every = ITEMS_BETWEEN_CHECKS,
  width?: number,
): PausingWork<string> {
  const cells: string[][] = [];
  for (const row of rows) {
    cells.push(row.map((cell) => (cell === null || cell === undefined ? '-' : String(cell))));
    if (cells.length % every === 0) yield;
  }
  // A loop, not Math.max(...cells): 100 000 rows as arguments overflow the stack (`evidence list --limit 200000`).
  const widths = columns.map((column) => column.length);
  for (const [count, row] of cells.entries()) {
    for (const [index, width] of widths.entries()) widths[index] = Math.max(width, (row[index] ?? '').replace(ANSI, '').length);
    if ((count + 1) % every === 0) yield;
  }
  const pad = (text: string, width: number): string => text + ' '.repeat(Math.max(0, width - text.replace(ANSI, '').length));
  const tableWidth = widths.reduce((total, columnWidth) => total + columnWidth, 0) + SEPARATOR.length * Math.max(0, widths.length - 1);
  if (width !== undefined && tableWidth > width && cells.length > 0) return yield* recordsWork(columns, cells, color, every);
  const header = columns.map((column, index) => color.bold(pad(column.toUpperCase(), widths[index] ?? 0))).join(SEPARATOR);
  const lines = [header.trimEnd()];
  for (const row of cells) {
    lines.push(row.map((cell, index) => pad(cell, widths[index] ?? 0)).join(SEPARATOR).trimEnd());
    if ((lines.length - 1) % every === 0) yield;
  }
  return lines.join('\n');
}

/** Between two columns of a table, and between a record's column name and its value. */
const SEPARATOR = '  ';

/** A table's rows as records (`renderTable` with a width the table does not fit in). */
function* recordsWork(columns: string[], cells: string[][], color: ChalkInstance, every: number): PausingWork<string> {
  const names = columns.map((column) => column.toUpperCase());
  const nameWidth = Math.max(0, ...names.map((name) => name.length));
  const records: string[] = [];
  for (const row of cells) {
    records.push(names.map((name, index) => `${color.bold(name.padEnd(nameWidth))}${SEPARATOR}${row[index] ?? ''}`.trimEnd()).join('\n'));
    if (records.length % every === 0) yield;
  }
  return records.join('\n\n');
}

/**
 * The text `Output.document` prints for `body` — `JSON.stringify({ ok: true, ...body }, null, 2)`,
 * byte for byte — serialised a slice of the list `body[listKey]` at a time with a `checkStop`
 * between two: serialising a list of many thousand rows takes seconds, and a signal received
 * meanwhile stops it (`signal`'s reason) before anything is printed, rather than once the whole
 * document has been written.
 */
export async function documentTextPausing(body: Record<string, unknown>, listKey: string, signal: AbortSignal, every = ITEMS_BETWEEN_CHECKS): Promise<string> {
  signal.throwIfAborted();
  const list = body[listKey];
  const whole = (value: unknown): string => JSON.stringify({ ok: true, ...body, [listKey]: value }, null, 2);
  if (!Array.isArray(list) || list.length <= every) return whole(list);
  // Each slice is serialised in the list's place, at its depth: the text before and after it is
  // the same every time (the document with a string no other member can hold in that place).
  const placeholder = '\u0000list';
  const skeleton = whole(placeholder);
  const at = skeleton.indexOf(JSON.stringify(placeholder));
  const prefix = skeleton.slice(0, at);
  const suffix = skeleton.slice(at + JSON.stringify(placeholder).length);
  const items: string[] = [];
  let closing = '';
  for (let start = 0; start < list.length; start += every) {
    if (start > 0) await checkStop(signal);
    const text = whole(list.slice(start, start + every));
    // `[\n` + the slice's items + `\n` + the list's indent + `]`.
    const array = text.slice(prefix.length, text.length - suffix.length);
    const end = array.lastIndexOf('\n');
    items.push(array.slice(2, end));
    closing = array.slice(end);
  }
  return `${prefix}[\n${items.join(',\n')}${closing}${suffix}`;
}

/**
 * `text` with every control character but line feed and tab shown as its escape (`\u001b`): an
 * upstream's error message, quoted in a diagnostic, can hold terminal control sequences — a screen
 * clear, a window title, OSC 52 (a clipboard write in many terminals), hidden text, a carriage
 * return that draws a line over syndicate's — which must reach the terminal as text, never act.
 */
export function terminalSafe(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, escapedCharacter);
}

/**
 * A model's text for a terminal: as `terminalSafe`, but a carriage return before a line feed (a
 * Windows line end in an answer) is kept.
 */
export function terminalSafeText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\r(?!\n)|[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g, escapedCharacter);
}

/** `\u001b`: a character as the escape that shows it. */
function escapedCharacter(character: string): string {
  return `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`;
}
