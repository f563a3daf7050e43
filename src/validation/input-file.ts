import { accessSync, constants, readFileSync, statSync } from 'node:fs';
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

/** Reads an input file the operator named; one that cannot be read throws `unreadableInputFile`. */
export function readInputFile(path: string, displayPath: string = path): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw unreadableInputFile(displayPath, (error as NodeJS.ErrnoException).code);
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
