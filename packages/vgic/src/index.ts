/**
 * Placeholder marker for the `@irqflow/vgic` package (GICv2/GICv3/ITS/GICv4 emulation behind irqchip_flow).
 * Temporary: replaced when the package gets its real sources.
 */
export const PACKAGE = '@irqflow/vgic';
