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
  benchRow,
  calibrateShape,
  DAIF,
  EventFd,
  GuestAsm,
  interleaved,
  spread,
  type BenchmarkEntry,
  type BenchShape,
  type GuestIrqDriver,
  type Hypervisor,
  type Msi,
  type PassthroughDevice,
  type ScalingOptions,
  type Vcpu,
} from '@irqflow/core';
import { gicV4Of } from '../../v4';

/** An address with neither memory nor a device behind it: a guest load from it exits to userspace. */
const PAUSE_MMIO = 0x7f00_0000;
const FIRST = 8192;
/** Events per ITS device (and vectors per passthrough device). */
const PER_DEVICE = 256;

/**
 * `k` passthrough vLPIs pending at all times on the resident vPE of vCPU 0 ("gic-v4" / "gic-v4.1"; k ≤ 4096,
 * one GSI route each).
 * @throws RangeError if `k` is out of range or the vLPIs are not forwarded
 * @example
 * const s = pendingVlpiShape(new Hypervisor({ traceCapacity: 16 }).use(VgicPlugin), 'gic-v4.1', 4096);
 * const nsPerIrq = s.rep(20_000);
 */
export function pendingVlpiShape(hv: Hypervisor, irqchip: string, k: number): BenchShape {
  if (!Number.isInteger(k) || k < 1 || k > 4096) throw new RangeError(`${k} vLPIs: 1..4096 (one GSI route each)`);
  const vm = hv.createVm();
  vm.createVcpu();
  vm.createVcpu();
  const drv: GuestIrqDriver = hv.irqchip(irqchip).setup(vm, {});
  if (!drv.emitMsiSetup) throw new RangeError(`${irqchip}: no MSIs`);
  const msis: Msi[] = [];
  const pts: PassthroughDevice[] = [];
  let handled = 0;
  let pauseAt = 0;
  const raise = (j: number): void => pts[j >> 8].raise(j & (PER_DEVICE - 1));
  const a = new GuestAsm();
  a.label('main');
  drv.emitCpuInit(a);
  for (let j = 0; j < k; j++) msis.push(drv.emitMsiSetup(a, { devid: j >> 8, event: j & 255, intid: FIRST + j, target: 0 }));
  a.daifclr(DAIF.I).label('idle').wfi().b('idle');
  a.label('irq');
  drv.emitAck(a, 9);
  a.beqi(9, drv.spurious, 'out');
  drv.emitEoi(a, 9);
  a.callb((v: Vcpu) => {
    raise(v.x(9) - FIRST); // the device raises it again: the backlog stays at k
    return ++handled === pauseAt;
  }, 'pause');
  a.label('out').eret();
  a.label('pause').ldra(10, PAUSE_MMIO).eret();
  const idle = new GuestAsm();
  idle.label('main');
  drv.emitCpuInit(idle);
  idle.daifclr(DAIF.I).label('l').wfi().b('l');
  vm.vcpus.forEach((v, i) => v.setProgram(i === 0 ? a.build() : idle.build()));
  drv.hostMsiSetup?.(vm);
  if (vm.run().reason !== 'idle') throw new Error(`${irqchip}: the set-up did not go idle`);
  // the VMM: one passthrough device per ITS device, each vector's MSI routed, irqfd'd and triggered (forwarded)
  vm.setGsiRouting(msis.map((msi, gsi) => ({ gsi, type: 'msi', msi })));
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
  if (!v4 || v4.mappings.length !== k) throw new RangeError(`${irqchip}: ${v4?.mappings.length ?? 0} of ${k} vLPIs forwarded`);
  // the backlog is raised here, once, outside every repetition's timer
  for (let j = 0; j < k; j++) raise(j);
  return {
    vm,
    get handled() {
      return handled;
    },
    rep(irqs: number): number {
      const h0 = handled;
      pauseAt = handled + Math.max(1, irqs);
      const t = process.hrtime.bigint();
      const r = vm.run();
      const ns = Number(process.hrtime.bigint() - t);
      if (r.reason !== 'exit' || handled !== pauseAt) throw new Error(`${irqchip}: ${handled - h0} of ${irqs} vLPIs handled (${r.reason})`);
      return ns / (handled - h0);
    },
  };
}

/**
 * The scaling rows "scaling `irqchip` pending vLPIs `k` vs 1": for each point, wall-clock ns per vLPI
 * (min/median/max of repetitions interleaved with the 1-pending reference of the same shape) and the ratio
 * (1.0 = flat), as core's scalingRows does for its families.
 * @example
 * const rows = vlpiScalingRows(new Hypervisor({ traceCapacity: 16 }).use(VgicPlugin), 'gic-v4.1', [256, 4096]);
 */
export function vlpiScalingRows(hv: Hypervisor, irqchip: string, points: readonly number[], o: ScalingOptions = {}): BenchmarkEntry[] {
  const ms = o.repMs ?? 60;
  const ref = pendingVlpiShape(hv, irqchip, 1);
  const refIrqs = calibrateShape(ref, ms, o.warmUp);
  const rows: BenchmarkEntry[] = [];
  for (const x of points) {
    const s = pendingVlpiShape(hv, irqchip, x);
    const irqs = calibrateShape(s, ms, o.warmUp);
    const r = interleaved(
      () => s.rep(irqs),
      () => ref.rep(refIrqs),
      { reps: o.reps ?? 5, warmUp: o.warmUp },
    );
    rows.push(benchRow(`scaling ${irqchip} pending vLPIs ${x} vs 1`, 'ns/irq', 'lower', r.model, spread(r.reference).median));
  }
  return rows;
}
