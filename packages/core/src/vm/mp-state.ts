/**
 * The vCPU's multiprocessing state and KVM_GET/SET_MP_STATE (Documentation/virt/kvm/api.rst, "KVM_GET_MP_STATE";
 * arm64: arch/arm64/kvm/arm.c kvm_arch_vcpu_ioctl_set_mpstate).
 *
 * @module
 */
import { Errno, fail } from '../errno';
import type { Vcpu } from './vcpu';

/** The vCPU's multiprocessing state (KVM_GET_MP_STATE). */
export enum MpState {
  /** Runnable. */
  Runnable = 0,
  /** Powered off (PSCI CPU_OFF, or its program ended). */
  Stopped = 1,
  /** Blocked in WFI. */
  Halted = 3,
}

/**
 * KVM_GET/SET_MP_STATE values (include/uapi/linux/kvm.h, `struct kvm_mp_state`). arm64 mainline accepts
 * RUNNABLE, STOPPED (PSCI CPU_OFF) and SUSPENDED (since Linux 5.19: the vCPU waits for a wake-up event, then
 * KVM_RUN exits with KVM_SYSTEM_EVENT_WAKEUP); anything else is EINVAL. HALTED is the generic value (x86) the
 * model adds for a vCPU blocked in WFI: mainline arm64 never shows it, because KVM_RUN returns to userspace only
 * after the WFI completed (a spurious wake-up, which the architecture allows), while the model keeps a vCPU
 * blocked across `vm.run()` calls and must carry that state through a migration to continue identically.
 */
export const KvmMpState = {
  RUNNABLE: 0,
  HALTED: 3,
  STOPPED: 5,
  SUSPENDED: 10,
} as const;

/** KVM_GET_MP_STATE of `v` ({@link KvmMpState}). */
export function getMpState(v: Vcpu): number {
  if (v.mp === MpState.Stopped) return KvmMpState.STOPPED;
  if (v.mp === MpState.Halted) return v.suspended ? KvmMpState.SUSPENDED : KvmMpState.HALTED;
  return KvmMpState.RUNNABLE;
}

/**
 * KVM_SET_MP_STATE of `v`. RUNNABLE powers the vCPU on where it is (a WFI it was blocked in completes); STOPPED
 * powers it off (as PSCI CPU_OFF); HALTED blocks it in WFI, SUSPENDED suspends it until a wake-up event.
 * @throws KvmError EINVAL for any other value (KVM's answer), leaving the state unchanged
 */
export function setMpState(v: Vcpu, state: number): void {
  const was = v.mp;
  if (state !== KvmMpState.RUNNABLE && state !== KvmMpState.STOPPED && state !== KvmMpState.HALTED && state !== KvmMpState.SUSPENDED)
    fail(Errno.EINVAL, `KVM_SET_MP_STATE: ${state} is not a state an arm64 vCPU can be put in`);
  if (state !== KvmMpState.RUNNABLE && v.inGuest) {
    // KVM changes the state of a vCPU outside KVM_RUN: leave the guest as its exit to userspace would have
    v.inGuest = false;
    v.vm.flow.vcpuSyncHwstate(v);
    if (v.loaded) v.put();
  }
  if (state === KvmMpState.RUNNABLE || state === KvmMpState.STOPPED) {
    v.mp = state === KvmMpState.RUNNABLE ? MpState.Runnable : MpState.Stopped;
    v.inWfi = false;
    v.suspended = false;
  } else {
    if (was !== MpState.Halted) v.blockStart = v.clock;
    v.mp = MpState.Halted;
    v.inWfi = true;
    v.suspended = state === KvmMpState.SUSPENDED;
  }
  if (v.mp === MpState.Runnable) {
    if (was !== MpState.Runnable) v.vm.scheduler.runnable(v);
  } else v.vm.scheduler.stopped(v);
}
