import { accessSync, closeSync, constants, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { shellWord } from '../common/shell-word.js';
import { InvalidInputError } from '../errors.js';

/** How input read from stdin (a file option or argument given as `-`) is named in every message and problem location. */
export const STDIN_FILE_NAME = '<stdin>';

/**
 * An input file the operator named (`policy check FILE`, `provider register FILE`, `classify
 * --file`, `engine serve --model`) that cannot be read: one error for every command, exit 3 as
 * for any invalid input file, with a hint for the reason.
 */
export function unreadableInputFile(displayPath: string, errorCode: string | undefined, directoryHint?: string): InvalidInputError {
  const { reason, hint } = unreadableReason(displayPath, errorCode, directoryHint);
  // No problem list: the message names the file and why, which a list would only repeat.
  return new InvalidInputError(`cannot read ${displayPath}: ${reason}`, [], { hint, details: { file: displayPath, reason } });
}

/**
 * The most bytes the CLI reads of one input (a file it is given, or stdin): the gateway's default
 * request-body limit (`DEFAULT_BODY_LIMIT_BYTES`, the Messages API's own), so whatever a model
 * could be sent is taken. Beyond it the input is refused without reading the rest into memory
 * (`yes | syndicate run -` grew to 4 GB in 20 s).
 */
export const INPUT_LIMIT_BYTES = 32 * 1024 * 1024;

/** `INPUT_LIMIT_BYTES` as messages say it (`32 MiB`). */
export const INPUT_LIMIT_TEXT = `${INPUT_LIMIT_BYTES / (1024 * 1024)} MiB`;

/** An input (a file, or `STDIN_FILE_NAME`) over `INPUT_LIMIT_BYTES`: exit 3, as for any input file syndicate refuses. */
export function inputTooLarge(displayPath: string): InvalidInputError {
  const limit = INPUT_LIMIT_TEXT;
  return new InvalidInputError(`${displayPath} holds more than ${limit}, the most syndicate reads of one input: nothing was read past that, classified or sent`, [], {
    hint:
      displayPath === STDIN_FILE_NAME
        ? `check what is piped in (a command that never ends, such as \`yes\`, a whole log, a disk image); pipe at most ${limit}, e.g. \`head -c 1M FILE | …\``
        : `check that the path names the file meant (not a whole log, a disk image or a device); give one of at most ${limit}`,
    details: { file: displayPath, limitBytes: INPUT_LIMIT_BYTES },
  });
}

/** Bytes read from a file that is no regular file (a FIFO, `/dev/zero`) at a time. */
const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * Reads an input file the operator named; one that cannot be read throws `unreadableInputFile`,
 * one over `INPUT_LIMIT_BYTES` `inputTooLarge` (a regular file by its size, before reading it;
 * anything else, a FIFO or a device, as soon as it gave more).
 */
export function readInputFile(path: string, displayPath: string = path): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw unreadableInputFile(displayPath, (error as NodeJS.ErrnoException).code);
  }
  try {
    const stats = fstatSync(fd);
    if (stats.isFile() && stats.size > INPUT_LIMIT_BYTES) throw inputTooLarge(displayPath);
    if (stats.isFile()) return readFileSync(fd);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
      const read = readSync(fd, chunk, 0, READ_CHUNK_BYTES, null);
      if (read === 0) return Buffer.concat(chunks, total);
      total += read;
      if (total > INPUT_LIMIT_BYTES) throw inputTooLarge(displayPath);
      chunks.push(chunk.subarray(0, read));
    }
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    // A directory opens; reading it fails (EISDIR).
    throw unreadableInputFile(displayPath, (error as NodeJS.ErrnoException).code);
  } finally {
    closeSync(fd);
  }
}

/** Checks that a file handed to another reader (llama.cpp loads `--model` itself) exists, is no directory and is readable. */
export function requireReadableFile(path: string, displayPath: string = path, directoryHint?: string): void {
  let errorCode: string | undefined;
  try {
    if (statSync(path).isDirectory()) errorCode = 'EISDIR';
    else accessSync(path, constants.R_OK);
  } catch (error) {
    errorCode = (error as NodeJS.ErrnoException).code ?? 'EIO';
  }
  if (errorCode !== undefined) throw unreadableInputFile(displayPath, errorCode, directoryHint);
}

function unreadableReason(displayPath: string, errorCode: string | undefined, directoryHint?: string): { reason: string; hint: string } {
  switch (errorCode) {
    case 'ENOENT':
    case 'ENOTDIR':
      return { reason: 'no such file', hint: 'check the path; a relative one is read from the current directory' };
    case 'EISDIR':
      return { reason: 'is a directory', hint: directoryHint ?? 'name a file, not a directory' };
    case 'EACCES':
    case 'EPERM':
      return { reason: 'permission denied', hint: `let this user read it: \`ls -l ${shellWord(displayPath)}\` shows its owner and mode` };
    default:
      return { reason: errorCode ?? 'unknown error', hint: 'check the path and the file permissions' };
  }
}
