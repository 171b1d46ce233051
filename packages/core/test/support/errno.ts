/** Test helper: the errno a call fails with, or 'ok'. Non-KvmError exceptions propagate (they are bugs). */
import { KvmError, type Errno } from '../../src';

export function errno(fn: () => unknown): Errno | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof KvmError) return e.errno;
    throw e;
  }
}
