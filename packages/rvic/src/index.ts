/**
 * @irqflow/rvic — the rVIC/rVID paravirtual interrupt controller (ARM-DEN-0103, Alpha; the 2020 KVM/arm64
 * series) behind core's `irqchip_flow`: every guest operation is a hypercall; MSIs through an rVID doorbell
 * and level INTx with resampling are this package's designs (see its README).
 *
 * @packageDocumentation
 */
import 'reflect-metadata';

export * from './abi';
export * from './rvic-cpu';
export * from './rvid-table';
export * from './rvic-mapped';
export * from './rvic';
export * from './rvic-hypercalls';
export * from './rvid-hypercalls';
export * from './msi-doorbell';
export * from './rvic-dump';
export * from './rvic-device';
export * from './rvic-state-attrs';
export * from './rvic-migration';
export * from './rvic-irqchip';
export * from './guest/rvic-asm';
export * from './guest/rvic-guest-driver';
export * from './plugin';
export * from './workloads';
export type { SavedRvicHidden } from './rvic-visibility';
