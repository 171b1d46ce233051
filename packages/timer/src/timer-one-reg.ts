/**
 * Userspace access to the timers (Documentation/virt/kvm/api.rst, KVM_GET/SET_ONE_REG and
 * KVM_ARM_SET_COUNTER_OFFSET): CTL, CVAL and the counter of each EL1 timer, so a VMM can save and restore them.
 * Setting KVM_REG_ARM_TIMER_CNT (or PTIMER_CNT) sets the guest-visible counter by changing the VM-wide offset
 * (offset = host counter − value), which moves every vCPU's counter; once KVM_ARM_SET_COUNTER_OFFSET was used,
 * those writes are ignored, as in KVM. The counter offset API sets both offsets and fails EBUSY after a vCPU ran.
 *
 * @module
 */
import { Errno, fail, u64, type OneRegHandler, type Vcpu, type Vm } from '@irqflow/core';
import { hostCount, TimerKind } from './arch-timer';
import {
  KVM_REG_ARM_PTIMER_CNT,
  KVM_REG_ARM_PTIMER_CTL,
  KVM_REG_ARM_PTIMER_CVAL,
  KVM_REG_ARM_TIMER_CNT,
  KVM_REG_ARM_TIMER_CTL,
  KVM_REG_ARM_TIMER_CVAL,
} from './timer-constants';
import { timerVmState, type TimerVmState } from './timer-vm-state';
import { TIMER_SLOT } from './vcpu-timers';

function ctlReg(kind: TimerKind): OneRegHandler {
  return {
    get: (v: Vcpu) => BigInt(TIMER_SLOT.get(v).timer(kind).readCtl(v.vm.now)),
    set: (v: Vcpu, value: bigint) =>
      TIMER_SLOT.get(v)
        .timer(kind)
        .writeCtl(Number(value & 0xffffffffn)),
  };
}

function cvalReg(kind: TimerKind): OneRegHandler {
  return {
    get: (v: Vcpu) => TIMER_SLOT.get(v).timer(kind).cval,
    set: (v: Vcpu, value: bigint) => TIMER_SLOT.get(v).timer(kind).writeCval(value),
  };
}

function cntReg(kind: TimerKind, state: TimerVmState): OneRegHandler {
  return {
    get: (v: Vcpu) => TIMER_SLOT.get(v).timer(kind).counter(v.vm.now),
    set: (v: Vcpu, value: bigint) => {
      if (state.counterOffsetSet) return;
      const off = u64(BigInt(hostCount(v.vm.now)) - value);
      if (kind === TimerKind.Virt) state.voffset = off;
      else state.poffset = off;
      state.updateAll();
    },
  };
}

/** Registers the timer ONE_REGs of `vm`. */
export function registerTimerOneRegs(vm: Vm, state: TimerVmState): void {
  vm.oneRegs.set(KVM_REG_ARM_TIMER_CTL, ctlReg(TimerKind.Virt));
  vm.oneRegs.set(KVM_REG_ARM_TIMER_CVAL, cvalReg(TimerKind.Virt));
  vm.oneRegs.set(KVM_REG_ARM_TIMER_CNT, cntReg(TimerKind.Virt, state));
  vm.oneRegs.set(KVM_REG_ARM_PTIMER_CTL, ctlReg(TimerKind.Phys));
  vm.oneRegs.set(KVM_REG_ARM_PTIMER_CVAL, cvalReg(TimerKind.Phys));
  vm.oneRegs.set(KVM_REG_ARM_PTIMER_CNT, cntReg(TimerKind.Phys, state));
}

/**
 * KVM_ARM_SET_COUNTER_OFFSET: both the virtual and the physical counter of every vCPU become host counter −
 * `offset` (64-bit wrap-around). Writes to the CNT ONE_REGs are ignored afterwards.
 * @throws KvmError ENXIO when the timer extension is not registered for `vm`, EBUSY after a vCPU ran
 */
export function setCounterOffset(vm: Vm, offset: bigint): void {
  const state = timerVmState(vm);
  if (!state) fail(Errno.ENXIO, 'the arch timer extension is not registered');
  if (vm.anyVcpuRan) fail(Errno.EBUSY, 'the counter offset cannot change after a vCPU ran');
  state.voffset = u64(offset);
  state.poffset = u64(offset);
  state.counterOffsetSet = true;
  state.updateAll();
}
