/**
 * @irqflow/timer — the Arm generic timer (Arm DDI 0487 D11/D12): the EL1 virtual and physical timers of every
 * vCPU, delivered through the VM's irqchip flow only, so they behave identically on every interrupt controller.
 * Register {@link TimerPlugin} with the hypervisor.
 *
 * @packageDocumentation
 */
export * from './timer-constants';
export * from './arch-timer';
export * from './timer-vm-state';
export * from './vcpu-timers';
export * from './timer-sysregs';
export * from './timer-attrs';
export * from './timer-one-reg';
export * from './timer-extension';
