/**
 * Save and restore of an ITS through its device attributes only (Documentation/virt/kvm/devices/arm-vgic-its.rst,
 * "ITS Restore Sequence"; references §4). Save: ITS_SAVE_TABLES writes the device, ITT and collection tables into
 * guest memory (before memory is copied), then the registers are read. Restore, into the ITS of a fresh VM whose
 * guest memory and redistributors are already restored and whose ITS base is set (the same configuration):
 * GITS_CBASER, the other GITS registers except GITS_CTLR, KVM_DEV_ARM_ITS_RESTORE_TABLES, GITS_CTLR last.
 *
 * @module
 */
import { Errno, fail, type KvmDevice } from '@irqflow/core';
import { GITS } from './gits-regs';

const ITS_GRP_ADDR = 0;
const ITS_GRP_CTRL = 4;
const ITS_GRP_ITS_REGS = 8;
const ITS_ADDR_TYPE = 4n;
const CTRL_SAVE_TABLES = 1n;
const CTRL_RESTORE_TABLES = 2n;

/** A saved ITS. */
export interface SavedIts {
  /** The frame base (configuration: must match on restore). */
  readonly base: bigint;
  /** GITS register offset → value. */
  readonly regs: readonly (readonly [number, bigint])[];
}

/** The registers saved, in the order they are restored after GITS_CBASER (GITS_CTLR is handled last). */
const REGS = [GITS.IIDR, GITS.BASER, GITS.BASER + 8, GITS.CREADR, GITS.CWRITER];

/** ITS_SAVE_TABLES: the ITS's tables into guest memory. @throws KvmError as the CTRL call does */
export function saveItsToGuestMemory(dev: KvmDevice): void {
  dev.setAttr({ group: ITS_GRP_CTRL, attr: CTRL_SAVE_TABLES });
}

/** Reads the ITS registers a VMM saves. */
export function saveIts(dev: KvmDevice): SavedIts {
  const get = (off: number): bigint => dev.getAttr({ group: ITS_GRP_ITS_REGS, attr: BigInt(off) });
  const regs: [number, bigint][] = [[GITS.CBASER, get(GITS.CBASER)]];
  for (const off of REGS) regs.push([off, get(off)]);
  regs.push([GITS.CTLR, get(GITS.CTLR)]);
  return { base: dev.getAttr({ group: ITS_GRP_ADDR, attr: ITS_ADDR_TYPE }), regs };
}

/**
 * Restores `saved` in the documented order. A RESTORE_TABLES failure leaves the ITS with no restored table
 * content and is rethrown after GITS_CTLR is left disabled.
 * @throws KvmError EINVAL for a state of another shape or another ITS base; what the attribute calls throw
 */
export function restoreIts(dev: KvmDevice, saved: SavedIts): void {
  if (saved === null || typeof saved !== 'object' || typeof saved.base !== 'bigint' || !Array.isArray(saved.regs))
    fail(Errno.EINVAL, 'not a saved ITS');
  const base = dev.getAttr({ group: ITS_GRP_ADDR, attr: ITS_ADDR_TYPE });
  if (base !== saved.base) fail(Errno.EINVAL, `ITS base 0x${base.toString(16)} differs from the saved 0x${saved.base.toString(16)}`);
  const byOff = new Map<number, bigint>(saved.regs.map(([o, v]) => [o, v]));
  for (const off of [GITS.CBASER, ...REGS, GITS.CTLR])
    if (typeof byOff.get(off) !== 'bigint') fail(Errno.EINVAL, `saved ITS lacks register 0x${off.toString(16)}`);
  const set = (off: number): void => dev.setAttr({ group: ITS_GRP_ITS_REGS, attr: BigInt(off) }, byOff.get(off));
  set(GITS.CBASER);
  for (const off of REGS) set(off);
  dev.setAttr({ group: ITS_GRP_CTRL, attr: CTRL_RESTORE_TABLES });
  set(GITS.CTLR);
}
