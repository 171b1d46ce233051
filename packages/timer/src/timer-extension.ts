/**
 * The "arch-timer" VM extension and {@link TimerPlugin}: the Arm generic timer (Arm DDI 0487 D11/D12) as an
 * in-kernel per-vCPU device present on every VM, identical on every interrupt controller. It registers the
 * timer system registers, ONE_REGs and the KVM_ARM_VCPU_TIMER_CTRL attribute group when a VM is created, gives
 * each vCPU its virtual and physical timer, connects them to the controller at the vCPU's first run
 * (kvm_timer_enable) and keeps the host interrupt of a mapped timer in step on vCPU load.
 *
 * @module
 */
import { Errno, fail, type Hypervisor, type IrqflowPlugin, type Vcpu, type Vm, type VmExtension } from '@irqflow/core';
import type { ArchTimer } from './arch-timer';
import {
  KVM_ARM_VCPU_TIMER_CTRL,
  KVM_REG_ARM_PTIMER_CNT,
  KVM_REG_ARM_PTIMER_CTL,
  KVM_REG_ARM_PTIMER_CVAL,
  KVM_REG_ARM_TIMER_CNT,
  KVM_REG_ARM_TIMER_CTL,
  KVM_REG_ARM_TIMER_CVAL,
} from './timer-constants';
import { timerAttrGroup } from './timer-attrs';
import { registerTimerOneRegs } from './timer-one-reg';
import { registerTimerSysregs } from './timer-sysregs';
import { createTimerVmState, timerVmState } from './timer-vm-state';
import { TIMER_SLOT, VcpuTimers } from './vcpu-timers';

function hex(v: bigint | number): string {
  return `0x${v.toString(16)}`;
}

function dumpTimer(name: string, t: ArchTimer): string {
  const now = t.vcpu.vm.now;
  const h = t.hostIrq;
  const host = h === null ? 'emulated' : `host ${h.irq}${h.active ? ' active' : ''}${h.pending ? ' pending' : ''}`;
  return (
    `  ${name} intid=${t.intid} ctl=${hex(t.readCtl(now))} cval=${hex(t.cval)} cnt=${hex(t.counter(now))} ` +
    `line=${t.level ? 1 : 0} fired=${t.fired} ${host}${t.event.pending ? ` next=${t.event.time}` : ''}`
  );
}

/**
 * The timer registers a VMM migrates, in restore order: the counters first (they set the VM-wide offsets the
 * compare values are judged against), then CVAL, then CTL (enabling with the right compare value in place).
 */
const SNAPSHOT_REGS = [
  KVM_REG_ARM_TIMER_CNT,
  KVM_REG_ARM_PTIMER_CNT,
  KVM_REG_ARM_TIMER_CVAL,
  KVM_REG_ARM_PTIMER_CVAL,
  KVM_REG_ARM_TIMER_CTL,
  KVM_REG_ARM_PTIMER_CTL,
];

/** The arch timer extension. */
export const archTimerExtension: VmExtension = {
  name: 'arch-timer',
  vmCreated(vm: Vm): void {
    const state = createTimerVmState(vm);
    registerTimerSysregs(vm);
    registerTimerOneRegs(vm, state);
    vm.vcpuAttrGroups.set(KVM_ARM_VCPU_TIMER_CTRL, timerAttrGroup(state));
  },
  vcpuCreated(vcpu: Vcpu): void {
    const state = timerVmState(vcpu.vm);
    if (!state) return;
    const t = new VcpuTimers(vcpu, state);
    TIMER_SLOT.set(vcpu, t);
    state.vcpus.push(t);
    t.virt.update();
    t.phys.update();
  },
  vcpuFirstRun(vcpu: Vcpu): void {
    TIMER_SLOT.get(vcpu)?.enable();
  },
  vcpuLoad(vcpu: Vcpu): void {
    TIMER_SLOT.get(vcpu)?.virt.load();
  },
  vmDestroyed(vm: Vm): void {
    // kvm_timer_vcpu_terminate: the timers stop and the mapped timer's host interrupt goes back to the host
    for (const t of timerVmState(vm)?.vcpus ?? []) t.destroy();
  },
  /** Snapshot: the timer ONE_REGs of `vcpu` as (id, value) pairs. */
  saveVcpu(vcpu: Vcpu): [bigint, bigint][] {
    return SNAPSHOT_REGS.map((id) => [id, vcpu.getOneReg(id)]);
  },
  /** Snapshot: writes the saved timer ONE_REGs back in order. @throws KvmError */
  restoreVcpu(vcpu: Vcpu, state: unknown): void {
    if (!Array.isArray(state)) fail(Errno.EINVAL, 'not a saved arch timer');
    for (const [id, value] of state as [bigint, bigint][]) vcpu.setOneReg(id, value);
  },
  dumpVcpu(vcpu: Vcpu): string {
    const t = TIMER_SLOT.get(vcpu);
    if (!t) return `arch-timer vcpu${vcpu.id}: none`;
    return [`arch-timer vcpu${vcpu.id}:`, dumpTimer('vtimer', t.virt), dumpTimer('ptimer', t.phys)].join('\n');
  },
};

/**
 * The plugin registering the "arch-timer" extension.
 *
 * @example
 * ```ts
 * import { Hypervisor } from '@irqflow/core';
 * import { findWorkload, runWorkload } from '@irqflow/examples';
 * import { TimerPlugin } from '@irqflow/timer';
 * import { VgicPlugin } from '@irqflow/vgic';
 *
 * const hv = new Hypervisor().use(TimerPlugin).use(VgicPlugin);
 * const r = runWorkload(hv, findWorkload('timer-tick')!, { irqchip: 'gic-v3', vcpus: 1 });
 * console.log(hv.extensions.map((e) => e.name).join(), r.status, r.interrupts);
 * // → arch-timer ok 100
 * ```
 */
export const TimerPlugin: IrqflowPlugin = {
  name: '@irqflow/timer',
  register(hv: Hypervisor): void {
    hv.registerExtension(archTimerExtension);
  },
};
