/**
 * The GICv4 / GICv4.1 state of one VM (KVM's vgic-v4.c): the host capability (a GICv4 or GICv4.1 host, set by
 * the "gic-v4" / "gic-v4.1" irqchips or by {@link enableGicV4}), one {@link Vpe} per vCPU, and the forwarding of
 * host interrupts to vLPIs (kvm_vgic_v4_set_forwarding / kvm_vgic_v4_unset_forwarding, Arm IHI 0069 5.3: the
 * ITS maps one physical LPI to one vLPI — VMAPTI — and VMOVI / DISCARD / VMAPP keep it consistent).
 *
 * Forwarding rules (references §1, seed 001 and its 2025 upstream resolution):
 * - only an MSI route the emulated ITS translates to an LPI (mapped device, event and collection) is forwarded;
 * - one host interrupt ↔ one vLPI: the FIRST host interrupt that maps a vLPI wins; a later producer whose route
 *   translates to the same vLPI stays on software injection (irqfd → ITS emulation) and is counted in
 *   {@link GicV4Stats.sharedRefused};
 * - unset-forwarding looks the vLPI up by host IRQ and undoes exactly that host interrupt's mapping (a producer
 *   that was refused has nothing to undo);
 * - an ITS change that removes the translation (DISCARD, MAPD remap or V=0, BASER Valid = 0, CTRL_RESET, restore)
 *   or unmaps its collection (MAPC V=0) unmaps the vLPI first; MOVI / MAPC retarget / MOVALL re-target the vLPI to
 *   the new vPE (VMOVI), moving its pending bit; INV / INVALL re-present it with its new configuration (KVM's
 *   its_prop_update_vlpi: the vLPI stays mapped, the redistributor reads the new enable/priority); a routing
 *   change goes through unset then set (kvm_arch_update_irqfd_routing);
 * - the software pending state moves with the mapping: into the virtual pending table when a vLPI is mapped, back
 *   to the emulated LPI when it is unmapped (dropped when the translation itself is gone); software MSIs to a
 *   forwarded vLPI set it pending in the virtual pending table (KVM's vgic_its_trigger_msi on irq->hw).
 *
 * @module
 */
import { Errno, fail, KVM_DEV_TYPE, MSI_VALID_DEVID, type HostIrq, type RoutingEntry, type Vm } from '@irqflow/core';
import { itsVmOf, type ItsVm } from '../its/its-vm';
import type { Vgic } from '../vgic';
import { registerV4Hooks, v4HooksOf, type V4Hooks } from './v4-hooks';
import { Vpe, type SavedVpeArrivals, type VlpiConfig } from './vpe';

/** Host GIC generation with direct injection. */
export type GicV4Version = '4' | '4.1';

/** One forwarded host interrupt. */
export interface VlpiMapping {
  /** The host interrupt (physical LPI). */
  readonly hostIrq: HostIrq;
  /** The vLPI. */
  readonly intid: number;
  /** Index of the vPE (vCPU) the vLPI targets. */
  vcpu: number;
  /** The MSI route it was set up for. */
  readonly route: RoutingEntry;
}

/** Counters of a VM's GICv4 state. */
export interface GicV4Stats {
  /** vLPI mappings made. */
  mapped: number;
  /** vLPI mappings undone. */
  unmapped: number;
  /** Producers left on software injection because their vLPI was already mapped by another host interrupt. */
  sharedRefused: number;
  /** Re-targets (VMOVI). */
  moved: number;
  /** Host interrupts delivered straight to a vPE. */
  forwarded: number;
}

/** The GICv4 state of one VM. */
export class GicV4 implements V4Hooks, VlpiConfig {
  /** vPEs by vCPU index (created when the vGICv3 is initialised: {@link GicV4.attach}). */
  readonly vpes: Vpe[] = [];
  /** GICD_TYPER2.nASSGIcap (GICv4.1 only; defaults to the host capability, as KVM). */
  nassgicap: boolean;
  /** GICD_CTLR.nASSGIreq: SGIs are delivered as vSGIs. */
  nassgireq = false;
  /** Counters. */
  readonly stats: GicV4Stats = { mapped: 0, unmapped: 0, sharedRefused: 0, moved: 0, forwarded: 0 };
  private readonly byHostIrq = new Map<number, VlpiMapping>();
  private readonly byIntid = new Map<number, VlpiMapping>();
  private its: ItsVm | undefined;

  /**
   * @param vm - the VM
   * @param version - the host's GIC generation
   */
  constructor(
    readonly vm: Vm,
    readonly version: GicV4Version,
  ) {
    this.nassgicap = version === '4.1';
    registerV4Hooks(vm, this);
  }

  /** The VM's vGICv3, if created. */
  vgic(): Vgic | undefined {
    const d = this.vm.devices.find((x) => x.type === KVM_DEV_TYPE.ARM_VGIC_V3) as { vgic?: Vgic } | undefined;
    return d?.vgic;
  }

  /** Creates the vPEs of the vCPUs the vGICv3 knows (vgic_v4_init); idempotent. */
  attach(): void {
    const vg = this.vgic();
    if (!vg) return;
    for (const c of vg.cpus) {
      if (!c || this.vpes[c.index]) continue;
      const p = new Vpe(c, this);
      this.vpes[c.index] = p;
      c.cpuif.vpe = p;
      if (c.vcpu.loaded) p.load();
    }
  }

  /** The vPE of vCPU `i`. */
  vpe(i: number): Vpe | undefined {
    if (this.vpes[i] === undefined) this.attach();
    return this.vpes[i];
  }

  /** The mapping of a host interrupt, if forwarded. */
  mappingOfHostIrq(hostIrq: number): VlpiMapping | undefined {
    return this.byHostIrq.get(hostIrq);
  }

  /** The mapping of a vLPI, if forwarded. */
  mappingOfVlpi(intid: number): VlpiMapping | undefined {
    return this.byIntid.get(intid);
  }

  /** All mappings. */
  get mappings(): readonly VlpiMapping[] {
    return [...this.byHostIrq.values()];
  }

  private itsVm(): ItsVm | undefined {
    return (this.its ??= itsVmOf(this.vm));
  }

  // ---- VlpiConfig ---------------------------------------------------------------------------------------

  /** Enable bit of a vLPI (the VM's property table as the ITS last read it). */
  vlpiEnabled(intid: number): boolean {
    return this.itsVm()?.lpis.get(intid)?.enabled === true;
  }

  /** Priority of a vLPI. */
  vlpiPriority(intid: number): number {
    return this.itsVm()?.lpis.get(intid)?.priority ?? 0xff;
  }

  // ---- forwarding -----------------------------------------------------------------------------------------

  /**
   * kvm_vgic_v4_set_forwarding: forwards host interrupt `hostIrq` to the vLPI `route` translates to. Routes that
   * are not MSIs, do not translate, or whose vLPI is already mapped by another host interrupt stay on software
   * injection (no error, as upstream).
   * @throws KvmError EINVAL for an unknown host interrupt
   */
  setForwarding(hostIrq: number, route: RoutingEntry): void {
    const h = this.vm.hv.hostIrqs.get(hostIrq);
    if (route.type !== 'msi') return;
    const m = route.msi;
    if (((m.flags ?? 0) & MSI_VALID_DEVID) === 0) return;
    const s = this.itsVm();
    const its = s?.itsAt(m.address);
    if (!s || !its || !its.enabled) return;
    const ite = its.findIte(m.devid ?? 0, m.data >>> 0);
    if (!ite || !its.collectionMapped(ite.icid)) return;
    const lpi = ite.lpi;
    const vpe = this.vpe(lpi.vcpu);
    if (!vpe) return;
    const old = this.byHostIrq.get(hostIrq);
    if (old) this.unmap(old, true);
    if (this.byIntid.has(lpi.intid)) {
      this.stats.sharedRefused++;
      return;
    }
    const map: VlpiMapping = { hostIrq: h, intid: lpi.intid, vcpu: lpi.vcpu, route };
    this.byHostIrq.set(hostIrq, map);
    this.byIntid.set(lpi.intid, map);
    h.affinity = vpe;
    h.forward = () => {
      this.stats.forwarded++;
      this.vpes[map.vcpu].setVlpiPending(map.intid);
    };
    this.stats.mapped++;
    if (lpi.pending) {
      s.lpis.clearPending(lpi);
      vpe.setVlpiPending(lpi.intid);
    }
  }

  /** kvm_vgic_v4_unset_forwarding: undoes exactly `hostIrq`'s own mapping (looked up by host IRQ). */
  unsetForwarding(hostIrq: number): void {
    const map = this.byHostIrq.get(hostIrq);
    if (map) this.unmap(map, true);
  }

  private unmap(map: VlpiMapping, transferPending: boolean): void {
    this.byHostIrq.delete(map.hostIrq.irq);
    if (this.byIntid.get(map.intid) === map) this.byIntid.delete(map.intid);
    map.hostIrq.forward = null;
    map.hostIrq.affinity = null;
    this.stats.unmapped++;
    const was = this.vpes[map.vcpu]?.clearVlpiPending(map.intid) === true;
    if (was && transferPending) {
      const s = this.itsVm();
      const lpi = s?.lpis.get(map.intid);
      if (s && lpi) s.lpis.setPending(lpi);
    }
  }

  // ---- V4Hooks (ITS consistency) --------------------------------------------------------------------------

  /** The ITE of a vLPI is going away: unmap, dropping the virtual pending state. */
  translationGone(intid: number): void {
    const map = this.byIntid.get(intid);
    if (map) this.unmap(map, false);
  }

  /** VMOVI: the vLPI follows its LPI to vCPU `vcpuIndex`, with its pending bit. */
  lpiMoved(intid: number, vcpuIndex: number): void {
    const map = this.byIntid.get(intid);
    if (!map || map.vcpu === vcpuIndex) return;
    const to = vcpuIndex >= 0 ? this.vpe(vcpuIndex) : undefined;
    if (!to) {
      this.unmap(map, true);
      return;
    }
    const was = this.vpes[map.vcpu]?.clearVlpiPending(intid) === true;
    map.vcpu = vcpuIndex;
    map.hostIrq.affinity = to;
    this.stats.moved++;
    if (was) to.setVlpiPending(intid);
  }

  /** MAPC V=0: the translation no longer delivers; the host interrupt returns to software injection. */
  collectionUnmapped(intid: number): void {
    const map = this.byIntid.get(intid);
    if (map) this.unmap(map, true);
  }

  /** INV / INVALL: the redistributor re-reads the vLPI's configuration. */
  configChanged(intid: number): void {
    const map = this.byIntid.get(intid);
    if (map) this.vpes[map.vcpu]?.configChanged(intid);
  }

  /** CLEAR: the vLPI's pending bit is cleared. */
  clearPending(intid: number): void {
    const map = this.byIntid.get(intid);
    if (map) this.vpes[map.vcpu]?.clearVlpiPending(intid);
  }

  /** A software MSI to a forwarded vLPI lands in the virtual pending table. */
  redirectPending(intid: number): boolean {
    const map = this.byIntid.get(intid);
    if (!map) return false;
    this.vpes[map.vcpu].setVlpiPending(intid);
    return true;
  }

  /** Whether forwarded vLPI `intid` is pending (KVM reads the physical LPI's pending state when saving). */
  isPending(intid: number): boolean {
    const map = this.byIntid.get(intid);
    return map !== undefined && this.vpes[map.vcpu]?.isVlpiPending(intid) === true;
  }

  /** Snapshot: each vPE's arrival times ({@link Vpe.saveArrivals}), by vCPU index (null: no vPE). */
  saveRunLoop(): (SavedVpeArrivals | null)[] {
    return this.vm.vcpus.map((_, i) => this.vpes[i]?.saveArrivals() ?? null);
  }

  /** Snapshot restore: {@link saveRunLoop}'s times back into the vPEs (after the attributes made them pending). */
  restoreRunLoop(saved: unknown): void {
    if (!Array.isArray(saved)) return;
    saved.forEach((a, i) => {
      if (a !== null && i < this.vm.vcpus.length) this.vpe(i)?.restoreArrivals(a as SavedVpeArrivals);
    });
  }

  /** Drops every mapping and pending bit (VM teardown). */
  reset(): void {
    for (const m of [...this.byHostIrq.values()]) this.unmap(m, false);
    for (const p of this.vpes) p?.reset();
  }

  /** VM teardown (vgic_v4_teardown): forwarding undone, and every vPE's doorbell given back to the host. */
  destroy(): void {
    this.reset();
    for (const p of this.vpes) p?.destroy();
  }
}

/**
 * Gives `vm` a GICv4 (or GICv4.1) host: direct injection of vLPIs (and vSGIs on 4.1). Call before the vGICv3 is
 * initialised (the "gic-v4" irqchips do); the vPEs are created when it is.
 * @throws KvmError EEXIST if the VM already has a GICv4 host
 */
export function enableGicV4(vm: Vm, version: GicV4Version = '4.1'): GicV4 {
  if (v4HooksOf(vm)) fail(Errno.EEXIST, 'the VM already has a GICv4 host');
  return new GicV4(vm, version);
}

/** The GICv4 state of `vm`, if its host has GICv4. */
export function gicV4Of(vm: Vm): GicV4 | undefined {
  const h = v4HooksOf(vm);
  return h instanceof GicV4 ? h : undefined;
}
