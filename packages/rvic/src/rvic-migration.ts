/**
 * Save and restore of an rVIC through its device attributes only (package README, "Saving and restoring";
 * rvic-state-attrs.ts). Save reads NR_IRQS (configuration), the rVID table, and per vCPU the enable state,
 * every interrupt's state and the delivery FIFO. Restore, into the initialised rVIC of a fresh VM of the same
 * configuration, follows the ordering rules: rVID table, then per vCPU ENABLE, the interrupt states, and the
 * FIFO entries first to last.
 *
 * @module
 */
import { Errno, fail, isKvmError, type KvmDevice, type Vm } from '@irqflow/core';
import {
  KVM_DEV_ARM_RVIC_GRP_NR_IRQS,
  KVM_DEV_ARM_RVIC_GRP_RVID,
  KVM_DEV_ARM_RVIC_GRP_VCPU_STATE,
  RVIC_STATE_ENABLE,
  RVIC_STATE_FIFO,
  RVIC_STATE_IRQ,
  rvicStateAttr,
} from './abi';
import type { SavedRvicHidden } from './rvic-visibility';

/** One vCPU's saved rVIC. */
export interface SavedRvicCpu {
  /** MPIDR the attributes were addressed with. */
  readonly mpidr: number;
  /** ENABLE state. */
  readonly enabled: bigint;
  /** Per-interrupt state values, by intid. */
  readonly irqs: readonly bigint[];
  /** The delivery FIFO, first to last. */
  readonly fifo: readonly bigint[];
}

/** A saved rVIC. */
export interface SavedRvic {
  /** NR_IRQS (configuration: must match on restore). */
  readonly nrIrqs: bigint;
  /** GRP_RVID values, by input. */
  readonly rvid: readonly bigint[];
  /** Per vCPU, in creation order. */
  readonly cpus: readonly SavedRvicCpu[];
  /**
   * The model's run-loop part, which no attribute carries: (vCPU index, intid, visibleAt) of each pending
   * interrupt another vCPU signalled whose kick has not reached its target yet (rvic-visibility.ts). Absent when none.
   */
  readonly hidden?: SavedRvicHidden;
}

/** Array.isArray without its type guard: the guard would narrow a readonly typed array to `any[]`. */
function isArray(v: unknown): boolean {
  return Array.isArray(v);
}

function sizes(nrIrqs: bigint): { trusted: number; total: number } {
  return { trusted: Number(nrIrqs & 0xffffn), total: Number((nrIrqs >> 16n) & 0xffffn) };
}

/** Saves the rVIC device `dev` of `vm`. @throws KvmError as the attribute calls do (EBUSY before INIT) */
export function saveRvic(vm: Vm, dev: KvmDevice): SavedRvic {
  const nrIrqs = dev.getAttr({ group: KVM_DEV_ARM_RVIC_GRP_NR_IRQS, attr: 0n });
  const { trusted, total } = sizes(nrIrqs);
  const rvid: bigint[] = [];
  for (let i = 0; i < total - trusted; i++) rvid.push(dev.getAttr({ group: KVM_DEV_ARM_RVIC_GRP_RVID, attr: BigInt(i) }));
  const st = (mpidr: number, kind: number, index: number): bigint =>
    dev.getAttr({ group: KVM_DEV_ARM_RVIC_GRP_VCPU_STATE, attr: rvicStateAttr(mpidr, kind, index) });
  const cpus = vm.vcpus.map((v): SavedRvicCpu => {
    const irqs: bigint[] = [];
    for (let i = 0; i < total; i++) irqs.push(st(v.mpidr, RVIC_STATE_IRQ, i));
    const fifo: bigint[] = [];
    for (let k = 0; k < total; k++) {
      try {
        fifo.push(st(v.mpidr, RVIC_STATE_FIFO, k));
      } catch (e) {
        if (isKvmError(e, Errno.ENOENT)) break;
        throw e;
      }
    }
    return { mpidr: v.mpidr, enabled: st(v.mpidr, RVIC_STATE_ENABLE, 0), irqs, fifo };
  });
  return { nrIrqs, rvid, cpus };
}

/**
 * Restores `saved` into `dev`, the initialised rVIC of a fresh VM with the same vCPUs and sizing.
 * @throws KvmError EINVAL for another sizing, other vCPUs or a state of another shape; what the attribute calls throw
 */
export function restoreRvic(vm: Vm, dev: KvmDevice, saved: SavedRvic): void {
  if (saved === null || typeof saved !== 'object' || !isArray(saved.rvid) || !isArray(saved.cpus)) fail(Errno.EINVAL, 'not a saved rVIC');
  const nrIrqs = dev.getAttr({ group: KVM_DEV_ARM_RVIC_GRP_NR_IRQS, attr: 0n });
  if (nrIrqs !== saved.nrIrqs) fail(Errno.EINVAL, `NR_IRQS 0x${nrIrqs.toString(16)} differs from the saved 0x${String(saved.nrIrqs)}`);
  if (saved.cpus.length !== vm.vcpus.length || saved.cpus.some((c, i) => c.mpidr !== vm.vcpus[i].mpidr))
    fail(Errno.EINVAL, 'the saved rVIC has other vCPUs');
  saved.rvid.forEach((value, i) => dev.setAttr({ group: KVM_DEV_ARM_RVIC_GRP_RVID, attr: BigInt(i) }, value));
  const set = (mpidr: number, kind: number, index: number, value: bigint): void =>
    dev.setAttr({ group: KVM_DEV_ARM_RVIC_GRP_VCPU_STATE, attr: rvicStateAttr(mpidr, kind, index) }, value);
  for (const c of saved.cpus) {
    set(c.mpidr, RVIC_STATE_ENABLE, 0, c.enabled);
    c.irqs.forEach((value: bigint, intid: number) => set(c.mpidr, RVIC_STATE_IRQ, intid, value));
    for (const intid of c.fifo) set(c.mpidr, RVIC_STATE_FIFO, 0, intid);
  }
}
