/**
 * The VM-wide part of the arch timer: the counter offsets (KVM's voffset/poffset, i.e. CNTVOFF_EL2 and the
 * physical offset of FEAT_ECV's CNTPOFF_EL2), the timer PPI numbers (KVM_ARM_VCPU_TIMER_CTRL applies them
 * VM-wide) and the per-vCPU timers, so an offset change can re-evaluate every timer. Arm DDI 0487 D11.2.1
 * "The Generic Timer in AArch64 state": CNTVCT_EL0 = CNTPCT_EL0 − CNTVOFF_EL2.
 *
 * @module
 */
import type { Vm } from '@irqflow/core';
import type { VcpuTimers } from './vcpu-timers';
import { DEFAULT_HPTIMER_PPI, DEFAULT_HVTIMER_PPI, DEFAULT_PTIMER_PPI, DEFAULT_VTIMER_PPI } from './timer-constants';

/** VM-wide timer state. One per VM, created when the VM is. */
export class TimerVmState {
  /** Offset subtracted from the host counter to give the virtual counter (CNTVOFF). */
  voffset = 0n;
  /** Offset subtracted from the host counter to give the physical counter (0 unless set by userspace). */
  poffset = 0n;
  /** KVM_ARM_SET_COUNTER_OFFSET was used: writes to the CNT ONE_REGs are ignored from then on, as in KVM. */
  counterOffsetSet = false;
  /** PPIs by KVM_ARM_VCPU_TIMER_IRQ_* attribute index: vtimer, ptimer, hvtimer, hptimer. */
  readonly ppi: number[] = [DEFAULT_VTIMER_PPI, DEFAULT_PTIMER_PPI, DEFAULT_HVTIMER_PPI, DEFAULT_HPTIMER_PPI];
  /** The timers of every vCPU, in creation order. */
  readonly vcpus: VcpuTimers[] = [];

  /** @param vm - the VM */
  constructor(readonly vm: Vm) {}

  /** Re-evaluates every timer (after an offset change). */
  updateAll(): void {
    for (const t of this.vcpus) {
      t.virt.update();
      t.phys.update();
    }
  }
}

const STATES = new WeakMap<Vm, TimerVmState>();

/** Creates the timer state of `vm` (the extension's vmCreated). */
export function createTimerVmState(vm: Vm): TimerVmState {
  const s = new TimerVmState(vm);
  STATES.set(vm, s);
  return s;
}

/** The timer state of `vm`, or undefined when the timer extension is not registered for it. */
export function timerVmState(vm: Vm): TimerVmState | undefined {
  return STATES.get(vm);
}
