/**
 * The timers of one vCPU (Arm DDI 0487 D11.2: each PE has its own EL1 virtual and physical timer) and their
 * enabling at the vCPU's first run, KVM's kvm_timer_enable: the irqchip must be initialised (ENODEV), the two
 * PPIs must differ (EINVAL), each timer claims its interrupt with setOwner, and the virtual timer is mapped to a
 * host interrupt with the get-input-level callback when the controller supports mapping; otherwise (and always
 * for the physical timer, which KVM emulates) the line is delivered with injectIrq.
 *
 * @module
 */
import { Errno, fail, VcpuSlot, type HostIrq, type Vcpu } from '@irqflow/core';
import { ArchTimer, TimerKind } from './arch-timer';
import { KVM_ARM_VCPU_TIMER_IRQ_PTIMER, KVM_ARM_VCPU_TIMER_IRQ_VTIMER } from './timer-constants';
import type { TimerVmState } from './timer-vm-state';

/** The two EL1 timers of a vCPU. */
export class VcpuTimers {
  /** The EL1 virtual timer. */
  readonly virt: ArchTimer;
  /** The EL1 physical timer. */
  readonly phys: ArchTimer;
  /** The host interrupt backing the mapped virtual timer (allocated at the first successful enable). */
  hostIrq: HostIrq | null = null;

  /**
   * @param vcpu - the vCPU
   * @param state - the VM-wide timer state
   */
  constructor(
    readonly vcpu: Vcpu,
    readonly state: TimerVmState,
  ) {
    this.virt = new ArchTimer(vcpu, TimerKind.Virt, state);
    this.phys = new ArchTimer(vcpu, TimerKind.Phys, state);
  }

  /** The timer of kind `k`. */
  timer(k: TimerKind): ArchTimer {
    return k === TimerKind.Virt ? this.virt : this.phys;
  }

  /**
   * kvm_timer_enable. Without an in-kernel irqchip the timers stay unconnected (KVM would report their levels to
   * a userspace irqchip, which irqflow does not model).
   * @throws KvmError ENODEV if the irqchip is not initialised, EINVAL if both timers use the same PPI, and
   * whatever the controller's setOwner / mapPhysIrq refuse with
   */
  enable(): void {
    if (this.virt.live) return;
    const vcpu = this.vcpu;
    const vm = vcpu.vm;
    if (!vm.hasIrqchip) return;
    if (!vm.irqchipFinalized) fail(Errno.ENODEV, `arch timer: the interrupt controller is not initialised (vCPU ${vcpu.id})`);
    const vIntid = this.state.ppi[KVM_ARM_VCPU_TIMER_IRQ_VTIMER];
    const pIntid = this.state.ppi[KVM_ARM_VCPU_TIMER_IRQ_PTIMER];
    if (vIntid === pIntid) fail(Errno.EINVAL, `arch timer: the virtual and physical timers both use PPI ${vIntid}`);
    const flow = vm.flow;
    flow.setOwner(vcpu, vIntid, this.virt);
    flow.setOwner(vcpu, pIntid, this.phys);
    let mapped: HostIrq | null = null;
    if (typeof flow.flow.mapPhysIrq === 'function') {
      if (this.hostIrq === null) {
        const virt = this.virt;
        this.hostIrq = vm.hv.hostIrqs.allocate(`vtimer/vm${vm.id}/vcpu${vcpu.id}`, (h) => virt.hostHandler(h));
        this.hostIrq.affinity = vcpu;
      }
      flow.mapPhysIrq(vcpu, this.hostIrq.irq, vIntid, this.virt.getInputLevel);
      mapped = this.hostIrq;
    }
    this.virt.enable(vIntid, mapped);
    this.phys.enable(pIntid, null);
  }

  /**
   * VM teardown (kvm_timer_vcpu_terminate): both expiry events cancelled and the virtual timer's host interrupt
   * given back to the hypervisor, so a destroyed VM holds nothing of the host's and nothing of the host holds it.
   */
  destroy(): void {
    const events = this.vcpu.vm.events;
    events.cancel(this.virt.event);
    events.cancel(this.phys.event);
    const h = this.hostIrq;
    if (h === null) return;
    const pool = this.vcpu.vm.hv.hostIrqs;
    if (pool.has(h.irq) && pool.get(h.irq) === h) pool.free(h.irq);
    this.hostIrq = null;
    this.virt.hostIrq = null;
  }
}

/** The per-vCPU slot holding {@link VcpuTimers}. */
export const TIMER_SLOT = new VcpuSlot<VcpuTimers>('arch-timer');
