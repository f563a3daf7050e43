import { UsageError } from '../errors.js';

/** Reads all of stdin as UTF-8; refuses to wait on an interactive terminal. */
export async function readStdin(what: string): Promise<string> {
  if (process.stdin.isTTY === true) {
    throw new UsageError(`no ${what} given`, { hint: `pass the ${what} as an argument, or pipe it on stdin` });
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
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

/** A flag that must be a finite number (`--temperature 0.7`); undefined when absent. */
export function numberOption(value: string | undefined, flag: string, example = 0.7): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number)) throw new UsageError(`${flag} must be a number, got "${value}"`, { hint: `for example ${flag} ${example}` });
  return number;
}
