/**
 * GICv3 redistributor regions and the redistributor each vCPU is given, as KVM does it (newest mainline
 * vgic-mmio-v3.c: vgic_register_redist_iodev, vgic_register_all_redist_iodevs, vgic_mmio_vcpu_rdist_is_last;
 * vgic-v3.c: vgic_v3_check_base, vgic_v3_rdist_free_slot; vgic.c: vgic_check_iorange). Arm IHI 0069, 12.10
 * "The GIC Redistributor register map" (GICR_TYPER.Processor_Number, Last).
 *
 * - A redistributor is associated with a vCPU as soon as both exist: when the vCPU is created (a region with a
 *   free slot exists) or when a region is added (every vCPU still without one, in creation order). Each goes to
 *   the first region, in index order, with a free slot; the legacy REDIST region (count 0) never fills up.
 * - Before an association the regions are checked (vgic_v3_check_base): each region aligned, not wrapping and
 *   inside the IPA space (the legacy region covers online vCPUs × 128 KiB, so it grows with every vCPU), and
 *   none overlapping the distributor. A failure is EINVAL (never E2BIG: KVM folds every iorange error into
 *   "bad base"), and nothing is changed.
 * - GICR_TYPER.Last: set for the highest redistributor in use in its region, except one in the region's last
 *   slot when another region starting exactly at this region's end has redistributors in use.
 *
 * @module
 */
import { Errno, fail } from '@irqflow/core';
import type { RedistRegion, Vgic } from './vgic';
import type { VgicCpu } from './vgic-cpu';

/** Size of the GICv3 distributor frame (as vgic-mmio-v3's GICV3_DIST_SIZE). */
const DIST_SIZE = 0x10000;
/** Size of one redistributor (RD_base + SGI_base). */
export const REDIST_SIZE = 0x20000;
const SZ_64K = 0x10000;

/**
 * vgic_check_iorange without the "already set" test: 0 when `[base, base + size)` is `align`-aligned (base
 * and size), does not wrap around 2^64 and ends inside the VM's IPA space; else the errno KVM gives.
 */
export function ioRangeErrno(vg: Vgic, base: number, align: number, size: number): 0 | Errno {
  if (base % align !== 0 || size % align !== 0) return Errno.EINVAL;
  if (base + size >= 2 ** 64) return Errno.EINVAL;
  if (base + size > vg.vm.ipaSize) return Errno.E2BIG;
  return 0;
}

/** vgic_v3_rd_region_size: a legacy region covers the online vCPUs, a REDIST_REGION its count. */
export function redistRegionSize(vg: Vgic, r: RedistRegion): number {
  return (r.count === 0 ? vg.vm.vcpus.length : r.count) * REDIST_SIZE;
}

function overlaps(a: number, as: number, b: number, bs: number): boolean {
  return a < b + bs && b < a + as;
}

/**
 * vgic_v3_check_base: every region in range and aligned, and the distributor (when set) overlapping none.
 * The legacy region's size depends on the number of vCPUs created so far.
 */
export function redistBaseOk(vg: Vgic): boolean {
  for (const r of vg.redistRegions) if (ioRangeErrno(vg, r.base, SZ_64K, redistRegionSize(vg, r)) !== 0) return false;
  if (vg.distBase < 0) return true; // VGIC_ADDR_UNSET
  for (const r of vg.redistRegions) if (overlaps(vg.distBase, DIST_SIZE, r.base, redistRegionSize(vg, r))) return false;
  return true;
}

/** vgic_v3_rdist_free_slot: the first region (index order) with a free redistributor slot. */
function freeSlot(vg: Vgic): RedistRegion | undefined {
  for (const r of vg.redistRegions) if (r.count === 0 || r.freeIndex < r.count) return r;
  return undefined;
}

/**
 * Checks that a vCPU about to be created can be given a redistributor (KVM_CREATE_VCPU on a GICv3 VM; the new
 * vCPU is not yet online). Changes nothing.
 * @throws KvmError EINVAL when a free slot exists but the regions fail {@link redistBaseOk}
 */
export function checkNewVcpuRedist(vg: Vgic): void {
  if (freeSlot(vg) !== undefined && !redistBaseOk(vg))
    fail(Errno.EINVAL, 'the redistributor regions overlap the distributor or leave the IPA space');
}

/** Gives `c` the next free redistributor if it has none (callers checked {@link redistBaseOk}). */
export function assignRedist(vg: Vgic, c: VgicCpu): void {
  if (c.rdRegion !== null) return;
  const r = freeSlot(vg);
  if (r === undefined) return;
  c.rdRegion = r;
  c.rdIndex = r.freeIndex++;
}

/**
 * A region was just added: gives every vCPU without a redistributor one, in creation order. All or nothing:
 * on failure nothing is assigned (the caller then drops the region).
 * @throws KvmError EINVAL when some vCPU would get a redistributor but the regions fail {@link redistBaseOk}
 */
export function assignAllRedists(vg: Vgic): void {
  const waiting = vg.cpus.some((c) => c.rdRegion === null);
  if (waiting && freeSlot(vg) !== undefined && !redistBaseOk(vg))
    fail(Errno.EINVAL, 'the redistributor regions overlap the distributor or leave the IPA space');
  for (const c of vg.cpus) assignRedist(vg, c);
}

/** GICR_TYPER.Last of `c`'s redistributor (vgic_mmio_vcpu_rdist_is_last). */
export function redistIsLast(vg: Vgic, c: VgicCpu): boolean {
  const r = c.rdRegion;
  if (r === null) return false;
  if (c.rdIndex < r.freeIndex - 1) return false;
  if (r.count !== 0 && c.rdIndex === r.count - 1) {
    const end = r.base + r.count * REDIST_SIZE;
    for (const o of vg.redistRegions) if (o.base === end && o.freeIndex > 0) return false;
  }
  return true;
}

/** The guest physical base of `c`'s redistributor, or -1 without one. */
export function redistBase(c: VgicCpu): number {
  return c.rdRegion === null ? -1 : c.rdRegion.base + c.rdIndex * REDIST_SIZE;
}
