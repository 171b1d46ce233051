/**
 * Placeholder marker for the `@irqflow/timer` package (the arm64 generic timer (virtual/physical) model).
 * Temporary: replaced when the package gets its real sources.
 */
export const PACKAGE = '@irqflow/timer';
