/**
 * @irqflow/core — the controller-neutral core of irqflow: the `irqchip_flow` callback interface, the
 * KVM-shaped Hypervisor/VM/vCPU API, the MMIO bus, guest memory, the guest instruction set, the deterministic
 * simulated-time run loop, the cost model, counters and traces.
 *
 * @packageDocumentation
 */
import 'reflect-metadata';

export * from './bits';
export * from './errno';
export * from './rng';
export * from './bench-kit';
export * from './bench-shapes';
export * from './cost/cost-profile';
export * from './cost/cost-component';
export * from './stats/counters';
export * from './trace/trace';
export * from './trace/chrome-trace';
export * from './sched/event-queue';
export * from './sched/runnable-heap';
export * from './memory/guest-memory';
export { LineClock, type SavedLineClock } from './memory/line-clock';
export * from './mmio/mmio-bus';
export * from './irq/eventfd';
export * from './irq/irq-routing';
export * from './sysreg/sysreg-encoding';
export * from './sysreg/sysreg-table';
export * from './hypercall/smccc';
export * from './guest/guest-isa';
export * from './guest/guest-asm';
export * from './flow/irqchip-flow';
export * from './device/kvm-device';
export * from './host/host-irq';
export * from './host/irq-bypass';
export * from './host/passthrough-device';
export * from './plugin';
export * from './vm/kvm-run';
export * from './vm/vcpu';
export { KvmMpState, MpState } from './vm/mp-state';
export { Pending } from './vm/vcpu-access';
export * from './vm/vcpu-slot';
export * from './vm/cpu-irq-lines';
export * from './vm/one-reg';
export * from './vm/vm-snapshot';
export * from './hypercall/psci';
export * from './vm/scheduler';
export * from './vm/vm';
export * from './hypervisor';
