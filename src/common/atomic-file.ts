import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, linkSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * A file written whole or not at all. The content goes to a new temporary file beside `path`
 * (created exclusively, so nothing already there — a file, a planted symlink — is written
 * through), with exactly `mode` whatever the umask; `commit` renames it over `path`, `discard`
 * removes it. Until `commit`, whatever `path` held is untouched. The rename replaces `path`
 * itself: when `path` is a symlink, the link is replaced and its target never written.
 */
export class AtomicFile {
  readonly path: string;
  readonly temporaryPath: string;
  private descriptor: number | undefined;

  private constructor(path: string, temporaryPath: string, descriptor: number) {
    this.path = path;
    this.temporaryPath = temporaryPath;
    this.descriptor = descriptor;
  }

  /** Creates the temporary file (its directory must exist). File-system errors are thrown as they are. */
  static create(path: string, mode: number): AtomicFile {
    const temporaryPath = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
    const descriptor = openSync(temporaryPath, 'wx', mode);
    try {
      // The umask may have taken bits from `mode`; a private file is never left wider than asked either.
      fchmodSync(descriptor, mode);
    } catch (error) {
      closeSync(descriptor);
      removeQuietly(temporaryPath);
      throw error;
    }
    return new AtomicFile(path, temporaryPath, descriptor);
  }

  write(content: string | Uint8Array): void {
    const descriptor = this.openDescriptor();
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    // A write may take fewer bytes than given (a signal, a nearly full disk): write the rest.
    for (let offset = 0; offset < bytes.length; ) offset += writeSync(descriptor, bytes, offset);
  }

  /** Flushes the content to disk and renames it over `path`. */
  commit(): void {
    this.flushAndClose();
    try {
      renameSync(this.temporaryPath, this.path);
    } catch (error) {
      removeQuietly(this.temporaryPath);
      throw error;
    }
  }

  /**
   * Flushes the content to disk and links it to `path` only when nothing is there (a hard link
   * never replaces: of processes creating one new file at once exactly one makes it, and every
   * reader sees it whole). True when this one made it; false when `path` existed, which is then
   * untouched. The temporary file is removed either way.
   */
  commitIfAbsent(): boolean {
    this.flushAndClose();
    try {
      linkSync(this.temporaryPath, this.path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    } finally {
      removeQuietly(this.temporaryPath);
    }
  }

  /** Removes the temporary file; `path` keeps what it held. Does nothing after `commit` or a first `discard`. */
  discard(): void {
    if (this.descriptor === undefined) return;
    const descriptor = this.descriptor;
    this.descriptor = undefined;
    try {
      closeSync(descriptor);
    } finally {
      removeQuietly(this.temporaryPath);
    }
  }

  private flushAndClose(): void {
    const descriptor = this.openDescriptor();
    fsyncSync(descriptor);
    closeSync(descriptor);
    this.descriptor = undefined;
  }

  private openDescriptor(): number {
    if (this.descriptor === undefined) throw new Error(`${this.temporaryPath} was already committed or discarded`);
    return this.descriptor;
  }
}

/** Removes a temporary file on a path that already failed: the first error is the one worth reporting. */
function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone, or its directory became unwritable: nothing more can be done here.
  }
}

/** Writes `path` whole or not at all, with `mode` (see `AtomicFile`). */
export function writeFileAtomically(path: string, content: string | Uint8Array, mode: number): void {
  writeThen(path, content, mode, (file) => file.commit());
}

/**
 * Creates `path` whole, with `mode`, unless something is there already (`AtomicFile.commitIfAbsent`):
 * true when this call created it, false when it kept what another (a process racing it) had made.
 */
export function writeFileIfAbsent(path: string, content: string | Uint8Array, mode: number): boolean {
  return writeThen(path, content, mode, (file) => file.commitIfAbsent());
}

function writeThen<T>(path: string, content: string | Uint8Array, mode: number, commit: (file: AtomicFile) => T): T {
  const file = AtomicFile.create(path, mode);
  try {
    file.write(content);
    return commit(file);
  } catch (error) {
    file.discard();
    throw error;
  }
}
