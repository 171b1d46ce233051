/**
 * Exit codes of the `irqflow` CLI (documented in the README and the getting-started guide).
 *
 * @module
 */

/** Exit codes. */
export const EXIT = {
  /** Everything ran and every count matched. */
  OK: 0,
  /** A run failed: interrupts sent and received differ, the time limit came first, or the model reported an error. */
  FAILED: 1,
  /** Bad command line (unknown name, bad value, missing option, a --plugin that cannot be loaded). */
  USAGE: 2,
  /** An input/output error: a file or directory could not be written or read (--trace, --report, --out). */
  IO: 3,
  /** Nothing ran: every selected combination is unsupported by its controller. */
  NOTHING_RAN: 4,
} as const;

/** A file-system failure (exit code {@link EXIT.IO}). */
export class CliIoError extends Error {
  /** @param what - what was being done; @param cause - the underlying error */
  constructor(what: string, cause: unknown) {
    const e = cause as NodeJS.ErrnoException;
    super(`${what}: ${e?.code ? `${e.code} ` : ''}${String(e?.message ?? cause).split('\n')[0]}`);
    this.name = 'CliIoError';
  }
}

/** Runs `fn`, turning a thrown error into a {@link CliIoError}. */
export function io<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw new CliIoError(what, e);
  }
}
