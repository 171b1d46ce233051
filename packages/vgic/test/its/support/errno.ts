/** Test helper: the errno a call fails with, or undefined when it succeeds. Other exceptions propagate. */
import { isKvmError } from '@irqflow/core';

export function errno(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    if (isKvmError(e)) return e.errno;
    throw e;
  }
  return undefined;
}
