/**
 * Linux errno values and the typed error every irqflow API throws.
 *
 * KVM reports failures of an ioctl as a negative errno. irqflow's userspace-facing API (the VM, vCPU and
 * device calls) throws a {@link KvmError} carrying the errno KVM would return for the same bad call, with a
 * message saying what was wrong. Nothing in the VM API throws a bare `Error` for bad input.
 *
 * @module
 */

/** The errno values KVM's arm64 interrupt-controller ABI documents (values from Linux `errno-base.h`). */
export enum Errno {
  EPERM = 1,
  ENOENT = 2,
  ESRCH = 3,
  EINTR = 4,
  EIO = 5,
  ENXIO = 6,
  E2BIG = 7,
  EAGAIN = 11,
  ENOMEM = 12,
  EACCES = 13,
  EFAULT = 14,
  EBUSY = 16,
  EEXIST = 17,
  ENODEV = 19,
  EINVAL = 22,
  ENOSPC = 28,
  ERANGE = 34,
  ENOSYS = 38,
  EOPNOTSUPP = 95,
}

/**
 * The error thrown by every irqflow userspace call that KVM would fail with an errno.
 *
 * `errno` is the positive errno value (KVM returns its negation); `code` is its symbolic name.
 */
export class KvmError extends Error {
  /** The positive errno value, e.g. 22 for EINVAL. */
  readonly errno: Errno;
  /** The symbolic errno name, e.g. `"EINVAL"`. */
  readonly code: string;

  /**
   * @param errno - the errno KVM would return
   * @param message - what was wrong, in terms of the call's arguments
   */
  constructor(errno: Errno, message: string) {
    super(`${Errno[errno] ?? `errno ${errno}`}: ${message}`);
    this.name = 'KvmError';
    this.errno = errno;
    this.code = Errno[errno] ?? `E${errno}`;
  }
}

/**
 * Throws a {@link KvmError}. A helper so validation reads as one line: `if (bad) fail(Errno.EINVAL, 'why')`.
 * @param errno - the errno to report
 * @param message - what was wrong
 */
export function fail(errno: Errno, message: string): never {
  throw new KvmError(errno, message);
}

/** True if `e` is a {@link KvmError} with the given errno (or any errno when omitted). */
export function isKvmError(e: unknown, errno?: Errno): e is KvmError {
  return e instanceof KvmError && (errno === undefined || e.errno === errno);
}
