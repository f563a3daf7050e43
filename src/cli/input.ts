import { Option } from 'commander';
import { fstatSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { shellWord } from '../common/shell-word.js';
import { decodeTextBytes } from '../common/text-bytes.js';
import { inLevelOrder, isSensitivityLevel, SENSITIVITY_LEVELS, SESSION_ID_PATTERN, SESSION_ID_RULE, type SensitivityLevel } from '../common/vocabulary.js';
import { InvalidInputError, UsageError } from '../errors.js';
import { providerChoice } from '../invoke/provider-choice.js';
import { INPUT_LIMIT_BYTES, inputTooLarge, readInputFile, STDIN_FILE_NAME, unreadableInputFile } from '../validation/input-file.js';

/**
 * Reads all of stdin as text (UTF-8, or UTF-16 with a byte-order mark); refuses to wait on an
 * interactive terminal, and refuses bytes that are not text (see `decodeTextBytes`) rather than
 * classify and send a mangled or unreadable version of them.
 */
export async function readStdin(what: string): Promise<string> {
  const decoded = decodeTextBytes(await readStdinBytes(`no ${what} given`, `pass the ${what} as an argument, or pipe it on stdin`));
  if (!decoded.ok) throw new UsageError(`the ${what} on stdin ${decoded.problem}; nothing was classified or sent`, { hint: decoded.hint });
  return decoded.text;
}

/**
 * The warning for a prompt argument that is nothing but the path of an existing file (`syndicate run
 * docs/a.md`): almost always meant as the file's content, which a redirection sends (`run <
 * docs/a.md`). Only a warning — the prompt is still the text typed, as a script may mean it.
 * Undefined for any other prompt.
 */
export function promptNamesFileWarning(prompt: string, command: 'run' | 'route'): string | undefined {
  if (prompt.includes('\n') || prompt.length > 4096) return undefined;
  try {
    if (!statSync(prompt).isFile()) return undefined;
  } catch {
    return undefined;
  }
  return `the prompt is the text ${JSON.stringify(prompt)}, which names a file: its content was not read; to send the file, redirect it: \`syndicate ${command} < ${shellWord(prompt)}\``;
}

/**
 * All of stdin as bytes; on an interactive terminal, which would wait for typing, a usage error
 * saying `refusal` with `hint`. Over `INPUT_LIMIT_BYTES` it stops reading (the rest is never held)
 * and refuses the input (exit 3), as it refuses stdin redirected from a directory (`< DIR`), which
 * would read as nothing at all.
 */
export async function readStdinBytes(refusal: string, hint: string): Promise<Buffer> {
  if (process.stdin.isTTY === true) throw new UsageError(refusal, { hint });
  if (stdinIsDirectory()) throw unreadableInputFile(STDIN_FILE_NAME, 'EISDIR', 'stdin is a directory: redirect a file into it (`< FILE`), not a directory');
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin) {
    total += (chunk as Buffer).length;
    // Leaving the loop destroys stdin: its writer gets EPIPE, as for any reader that stopped.
    if (total > INPUT_LIMIT_BYTES) throw inputTooLarge(STDIN_FILE_NAME);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, total);
}

function stdinIsDirectory(): boolean {
  try {
    return fstatSync(0).isDirectory();
  } catch {
    return false; // no stdin at all: read as the empty input it gives
  }
}

/** Reads a text file the operator named (`classify --file`, `route --request`); bytes that are not text are an invalid input file (exit 3). */
export function readTextFile(file: string): string {
  return textOf(readInputFile(file), file);
}

/** A file of input the operator named, or stdin for `-` (named `STDIN_FILE_NAME` in every problem): its text and that name. */
export interface TextInput {
  text: string;
  file: string;
}

/**
 * `readTextFile`, where `-` reads stdin (`classify --file -`, `policy check -`, `run --schema -`):
 * the same checks, its problems located in `<stdin>`. `stdinAtMostOnce` first, when a command
 * takes several inputs.
 */
export async function readTextInput(file: string, flag: string): Promise<TextInput> {
  if (file !== '-') return { text: readTextFile(file), file };
  const bytes = await readStdinBytes(`${flag} - reads stdin, which is a terminal here`, `pipe the file: ${flag} - < FILE, or name it: ${flag} FILE`);
  return { text: textOf(bytes, STDIN_FILE_NAME), file: STDIN_FILE_NAME };
}

function textOf(bytes: Uint8Array, file: string): string {
  const decoded = decodeTextBytes(bytes);
  if (!decoded.ok) throw new InvalidInputError(`${file} ${decoded.problem}`, [{ file, pointer: '', message: decoded.problem }], { hint: decoded.hint });
  return decoded.text;
}

/**
 * Refuses a command line that reads stdin in more than one place (`run --schema - --tools -`, a
 * prompt from stdin beside `--image -`): stdin can be read only once (exit 2). `readers` lists each
 * place as the operator would name it, with whether it reads stdin.
 */
export function stdinAtMostOnce(readers: ReadonlyArray<readonly [where: string, readsStdin: boolean]>): void {
  const reading = readers.filter(([, readsStdin]) => readsStdin).map(([where]) => where);
  if (reading.length < 2) return;
  const named = `${reading.slice(0, -1).join(', ')} and ${reading.at(-1) ?? ''}`;
  throw new UsageError(`${named} would each read stdin, which can be read only once`, {
    hint: 'read one of them from stdin: give the others as arguments or files',
  });
}

/**
 * A flag naming a file (`--output`, `--out`, `--model`): an empty value is a usage error. A script's
 * `--output "$FILE"` with FILE unset gave one; resolved, it named the current directory (`engine
 * serve --model ''` read it, `make-test-model --out ''` tried to write it) or a directory `.` said
 * not to exist.
 */
export function filePathOption(value: string, flag: string, example: string): string {
  if (value === '') throw new UsageError(`${flag} must name a file, got an empty value`, { hint: `give a path, e.g. ${flag} ${example}` });
  return value;
}

/**
 * `--provider` and `--model` of `run`, `route` and `embed`: an empty value (a script's
 * `--model "$MODEL"` with MODEL unset) is a usage error. An empty --model was read as `auto`, the
 * policy's choice among every model, and an empty --provider said "no provider  is registered".
 */
export function refuseEmptyModelChoice(options: { provider?: string | undefined; model?: string | undefined }): void {
  if (options.provider !== undefined && options.provider.trim() === '') {
    throw new UsageError('--provider must not be empty', { hint: 'name a registered provider (`syndicate provider list`), or leave --provider out to let the policy choose' });
  }
  if (options.model !== undefined && options.model.trim() === '') {
    throw new UsageError('--model must not be empty', { hint: 'name a model (`syndicate provider list`), or leave --model out (or give --model auto) to let the policy choose' });
  }
}

/**
 * The provider and model `--provider ID[:MODEL]` and `--model` name, as `run` and `route` take
 * them: `--provider id:model` names the model too, and a different `--model` beside it (which would
 * be silently ignored) is a usage error. `modelFromCommandLine`: `--model` was given on the command line.
 */
export function providerAndModel(options: { provider?: string | undefined; model?: string | undefined }, modelFromCommandLine: boolean): { provider?: string; model: string } {
  const { provider, model: providerModel } = providerChoice(options.provider);
  const namedModel = providerModel?.slice(providerModel.indexOf(':') + 1);
  if (namedModel !== undefined && modelFromCommandLine && options.model !== namedModel && options.model !== providerModel) {
    throw new UsageError(`--provider ${options.provider ?? ''} names the model ${namedModel} and --model names ${options.model ?? ''}`, {
      hint: `give the model once: --provider ${provider ?? ''} --model ${options.model ?? ''}, or --provider ${options.provider ?? ''} alone`,
    });
  }
  return { ...(provider === undefined ? {} : { provider }), model: providerModel ?? options.model ?? 'auto' };
}

/** A flag that must be a whole number of at least 1 (`--max-tokens 512`); undefined when absent. */
export function positiveIntegerOption(value: string | undefined, flag: string, example = 512): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) {
    throw new UsageError(`${flag} must be a positive whole number, got "${value}"`, { hint: `for example ${flag} ${example}` });
  }
  return number;
}

/** A flag that must be a finite number within `range` (`--temperature 0.7`); undefined when absent. */
export function numberOption(value: string | undefined, flag: string, range: { minimum: number; maximum: number }, example = 0.7): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number < range.minimum || number > range.maximum) {
    throw new UsageError(`${flag} must be a number from ${range.minimum} to ${range.maximum}, got "${value}"`, { hint: `for example ${flag} ${example}` });
  }
  return number;
}

/** `--port`: a whole number from 0 to 65535, 0 letting the system pick a free port. */
export function portOption(value: string, example: number): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) {
    throw new UsageError(`--port must be an integer from 0 to 65535, got "${value}"`, { hint: `for example --port ${example}, or --port 0 to pick a free port` });
  }
  return port;
}

/** Each value of a repeatable option through `normalize`, whose plain Error becomes a usage error naming the option. */
export function checkEachOption(values: readonly string[], normalize: (value: string) => string, option: string, hint: string): void {
  for (const value of values) {
    try {
      normalize(value);
    } catch (error) {
      throw new UsageError(`${option}: ${(error as Error).message}`, { hint });
    }
  }
}

/** DNS labels of letters, digits and inner hyphens; the last one not all digits (`999.1.1.1` is no address and no name). */
const HOST_NAME = /^(?=.{1,253}\.?$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*(?=[a-z0-9-]*[a-z-])[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.?$/i;

/**
 * `--host`: an IP address (an IPv6 one bracketed or not) or a host name, returned as the address
 * to bind (without brackets). A URL or `host:port` is refused here, naming the flags to use
 * instead, rather than failing later as a name that does not resolve.
 */
export function hostOption(value: string): string {
  const trimmed = value.trim();
  const bare = trimmed.startsWith('[') && trimmed.endsWith(']') ? trimmed.slice(1, -1) : trimmed;
  if (isIP(bare) !== 0 || (bare === trimmed && HOST_NAME.test(bare))) return bare;
  throw new UsageError(`--host must be an IP address or a host name, got "${value}"`, {
    hint: 'give the address alone, e.g. --host 127.0.0.1 (the default), --host ::1 or --host localhost; the port goes in --port',
  });
}

/**
 * `--session` of `evidence list` and `metrics`: a stored session's id or name, or any id requests
 * carried (a coding agent's own). An empty value (a script's `--session "$SESSION"` with SESSION
 * unset) is a usage error as `run`'s is: it only warned that nothing is named "", and listed nothing.
 */
export function sessionFilterOption(value: string | undefined): string | undefined {
  if (value !== undefined && value.trim() === '') {
    throw new UsageError('--session must not be empty', {
      hint: 'give a session id or name (`syndicate session list`; the ids requests carried: `syndicate evidence list`), or leave --session out for every session',
    });
  }
  return value;
}

/**
 * `--session`: an id as the gateway takes it in `x-syndicate-session`; undefined when absent.
 * Checked before anything is routed or recorded: an empty or malformed id is a usage error, not a
 * refusal left in the evidence.
 */
export function sessionOption(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!SESSION_ID_PATTERN.test(value)) {
    throw new UsageError(`--session must be ${SESSION_ID_RULE}, got ${JSON.stringify(value)}`, {
      hint: 'for example --session ci-build-1234, the id the gateway takes in x-syndicate-session',
    });
  }
  return value;
}

/**
 * `--sensitivity` of `evidence list`, `evidence export` and `metrics` (commander's argument
 * parser): one level, or several separated by commas — `confidential,restricted` is confidential
 * and above — and a repeated flag adds its levels. Each level once, in the order of the levels.
 */
export function sensitivityLevelsOption(value: string, previous: readonly SensitivityLevel[] | undefined): SensitivityLevel[] {
  const given = value.split(',').map((word) => word.trim().toLowerCase());
  const wrong = given.find((word) => !isSensitivityLevel(word));
  if (wrong !== undefined) {
    throw new UsageError(`--sensitivity ${value}: ${wrong === '' ? 'an empty level' : `"${wrong}" is not a sensitivity level`}`, {
      hint: `give one of ${SENSITIVITY_LEVELS.join(', ')}, or several separated by commas: --sensitivity confidential,restricted (confidential and above)`,
    });
  }
  return inLevelOrder([...(previous ?? []), ...(given as SensitivityLevel[])]);
}

/** `--sensitivity <levels>` of `evidence list`, `evidence export` and `metrics`, saying what it keeps of `what`. */
export function sensitivityOption(what: string): Option {
  // The levels as choices for the help and the completion scripts; the parser, set after them, takes several.
  return new Option('--sensitivity <levels>', `only ${what} the classifier gave one of these levels, separated by commas (confidential,restricted: confidential and above)`)
    .choices([...SENSITIVITY_LEVELS])
    .argParser(sensitivityLevelsOption);
}
