/**
 * The guest's view of the timers: the AArch64 system registers of Arm DDI 0487 D12 ("The Generic Timer
 * register descriptions") as one declarative table registered with the VM's sysreg table.
 *
 * Traps: with VHE and CNTHCTL_EL2 set up for the guest, the EL1 virtual timer and counter (CNTV_*, CNTVCT_EL0)
 * and CNTFRQ_EL0 are accessed without an exit (charged `timerAccess`). The EL1 physical timer is the one KVM
 * emulates on hosts without FEAT_ECV (nVHE, or a non-zero physical offset): CNTP_CTL/CVAL/TVAL_EL0 and
 * CNTPCT_EL0 trap (CNTHCTL_EL2.EL1PCEN/EL1PCTEN clear) and are handled in the hypervisor. irqflow models that
 * emulated physical timer on every host.
 *
 * @module
 */
import { bigHi, bigLo, SYSREGS, toBig, type SysregName, type Vcpu, type Vm } from '@irqflow/core';
import { TimerKind } from './arch-timer';
import { CNTFRQ_HZ } from './timer-constants';
import { TIMER_SLOT } from './vcpu-timers';

/** Which architectural field a timer system register accesses. */
export type TimerField = 'frq' | 'cnt' | 'ctl' | 'cval' | 'tval';

/** One row of the timer system-register table. */
export interface TimerSysregSpec {
  /** Architectural name. */
  readonly reg: SysregName;
  /** The timer it belongs to (null for CNTFRQ_EL0). */
  readonly timer: TimerKind | null;
  /** The field. */
  readonly field: TimerField;
  /** Whether a guest access traps to the hypervisor. */
  readonly trapped: boolean;
  /** Whether the guest may write it (counters and CNTFRQ_EL0 are read-only at EL1). */
  readonly writable: boolean;
}

/** The timer system registers. */
export const TIMER_SYSREGS: readonly TimerSysregSpec[] = [
  { reg: 'CNTFRQ_EL0', timer: null, field: 'frq', trapped: false, writable: false },
  { reg: 'CNTVCT_EL0', timer: TimerKind.Virt, field: 'cnt', trapped: false, writable: false },
  { reg: 'CNTV_CTL_EL0', timer: TimerKind.Virt, field: 'ctl', trapped: false, writable: true },
  { reg: 'CNTV_CVAL_EL0', timer: TimerKind.Virt, field: 'cval', trapped: false, writable: true },
  { reg: 'CNTV_TVAL_EL0', timer: TimerKind.Virt, field: 'tval', trapped: false, writable: true },
  { reg: 'CNTPCT_EL0', timer: TimerKind.Phys, field: 'cnt', trapped: true, writable: false },
  { reg: 'CNTP_CTL_EL0', timer: TimerKind.Phys, field: 'ctl', trapped: true, writable: true },
  { reg: 'CNTP_CVAL_EL0', timer: TimerKind.Phys, field: 'cval', trapped: true, writable: true },
  { reg: 'CNTP_TVAL_EL0', timer: TimerKind.Phys, field: 'tval', trapped: true, writable: true },
];

function readField(vcpu: Vcpu, kind: TimerKind, field: TimerField): number {
  const t = TIMER_SLOT.get(vcpu).timer(kind);
  const now = vcpu.vm.now;
  switch (field) {
    case 'ctl':
      return t.readCtl(now);
    case 'tval':
      return t.readTval(now);
    default: {
      const v = field === 'cnt' ? t.counter(now) : t.cval;
      vcpu.sysHi = bigHi(v);
      return bigLo(v);
    }
  }
}

function writeField(vcpu: Vcpu, kind: TimerKind, field: TimerField, lo: number, hi: number): void {
  const t = TIMER_SLOT.get(vcpu).timer(kind);
  if (field === 'ctl') t.writeCtl(lo);
  else if (field === 'tval') t.writeTval(vcpu.vm.now, lo);
  else t.writeCval(toBig(lo, hi));
}

/** Registers the table with `vm`'s system registers. */
export function registerTimerSysregs(vm: Vm): void {
  for (const s of TIMER_SYSREGS) {
    const kind = s.timer;
    vm.sysregs.register(SYSREGS[s.reg], {
      trapped: s.trapped,
      // reads observe only this vCPU's timer and clock; writes arm a host event, so they keep exact order
      local: (_v, isWrite) => !isWrite,
      untrappedCost: 'timerAccess',
      read: kind === null ? () => CNTFRQ_HZ : (v) => readField(v, kind, s.field),
      write: s.writable && kind !== null ? (v, lo, hi) => writeField(v, kind, s.field, lo, hi) : undefined,
    });
  }
}
