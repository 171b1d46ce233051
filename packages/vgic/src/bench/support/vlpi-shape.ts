/**
 * A benchmark shape of GICv4 direct injection (Arm IHI 0069, 5.3 "Virtual LPI support"): `k` forwarded vLPIs
 * pending at all times in the virtual pending table of a resident vPE, each delivered, acknowledged and EOId by
 * the guest with no list register and no exit, then raised again by its passthrough device (VFIO-like vectors
 * routed by the VMM as QEMU does: MSI route + irqfd + VFIO trigger, forwarded by irq-bypass), so the backlog
 * stays at `k`. The same shape as core's pendingShape (2-vCPU VM, vCPU 0 takes everything, a repetition ends
 * with a userspace exit from the guest's vector), but the interrupts are passthrough vLPIs instead of
 * KVM_SIGNAL_MSI: what an O(pending) walk of the virtual pending table per acknowledge shows up in. Not part of
 * the public API.
 *
 * @module
 */
import {
  EventFd,
  pendingShape,
  scalingRows,
  type BenchmarkEntry,
  type BenchShape,
  type Hypervisor,
  type Msi,
  type PassthroughDevice,
  type ScalingOptions,
  type Vm,
} from '@irqflow/core';
import { gicV4Of } from '../../v4';

/** Events per ITS device (and vectors per passthrough device). */
const PER_DEVICE = 256;

/**
 * The VMM's side of the shape (core's {@link PendingShapeOptions.raiser}): one passthrough device per ITS device
 * of the guest's mappings, each vector's MSI routed, irqfd'd and set as the vector's trigger, so the vLPI is
 * forwarded to the vPE. @returns the raise of interrupt `j` (its device's vector)
 * @throws RangeError if more than 4096 vectors, or if they are not all forwarded
 */
function passthroughRaiser(vm: Vm, msis: readonly Msi[]): (j: number) => void {
  const k = msis.length;
  if (k > 4096) throw new RangeError(`${k} vLPIs: at most 4096 (one GSI route each)`);
  const hv = vm.hv;
  vm.setGsiRouting(msis.map((msi, gsi) => ({ gsi, type: 'msi', msi })));
  const pts: PassthroughDevice[] = [];
  for (let d = 0; d * PER_DEVICE < k; d++) {
    const n = Math.min(PER_DEVICE, k - d * PER_DEVICE);
    const pt = hv.createPassthroughDevice(`vfio-${d}`, d, n);
    for (let i = 0; i < n; i++) {
      const msi = msis[d * PER_DEVICE + i];
      const fd = new EventFd(`vfio-${d}-v${i}`);
      pt.programVector(i, msi.address, msi.data, false);
      vm.irqfd({ fd, gsi: d * PER_DEVICE + i });
      pt.setTrigger(i, fd);
    }
    pts.push(pt);
  }
  const v4 = gicV4Of(vm);
  if (!v4 || v4.mappings.length !== k) throw new RangeError(`${v4?.mappings.length ?? 0} of ${k} vLPIs forwarded`);
  return (j) => pts[j >> 8].raise(j & (PER_DEVICE - 1));
}

/**
 * `k` passthrough vLPIs pending at all times on the resident vPE of vCPU 0 ("gic-v4" / "gic-v4.1"; k ≤ 4096,
 * one GSI route each): core's pendingShape of `k` LPIs, raised by their passthrough devices instead of
 * KVM_SIGNAL_MSI.
 * @throws RangeError if `k` is out of range or the vLPIs are not forwarded
 * @example
 * const s = pendingVlpiShape(new Hypervisor({ traceCapacity: 16 }).use(VgicPlugin), 'gic-v4.1', 4096);
 * const nsPerIrq = s.rep(20_000);
 */
export function pendingVlpiShape(hv: Hypervisor, irqchip: string, k: number): BenchShape {
  return pendingShape(hv, irqchip, 'lpi', k, { raiser: passthroughRaiser });
}

/**
 * The scaling rows "scaling `irqchip` pending vLPIs `k` vs 1" (core's scalingRows over {@link pendingVlpiShape}):
 * for each point, wall-clock ns per vLPI (min/median/max of repetitions interleaved with the 1-pending reference
 * of the same shape) and the ratio (1.0 = flat).
 * @example
 * const rows = vlpiScalingRows(new Hypervisor({ traceCapacity: 16 }).use(VgicPlugin), 'gic-v4.1', [256, 4096]);
 */
export function vlpiScalingRows(hv: Hypervisor, irqchip: string, points: readonly number[], o: ScalingOptions = {}): BenchmarkEntry[] {
  return scalingRows(hv, irqchip, { grows: 'lpi', points, name: 'pending vLPIs' }, { ...o, raiser: passthroughRaiser });
}
