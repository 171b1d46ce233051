/**
 * The vGIC's loaded vCPU interface state across a migration (irqflow-private; core's vm-snapshot.ts, "A pure
 * observation"): while a vCPU is in the guest its list registers (Arm IHI 0069, 12.4.6 ICH_LR<n>_EL2; IHI 0048B
 * 5.3 GICH_LRn) hold interrupts whose state the guest changes without an exit, and ICH_HCR_EL2 holds the
 * maintenance enables and EOIcount the next exit acts on. KVM has no ABI for this state: a VMM stops the vCPUs
 * before it saves, and the exit folds the LRs back (vgic_sync_hwstate). irqflow saves without that exit, so the
 * snapshot carries, per vCPU in the guest, exactly what the fold would act on:
 * - each used LR: vINTID, state, priority, group, HW/pINTID, EOI bit, GICv2 CPUID, and the state the hypervisor
 *   wrote at the flush (what tells the fold what the guest consumed);
 * - the raw distributor-side state of each interrupt held in an LR (pending latch, line level, active, enabled,
 *   edge/level, GICv2 SGI sources), which differs from the attribute view while it is in the LR (the flush took
 *   an edge latch or an SGI source into the LR);
 * - ICH_HCR_EL2.NPIE/LRENPIE/UIE/VGrp0EIE/VGrp1EIE and EOIcount.
 * The restore puts each such interrupt back on its vCPU's ap_list (where the source had it, whether or not the
 * attribute view still calls it pending or active), into the same LR with the same state, so the destination's
 * first exit folds exactly what the source's would have.
 *
 * @module
 */
import { Errno, fail, type Vcpu } from '@irqflow/core';
import type { Vgic } from './vgic';
import { MAX_LRS } from './vgic-cpuif';
import { apInsert } from './vgic-ap-list';

/** One list register and the interrupt it holds. */
export interface SavedLr {
  /** vINTID. */
  readonly intid: number;
  /** LR state (LrState.Pending | LrState.Active). */
  readonly state: number;
  /** The state the hypervisor wrote at the flush. */
  readonly flushState: number;
  /** LR priority. */
  readonly prio: number;
  /** LR group. */
  readonly group: number;
  /** LR HW bit. */
  readonly hw: boolean;
  /** LR pINTID. */
  readonly pintid: number;
  /** LR EOI (maintenance) bit. */
  readonly eoi: boolean;
  /** LR CPUID (GICv2 SGI source). */
  readonly cpuid: number;
  /** The interrupt's raw state bits (VgicIrq.stateBits). */
  readonly bits: number;
  /** The interrupt's GICv2 SGI pending sources. */
  readonly sources: number;
  /** The interrupt's GICv2 SGI active source. */
  readonly activeSource: number;
}

/** The loaded vCPU interface state of one vCPU in the guest. */
export interface SavedVgicHwstate {
  /** The used list registers, in LR order. */
  readonly lrs: readonly SavedLr[];
  /** ICH_HCR_EL2.EOIcount. */
  readonly eoiCount: number;
  /** ICH_HCR_EL2.NPIE. */
  readonly npie: boolean;
  /** ICH_HCR_EL2.LRENPIE. */
  readonly lrenpie: boolean;
  /** ICH_HCR_EL2.UIE. */
  readonly uie: boolean;
  /** ICH_HCR_EL2.VGrp0EIE. */
  readonly vgrp0eie: boolean;
  /** ICH_HCR_EL2.VGrp1EIE. */
  readonly vgrp1eie: boolean;
}

/** Reads `vcpu`'s loaded state without changing anything (vcpuSaveHwstate). */
export function saveVgicHwstate(vg: Vgic, vcpu: Vcpu): SavedVgicHwstate {
  const c = vg.cpu(vcpu);
  const hw = c.cpuif;
  const lrs: SavedLr[] = [];
  for (let i = 0; i < hw.usedLrs; i++) {
    const irq = c.lrIrqs[i]!;
    lrs.push({
      intid: hw.lrIntid[i],
      state: hw.lrState[i],
      flushState: c.lrFlushState[i],
      prio: hw.lrPrio[i],
      group: hw.lrGroup[i],
      hw: hw.lrHw[i] !== 0,
      pintid: hw.lrPintid[i],
      eoi: hw.lrEoi[i] !== 0,
      cpuid: hw.lrSource[i],
      bits: irq.stateBits,
      sources: irq.source,
      activeSource: irq.activeSource,
    });
  }
  return {
    lrs,
    eoiCount: hw.eoiCount,
    npie: hw.npie,
    lrenpie: hw.lrenpie,
    uie: hw.uie,
    vgrp0eie: hw.vgrp0eie,
    vgrp1eie: hw.vgrp1eie,
  };
}

function malformed(what: string): never {
  fail(Errno.EINVAL, `vgic hwstate: ${what}`);
}

function check(s: unknown, nrLrs: number): SavedVgicHwstate {
  const h = s as SavedVgicHwstate | null;
  if (h === null || typeof h !== 'object' || !Array.isArray(h.lrs)) malformed('not a saved vCPU interface');
  if (h.lrs.length > Math.min(nrLrs, MAX_LRS)) malformed(`${h.lrs.length} list registers, the vCPU has ${nrLrs}`);
  const u8 = (x: unknown): boolean => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 0xff;
  const saved: readonly SavedLr[] = h.lrs;
  for (const lr of saved)
    if (
      lr === null ||
      typeof lr !== 'object' ||
      !Number.isInteger(lr.intid) ||
      !u8(lr.state) ||
      lr.state > 3 ||
      !u8(lr.flushState) ||
      lr.flushState > 3 ||
      !u8(lr.prio) ||
      !(lr.group === 0 || lr.group === 1) ||
      typeof lr.hw !== 'boolean' ||
      !Number.isInteger(lr.pintid) ||
      typeof lr.eoi !== 'boolean' ||
      !u8(lr.cpuid) ||
      !Number.isInteger(lr.bits) ||
      lr.bits < 0 ||
      lr.bits > 31 ||
      !Number.isInteger(lr.sources) ||
      !u8(lr.activeSource)
    )
      malformed('malformed list register');
  if (!u8(h.eoiCount) || h.eoiCount > 31) malformed('EOIcount out of range');
  for (const b of [h.npie, h.lrenpie, h.uie, h.vgrp0eie, h.vgrp1eie]) if (typeof b !== 'boolean') malformed('malformed ICH_HCR_EL2');
  return h;
}

/**
 * Checks the saved states of all vCPUs (`states[i]` for vCPU i, `null` for one outside the guest) before the
 * restore changes anything (IrqchipFlow.checkHwstate): the format, no more list registers than the vCPU has, an
 * INTID the architecture has (0-1019 or an LPI from 8192) and, once the vgic is initialised, an SPI it has, no
 * interrupt in two list registers (an SPI or LPI not on two vCPUs). Whether an LPI is mapped is known only once
 * the ITS tables are restored: {@link restoreVgicHwstate} checks that.
 * @throws KvmError EINVAL naming the vCPU and what is wrong
 */
export function checkVgicHwstates(vg: Vgic, states: readonly unknown[]): void {
  const shared = new Set<number>();
  states.forEach((st, i) => {
    if (st === null) return;
    const h = check(st, vg.nrLrs);
    const own = new Set<number>();
    for (const lr of h.lrs) {
      const id = lr.intid;
      if (id < 0 || (id >= 1020 && id < 8192)) malformed(`vCPU ${i}: INTID ${id} is not an interrupt`);
      if (id >= 32 && id < 1020 && vg.initialized && id >= 32 + vg.nrSpis) malformed(`vCPU ${i}: no SPI ${id}`);
      if (own.has(id) || (id >= 32 && shared.has(id))) malformed(`vCPU ${i}: INTID ${id} is in two list registers`);
      own.add(id);
      if (id >= 32) shared.add(id);
    }
  });
}

/**
 * Installs `saved` on `vcpu` of the destination (vcpuRestoreHwstate), after its device state was replayed and
 * instead of the flush of its entry into the guest. Checks everything before it changes anything.
 * @throws KvmError EINVAL for malformed state, an INTID the VM does not have, or one held twice
 */
export function restoreVgicHwstate(vg: Vgic, vcpu: Vcpu, saved: unknown): void {
  const c = vg.cpu(vcpu);
  const hw = c.cpuif;
  const h = check(saved, hw.nrLrs);
  const irqs = h.lrs.map((lr) => {
    const irq = vg.irq(c, lr.intid);
    if (irq === undefined) malformed(`no interrupt ${lr.intid} for vCPU ${vcpu.index}`);
    if (irq.lrCpu !== null) malformed(`INTID ${lr.intid} is in two list registers`);
    return irq;
  });
  if (new Set(irqs).size !== irqs.length) malformed('an interrupt is in two list registers');
  hw.clearLrs();
  c.lrIrqs.fill(null);
  h.lrs.forEach((lr, i) => {
    const irq = irqs[i];
    // on this vCPU's ap_list, as on the source (whatever the attribute replay queued it on, or not at all)
    if (irq.apCpu !== c) {
      vg.unqueue(irq);
      irq.apCpu = c;
      apInsert(c, irq);
    }
    irq.restoreStateBits(lr.bits);
    irq.source = lr.sources;
    irq.activeSource = lr.activeSource;
    hw.lrState[i] = lr.state;
    hw.lrIntid[i] = lr.intid;
    hw.lrPrio[i] = lr.prio;
    hw.lrGroup[i] = lr.group;
    hw.lrHw[i] = lr.hw ? 1 : 0;
    if (lr.hw) hw.hwLrs++;
    hw.lrPintid[i] = lr.pintid;
    hw.lrEoi[i] = lr.eoi ? 1 : 0;
    hw.lrSource[i] = lr.cpuid;
    c.lrFlushState[i] = lr.flushState;
    c.lrIrqs[i] = irq;
    irq.lrCpu = c;
    irq.lr = i;
  });
  hw.usedLrs = h.lrs.length;
  hw.eoiCount = h.eoiCount;
  hw.npie = h.npie;
  hw.lrenpie = h.lrenpie;
  hw.uie = h.uie;
  hw.vgrp0eie = h.vgrp0eie;
  hw.vgrp1eie = h.vgrp1eie;
}
