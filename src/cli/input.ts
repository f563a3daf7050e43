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
