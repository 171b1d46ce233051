/**
 * The EL1 system registers every VM has whatever its interrupt controller: MPIDR_EL1 (read-only, the vCPU's
 * affinity), ELR_EL1 and SPSR_EL1 (the exception return state the model's IRQ entry and ERET use) and the DAIF
 * interrupt masks (Arm DDI 0487, D17.2 "General system control registers", C5.2 "Special-purpose registers").
 * All are served by the model without a trap and are local to the vCPU.
 *
 * @module
 */
import { SYSREGS } from './sysreg-encoding';
import type { SysregHandler, SysregTable } from './sysreg-table';

/** How each of them is served: without a trap, local to the vCPU, at the cost of a cycle. */
const EL1: Pick<SysregHandler, 'trapped' | 'local' | 'untrappedCost'> = { trapped: false, local: true, untrappedCost: 'cycle' };

/** Registers the architectural EL1 registers above in a VM's system-register table (at VM creation). */
export function registerArchSysregs(s: SysregTable): void {
  s.register(SYSREGS.MPIDR_EL1, { ...EL1, read: (v) => v.mpidrEl1 });
  s.register(SYSREGS.ELR_EL1, {
    ...EL1,
    read: (v) => v.elr,
    write: (v, lo) => {
      v.elr = lo;
    },
  });
  s.register(SYSREGS.SPSR_EL1, {
    ...EL1,
    read: (v) => v.spsr,
    write: (v, lo) => {
      v.spsr = lo;
    },
  });
  s.register(SYSREGS.DAIF, {
    ...EL1,
    read: (v) => v.daif << 6,
    write: (v, lo) => {
      v.daif = (lo >>> 6) & 0xf;
    },
  });
}
