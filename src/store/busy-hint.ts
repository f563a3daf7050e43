/**
 * The hint for a store whose lock another process holds (SQLITE_BUSY, SQLITE_LOCKED). That may be
 * any process — another syndicate command or gateway, an operator's `sqlite3` shell with a write
 * transaction open, a backup tool — so the hint names the file, not a culprit.
 */
export function busyStoreHint(path: string): string {
  return `another process holds a lock on the store ${path} (a syndicate command or gateway writing to it, or a \`sqlite3\` shell or backup tool with a transaction open): retry in a moment, or once that process ends its transaction`;
}
