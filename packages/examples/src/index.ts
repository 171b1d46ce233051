/**
 * Placeholder marker for the `@irqflow/examples` package (scenarios, comparisons and Perfetto traces).
 * Temporary: replaced when the package gets its real sources.
 */
export const PACKAGE = '@irqflow/examples';
