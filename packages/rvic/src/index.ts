/**
 * Placeholder marker for the `@irqflow/rvic` package (the paravirtual interrupt controller behind irqchip_flow).
 * Temporary: replaced when the package gets its real sources.
 */
export const PACKAGE = '@irqflow/rvic';
