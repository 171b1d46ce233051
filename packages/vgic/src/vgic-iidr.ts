/**
 * GICD_IIDR / GICR_IIDR as KVM implements them (Arm IHI 0069, 12.9.17 "GICD_IIDR" and 12.11.15 "GICR_IIDR";
 * Arm IHI 0048B 4.3.3 "GICD_IIDR"; KVM's vgic_mmio_uaccess_write_v{2,3}_misc): implementer Arm (0x43b), product
 * KVM (0x4b) and an implementation-defined Revision[15:12]. The guest view is read-only (writes ignored).
 * Userspace (KVM_SET_DEVICE_ATTR on DIST_REGS offset 8) may write a value that differs from the one it reads in
 * the Revision field only, to select an older KVM behaviour after a migration: revisions 1..3 on GICv3, 1..2 on
 * GICv2 (2 and 3 are the defaults). Anything else — another implementer or product, or a revision outside the
 * range — fails with EINVAL and changes nothing. The revision is per VM; GICR_IIDR reports the same one, and
 * vgic-migration saves GICD_IIDR first so the restored VM keeps it.
 *
 * Behaviours modelled per revision: only the value that reads back. KVM's revision-dependent differences — on
 * GICv2, revision 1 reporting every interrupt as Group 0 with IGROUPR RAZ/WI; on GICv3, revisions below 3
 * reading GICR_CTLR.{IR, CES} as 0 — are NOT modelled: this model always behaves as the newest revision
 * (guest-configurable groups; IR and CES read as 1).
 *
 * @module
 */
import { Errno, fail } from '@irqflow/core';
import type { Vgic } from './vgic';
import { VGIC_IIDR, type RegHandler } from './vgic-mmio';

/** GICD_IIDR.Revision field position. */
export const IIDR_REVISION_SHIFT = 12;
/** GICD_IIDR.Revision field mask. */
export const IIDR_REVISION_MASK = 0xf << IIDR_REVISION_SHIFT;
/** Highest (and default) GICv3 revision: GICR_CTLR.{IR, CES}, GICR_INVLPIR/INVALLR/SYNCR. */
export const VGIC_V3_IIDR_REV_LATEST = 3;
/** Highest (and default) GICv2 revision: guest-configurable interrupt groups. */
export const VGIC_V2_IIDR_REV_LATEST = 2;

/** Per-VM revision chosen by userspace (absent: the latest for the GIC version). */
const chosen = new WeakMap<Vgic, number>();

/** The Revision the vgic reports. */
export function iidrRevision(vg: Vgic): number {
  return chosen.get(vg) ?? (vg.v2 ? VGIC_V2_IIDR_REV_LATEST : VGIC_V3_IIDR_REV_LATEST);
}

/** The GICD_IIDR (and GICR_IIDR) value of `vg`. */
export function iidrValue(vg: Vgic): number {
  return ((VGIC_IIDR & ~IIDR_REVISION_MASK) | (iidrRevision(vg) << IIDR_REVISION_SHIFT)) >>> 0;
}

/** Reads GICD_IIDR / GICR_IIDR. */
export const readIidr: RegHandler = (a, _o, _l, v) => {
  v.lo = iidrValue(a.vg);
};

/**
 * Userspace write of GICD_IIDR: only Revision may differ from the value read, and it must be 1..3 (GICv3) or
 * 1..2 (GICv2).
 * @throws KvmError EINVAL otherwise (nothing changes)
 */
export const userWriteIidr: RegHandler = (a, _o, _l, v) => {
  chosen.set(a.vg, checkUserIidr(a.vg, v.lo >>> 0));
};

/**
 * Validates a userspace GICD_IIDR value without applying it; returns the Revision it selects.
 * @throws KvmError EINVAL as {@link userWriteIidr}
 */
export function checkUserIidr(vg: Vgic, val: number): number {
  if (((val ^ iidrValue(vg)) & ~IIDR_REVISION_MASK) !== 0)
    fail(Errno.EINVAL, `GICD_IIDR 0x${val.toString(16)}: only the Revision field may differ from 0x${iidrValue(vg).toString(16)}`);
  const rev = (val & IIDR_REVISION_MASK) >>> IIDR_REVISION_SHIFT;
  const latest = vg.v2 ? VGIC_V2_IIDR_REV_LATEST : VGIC_V3_IIDR_REV_LATEST;
  if (rev < 1 || rev > latest) fail(Errno.EINVAL, `GICD_IIDR revision ${rev} is not implemented (1..${latest})`);
  return rev;
}
