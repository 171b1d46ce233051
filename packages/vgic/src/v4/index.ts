/**
 * GICv4 / GICv4.1 direct injection (Arm IHI 0069, 5.3–5.4; KVM's vgic-v4.c): vPEs, vLPI forwarding, vSGIs and
 * the "gic-v4" / "gic-v4.1" irqchips.
 *
 * @module
 */
export * from './v4-hooks';
export * from './vpe';
export * from './gic-v4';
export * from './vsgi';
export * from './gic-v4-driver';
