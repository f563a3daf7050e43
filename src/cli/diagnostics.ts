/**
 * Diagnostics on stderr as text or, for a long-running command whose log a journal keeps
 * (`serve --json`), as JSON lines. No dependencies: the entry point writes its own lines here.
 */

/** What a line on stderr says beyond its message, as `fields` of its JSON line (`logStderrAsJson`). */
export type LogFields = Readonly<Record<string, unknown>>;

export type LogLevel = 'info' | 'warn' | 'error';

/** Whether every line on stderr is one JSON object (`logStderrAsJson`). */
let stderrAsJson = false;

/**
 * `serve --json`: from now on every line this process writes on stderr — notices, warnings, access
 * lines, the entry point's own, node's process warnings — is one JSON object,
 * `{"time","level","message","fields"}`, so a journal read with `journalctl -o cat` pipes into `jq`.
 */
export function logStderrAsJson(): void {
  stderrAsJson = true;
  // Node prints its process warnings (a deprecation, an experimental API) as text through its own
  // listener: replaced by one that writes them as the lines around them.
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error) => writeDiagnostic('warn', `${warning.name}: ${warning.message}`));
}

/**
 * One diagnostic on stderr: `text` as it is (several lines allowed), or, after `logStderrAsJson`,
 * one JSON line with its level and fields. The entry point writes its own through here.
 */
export function writeDiagnostic(level: LogLevel, text: string, fields?: LogFields): void {
  if (!stderrAsJson) {
    process.stderr.write(`${text}\n`);
    return;
  }
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, message: text, fields: fields ?? {} })}\n`);
}

/** Whether `logStderrAsJson` was called. */
export function isStderrJson(): boolean {
  return stderrAsJson;
}
