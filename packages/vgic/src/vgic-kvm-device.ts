/**
 * The KVM devices ARM_VGIC_V2 (5) and ARM_VGIC_V3 (7) with their attribute groups and KVM's ordering rules and
 * errnos (Documentation/virt/kvm/devices/arm-vgic.rst and arm-vgic-v3.rst; references §3; upstream
 * vgic-kvm-device.c): ADDR (incl. REDIST and REDIST_REGION), NR_IRQS, CTRL/INIT, DIST_REGS, REDIST_REGS,
 * CPU_REGS (v2), CPU_SYSREGS (v3), LEVEL_INFO (v3). Addresses are checked at set time (already set EEXIST,
 * alignment EINVAL, beyond the VM's IPA size — 40 bits by default — E2BIG, redistributor overlaps known at set
 * time EINVAL), when redistributors are associated (src/vgic-redist.ts) and at the first run, in KVM's order
 * (a vCPU without a redistributor or no distributor ENXIO, overlap / wrap-around / beyond the IPA EINVAL, then
 * an uninitialised GICv3 EBUSY). Every refused call changes nothing (see regAccess for where KVM differs).
 *
 * Reading a REDIST_REGION: KVM takes the region index from the value userspace passes in; this API's getAttr
 * has no input value, so the index goes in attr bits [63:32] (attr = 5 | index << 32).
 *
 * @module
 */
import { Errno, fail, KVM_DEV_TYPE, KvmError, type DeviceAttr, type KvmDevice, type MmioValue, type Vm } from '@irqflow/core';
import { itsSavePendingTables } from './its';
import { Vgic, VGIC_ADDR_UNSET, type RedistRegion } from './vgic';
import type { VgicCpu } from './vgic-cpu';
import { vgicDump } from './vgic-debug';
import { checkUserIidr } from './vgic-iidr';
import { VgicFlow } from './vgic-flow';
import { VgicFrame, type VgicAccess, type VgicRegisterTable } from './vgic-mmio';
import {
  checkGiccUserOffset,
  GICC_DIR_TABLE,
  GICC_USER_OFFSETS,
  GICC_TABLE,
  GICD_V2_TABLE,
  GICV2_CPU_SIZE,
  GICV2_DIST_SIZE,
} from './vgic-mmio-v2';
import { GICD_V3_TABLE, GICR_TABLE, GICV3_DIST_SIZE, GICV3_REDIST_SIZE } from './vgic-mmio-v3';
import { assignAllRedists, ioRangeErrno, redistBase, redistBaseOk } from './vgic-redist';
import { getCpuSysreg, hasCpuSysreg, registerIccSysregs, setCpuSysreg, unregisterIccSysregs } from './vgic-sys-regs-v3';
import { GICD_TYPER2_OFFSET } from './v4/vsgi';
import { restoreVgicState, saveVgic, saveVgicToGuestMemory, type SavedVgic } from './vgic-migration';

/** KVM_DEV_ARM_VGIC_GRP_* attribute groups. */
export const VGIC_GRP = { ADDR: 0, DIST_REGS: 1, CPU_REGS: 2, NR_IRQS: 3, CTRL: 4, REDIST_REGS: 5, CPU_SYSREGS: 6, LEVEL_INFO: 7 } as const;
/** KVM_VGIC_*_ADDR_TYPE_* values. */
export const VGIC_ADDR_TYPE = { V2_DIST: 0, V2_CPU: 1, V3_DIST: 2, V3_REDIST: 3, V3_REDIST_REGION: 5 } as const;
/** KVM_DEV_ARM_VGIC_CTRL_* attributes. */
export const VGIC_CTRL = { INIT: 0, SAVE_PENDING_TABLES: 3 } as const;

/**
 * KVM's default guest physical address space size (40-bit IPA). The checks use the VM's own size
 * ({@link Vm.ipaSize}), which is this unless the VM was created with another `ipaBits`.
 */
export const VGIC_IPA_SIZE = 2 ** 40;

const SZ_4K = 0x1000;
const SZ_64K = 0x10000;

/** An ARM_VGIC_V2 / ARM_VGIC_V3 device instance (snapshot hooks: vgic-migration.ts). */
export class VgicDevice implements KvmDevice {
  /** KVM device type. */
  readonly type: number;
  /** Name. */
  readonly name: string;
  /** The vgic model behind the device. */
  readonly vgic: Vgic;
  private readonly frames: VgicFrame[] = [];

  /**
   * KVM_CREATE_DEVICE.
   * @throws KvmError EEXIST for a second GIC, EBUSY once a vCPU ran, E2BIG for a GICv2 with more than 8 vCPUs
   */
  constructor(
    readonly vm: Vm,
    v2: boolean,
  ) {
    if (vm.hasIrqchip) fail(Errno.EEXIST, 'the VM already has an interrupt controller');
    if (vm.anyVcpuRan) fail(Errno.EBUSY, 'a vCPU has already run');
    if (v2 && vm.vcpus.length > 8) fail(Errno.E2BIG, 'GICv2 supports at most 8 vCPUs');
    this.type = v2 ? KVM_DEV_TYPE.ARM_VGIC_V2 : KVM_DEV_TYPE.ARM_VGIC_V3;
    this.name = v2 ? 'kvm-arm-vgic-v2' : 'kvm-arm-vgic-v3';
    this.vgic = new Vgic(vm, v2);
    const flow = new VgicFlow(
      this.vgic,
      () => this.mapResources(),
      () => this.teardown(),
    );
    vm.setIrqchip(flow, this.name);
    if (!v2) registerIccSysregs(this.vgic);
  }

  private get v2(): boolean {
    return this.vgic.v2;
  }

  /** Snapshot: SAVE_PENDING_TABLES (vgic-migration.ts). */
  saveToGuestMemory(): void {
    saveVgicToGuestMemory(this);
  }

  /** Snapshot: the state through the attribute groups (vgic-migration.ts). */
  saveState(): SavedVgic {
    return saveVgic(this.vm, this);
  }

  /** Snapshot: restores {@link saveState}'s result into this initialised device (vgic-migration.ts). @throws KvmError */
  restoreState(state: unknown): void {
    restoreVgicState(this, state as SavedVgic, this.vm);
  }

  // ---- resources (first run) ------------------------------------------------------------------------------

  /**
   * kvm_vgic_map_resources: run once, at the first KVM_RUN, with KVM's checks in KVM's order (newest mainline
   * vgic_v2_map_resources / vgic_v3_map_resources). GICv2: addresses set (ENXIO), not overlapping (EINVAL),
   * then the lazy init, so a refused first run leaves the GIC as it was. GICv3: every vCPU has a redistributor
   * and the distributor is set (ENXIO), the regions pass the base check (overlap, wrap-around, IPA range:
   * EINVAL, never E2BIG here), and only then an uninitialised GIC is EBUSY.
   */
  private mapResources(): void {
    const vg = this.vgic;
    if (vg.ready) return;
    if (this.v2) {
      if (vg.distBase === VGIC_ADDR_UNSET || vg.cpuBase === VGIC_ADDR_UNSET)
        fail(Errno.ENXIO, 'GICv2 distributor or CPU interface address not set');
      if (overlaps(vg.distBase, GICV2_DIST_SIZE, vg.cpuBase, GICV2_CPU_SIZE))
        fail(Errno.EINVAL, 'GICv2 distributor and CPU interface overlap');
      if (!vg.initialized) vg.init();
      this.frames.push(new VgicFrame('GICD', GICD_V2_TABLE, vg, null));
      this.frames.push(new VgicFrame('GICV', GICC_TABLE, vg, null, 'cpuifAccess'));
      this.frames.push(new VgicFrame('GICV_DIR', GICC_DIR_TABLE, vg, null));
      this.mapFrames([vg.distBase, vg.cpuBase, vg.cpuBase + SZ_4K], [GICV2_DIST_SIZE, SZ_4K, SZ_4K]);
    } else {
      for (const c of vg.cpus)
        if (c.rdRegion === null) fail(Errno.ENXIO, `vCPU ${c.vcpu.id} has no redistributor: the regions hold too few`);
      if (vg.distBase === VGIC_ADDR_UNSET) fail(Errno.ENXIO, 'GICv3 distributor address not set');
      if (!redistBaseOk(vg)) fail(Errno.EINVAL, 'the redistributors overlap the distributor, wrap around or leave the IPA space');
      if (!vg.initialized) fail(Errno.EBUSY, 'the GICv3 must be initialised (KVM_DEV_ARM_VGIC_CTRL_INIT) before running');
      const bases = [vg.distBase];
      const sizes = [GICV3_DIST_SIZE];
      this.frames.push(new VgicFrame('GICD', GICD_V3_TABLE, vg, null));
      for (const c of vg.cpus) {
        this.frames.push(new VgicFrame(`GICR${c.vcpu.id}`, GICR_TABLE, vg, c));
        bases.push(redistBase(c));
        sizes.push(GICV3_REDIST_SIZE);
      }
      this.mapFrames(bases, sizes);
    }
    vg.ready = true;
  }

  private mapFrames(bases: number[], sizes: number[]): void {
    const done: VgicFrame[] = [];
    try {
      this.frames.forEach((f, i) => {
        this.vm.mmio.register(bases[i], sizes[i], f);
        done.push(f);
      });
    } catch (e) {
      for (const f of done) this.vm.mmio.unregister(f);
      this.frames.length = 0;
      if (e instanceof KvmError) fail(Errno.EINVAL, `GIC frames overlap another device: ${e.message}`);
      throw e;
    }
  }

  private teardown(): void {
    for (const f of this.frames) this.vm.mmio.unregister(f);
    if (!this.v2) unregisterIccSysregs(this.vgic);
  }

  /** VM teardown hook. */
  destroy(): void {}

  // ---- attributes ---------------------------------------------------------------------------------------

  /** KVM_SET_DEVICE_ATTR. */
  setAttr(attr: DeviceAttr, value: bigint = 0n): void {
    const a = attr.attr;
    switch (attr.group) {
      case VGIC_GRP.ADDR:
        return this.setAddr(Number(a & 0xffffffffn), BigInt.asUintN(64, value));
      case VGIC_GRP.NR_IRQS: {
        // KVM's order (vgic_set_common_attr): a bad value is EINVAL before an already-set one is EBUSY.
        const vg = this.vgic;
        const n = Number(value & 0xffffffffn);
        if (n < 64 || n > 1024 || n % 32 !== 0) fail(Errno.EINVAL, `NR_IRQS ${n}: must be 64..1024 in steps of 32`);
        if (vg.initialized || vg.nrIrqs !== 0) fail(Errno.EBUSY, 'NR_IRQS is already set or the GIC is initialised');
        vg.nrIrqs = n;
        return;
      }
      case VGIC_GRP.CTRL:
        if (a === BigInt(VGIC_CTRL.INIT)) {
          if (this.vgic.initialized) return;
          this.vgic.init();
          return;
        }
        if (!this.v2 && a === BigInt(VGIC_CTRL.SAVE_PENDING_TABLES)) {
          if (!this.vgic.initialized) fail(Errno.EBUSY, 'not initialised');
          itsSavePendingTables(this.vm);
          return;
        }
        fail(Errno.ENXIO, `unknown CTRL attribute ${a}`);
      // falls through (unreachable)
      default:
        this.regAccess(attr, value, true);
    }
  }

  /** KVM_GET_DEVICE_ATTR. */
  getAttr(attr: DeviceAttr): bigint {
    const a = attr.attr;
    switch (attr.group) {
      case VGIC_GRP.ADDR:
        return this.getAddr(Number(a & 0xffffffffn), Number((a >> 32n) & 0xfffn));
      case VGIC_GRP.NR_IRQS:
        return BigInt(this.vgic.nrIrqs || 32);
      case VGIC_GRP.CTRL:
        return fail(Errno.ENXIO, 'CTRL attributes are write-only');
      default:
        return this.regAccess(attr, 0n, false);
    }
  }

  /**
   * KVM_HAS_DEVICE_ATTR: true when supported, false for ENXIO. Register groups name a vCPU first, as KVM's
   * vgic_v2_has_attr_regs / vgic_v3_has_attr_regs: a missing one is EINVAL (thrown). CPU_SYSREGS is a lookup in
   * the table of registers KVM exposes (ICC_AP0R1..3 / AP1R1..3 included, whatever PRIbits).
   * @throws KvmError EINVAL for a register attribute naming no vCPU
   */
  hasAttr(attr: DeviceAttr): boolean {
    const a = attr.attr;
    const off = Number(a & 0xffffffffn);
    const G = VGIC_GRP;
    switch (attr.group) {
      case G.ADDR:
        return this.v2 ? off <= 1 : off === 2 || off === 3 || off === 5;
      case G.NR_IRQS:
        return true;
      case G.CTRL:
        return a === 0n || (!this.v2 && a === 3n);
      case G.DIST_REGS:
        this.attrCpu(attr.group, a);
        return this.tableOf(attr.group).decodes(off, 4);
      case G.CPU_REGS:
        if (!this.v2) return false;
        this.attrCpu(attr.group, a);
        return GICC_USER_OFFSETS.has(off);
      case G.REDIST_REGS:
        if (this.v2) return false;
        this.attrCpu(attr.group, a);
        return this.tableOf(attr.group).decodes(off, 4);
      case G.CPU_SYSREGS:
        if (this.v2) return false;
        this.attrCpu(attr.group, a);
        return hasCpuSysreg(Number(a & 0xffffn));
      case G.LEVEL_INFO:
        return !this.v2 && ((off >>> 10) & 0x3fffff) === 0;
      default:
        return false;
    }
  }

  /**
   * ADDR writes, each with KVM's checks in KVM's order (newest mainline kvm_vgic_addr, vgic_check_iorange,
   * vgic_v3_alloc_redist_region): distributor / CPU interface: already set EEXIST, misaligned EINVAL, beyond the
   * VM's IPA size E2BIG (an overlap is only found at the first run). Redistributor regions: see
   * {@link VgicDevice.addRedistRegion}. Nothing changes on failure.
   */
  private setAddr(type: number, addr: bigint): void {
    const vg = this.vgic;
    if (this.vm.anyVcpuRan) fail(Errno.EBUSY, 'a vCPU has run');
    const T = VGIC_ADDR_TYPE;
    const valid = this.v2
      ? type === T.V2_DIST || type === T.V2_CPU
      : type === T.V3_DIST || type === T.V3_REDIST || type === T.V3_REDIST_REGION;
    if (!valid) fail(Errno.ENXIO, `address type ${type} is not valid for ${this.name}`);
    if (type === T.V3_REDIST_REGION) return this.addRedistRegion(addr);
    if (type === T.V3_REDIST) return this.setLegacyRedist(addr);
    const base = Number(addr);
    const align = this.v2 ? SZ_4K : SZ_64K;
    const size = type === T.V2_DIST ? GICV2_DIST_SIZE : type === T.V2_CPU ? GICV2_CPU_SIZE : GICV3_DIST_SIZE;
    const isDist = type === T.V2_DIST || type === T.V3_DIST;
    if ((isDist ? vg.distBase : vg.cpuBase) !== VGIC_ADDR_UNSET)
      fail(Errno.EEXIST, `the ${isDist ? 'distributor' : 'CPU interface'} address is already set`);
    this.checkIoRange(addr, align, size);
    if (isDist) vg.distBase = base;
    else vg.cpuBase = base;
  }

  /** vgic_check_iorange's alignment / wrap-around (EINVAL) and IPA size (E2BIG) checks. */
  private checkIoRange(addr: bigint, align: number, size: number): void {
    const e = ioRangeErrno(this.vgic, Number(addr), align, size);
    if (e === Errno.EINVAL)
      fail(e, `address 0x${addr.toString(16)} (size 0x${size.toString(16)}) is not ${align / 1024} KiB aligned or wraps around`);
    if (e === Errno.E2BIG)
      fail(e, `address 0x${addr.toString(16)} + 0x${size.toString(16)} is beyond the ${Math.log2(this.vm.ipaSize)}-bit IPA range`);
  }

  /**
   * The legacy KVM_VGIC_V3_ADDR_TYPE_REDIST base: one region covering the online vCPUs × 128 KiB (so it is
   * checked again at each vCPU creation and at the first run). Mixed with REDIST_REGION EINVAL, set twice
   * EEXIST, overlapping the distributor EINVAL, misaligned EINVAL, beyond the IPA size E2BIG; then every
   * vCPU gets its redistributor.
   */
  private setLegacyRedist(addr: bigint): void {
    const vg = this.vgic;
    const base = Number(addr);
    const size = this.vm.vcpus.length * GICV3_REDIST_SIZE;
    if (vg.redistRegions.length)
      fail(
        vg.legacyRedist ? Errno.EEXIST : Errno.EINVAL,
        vg.legacyRedist ? 'the redistributor address is already set' : 'REDIST cannot be mixed with REDIST_REGION',
      );
    if (vg.distBase !== VGIC_ADDR_UNSET && overlaps(base, size, vg.distBase, GICV3_DIST_SIZE))
      fail(Errno.EINVAL, 'the redistributor overlaps the distributor');
    this.checkIoRange(addr, SZ_64K, size);
    this.addRegion({ index: 0, base, count: 0, freeIndex: 0 }, true);
  }

  /**
   * KVM_VGIC_V3_ADDR_TYPE_REDIST_REGION: count 0 or flags set EINVAL, mixed with REDIST EINVAL, not the next
   * index EINVAL, overlapping another region EINVAL, beyond the IPA size E2BIG; then every vCPU still without a
   * redistributor gets one (EINVAL, and the region is dropped, when the regions then fail the base check: a
   * region overlapping the distributor is refused here only if some vCPU would use it, else at the first run).
   */
  private addRedistRegion(v: bigint): void {
    const vg = this.vgic;
    const index = Number(v & 0xfffn);
    const flags = Number((v >> 12n) & 0xfn);
    const base = Number(v & 0x000f_ffff_ffff_0000n);
    const count = Number(v >> 52n);
    if (count === 0) fail(Errno.EINVAL, 'REDIST_REGION count must not be 0');
    if (flags !== 0) fail(Errno.EINVAL, `REDIST_REGION flags ${flags} must be 0`);
    if (vg.legacyRedist) fail(Errno.EINVAL, 'REDIST_REGION cannot be mixed with REDIST');
    if (index !== vg.redistRegions.length) fail(Errno.EINVAL, `REDIST_REGION index ${index}: the next index is ${vg.redistRegions.length}`);
    const size = count * GICV3_REDIST_SIZE;
    for (const r of vg.redistRegions)
      if (overlaps(base, size, r.base, r.count * GICV3_REDIST_SIZE)) fail(Errno.EINVAL, `REDIST_REGION overlaps region ${r.index}`);
    this.checkIoRange(BigInt(base), SZ_64K, size);
    this.addRegion({ index, base, count, freeIndex: 0 }, false);
  }

  /** Adds a checked region and associates redistributors (vgic_register_all_redist_iodevs); undone on failure. */
  private addRegion(r: RedistRegion, legacy: boolean): void {
    const vg = this.vgic;
    vg.redistRegions.push(r);
    try {
      assignAllRedists(vg);
    } catch (e) {
      vg.redistRegions.pop();
      throw e;
    }
    vg.legacyRedist = legacy;
  }

  private getAddr(type: number, index: number): bigint {
    const vg = this.vgic;
    const T = VGIC_ADDR_TYPE;
    const undef = BigInt.asUintN(64, -1n);
    const valid = this.v2
      ? type === T.V2_DIST || type === T.V2_CPU
      : type === T.V3_DIST || type === T.V3_REDIST || type === T.V3_REDIST_REGION;
    if (!valid) fail(Errno.ENXIO, `address type ${type} is not valid for ${this.name}`);
    if (type === T.V2_DIST || type === T.V3_DIST) return vg.distBase < 0 ? undef : BigInt(vg.distBase);
    if (type === T.V2_CPU) return vg.cpuBase < 0 ? undef : BigInt(vg.cpuBase);
    if (type === T.V3_REDIST) return vg.legacyRedist ? BigInt(vg.redistRegions[0].base) : undef;
    const r = vg.legacyRedist ? undefined : vg.redistRegions[index];
    if (!r) fail(Errno.ENOENT, `no redistributor region ${index}`);
    return (BigInt(r.count) << 52n) | BigInt(r.base) | BigInt(r.index);
  }

  /**
   * The vCPU a register attribute names, as KVM's vgic_v2_parse_attr / vgic_v3_parse_attr (newest mainline,
   * where the GICv2 cpuid field is a vcpu_id): GICv2 cpuid [39:32] = vcpu_id; GICv3 mpidr [63:32] = MPIDR,
   * except DIST_REGS, which use the first vCPU. No such vCPU → EINVAL, checked before anything else (also
   * before the INIT check and by HAS_ATTR).
   */
  private attrCpu(group: number, a: bigint): VgicCpu {
    const vg = this.vgic;
    if (this.v2) {
      const id = Number((a >> 32n) & 0xffn);
      const v = this.vm.vcpus.find((x) => x.id === id);
      if (!v) fail(Errno.EINVAL, `no vCPU with id ${id}`);
      return vg.cpu(v);
    }
    if (group === VGIC_GRP.DIST_REGS) {
      const v0 = this.vm.vcpus[0];
      if (!v0) fail(Errno.EINVAL, 'DIST_REGS need a vCPU');
      return vg.cpu(v0);
    }
    const hi = Number((a >> 32n) & 0xffffffffn);
    const v = this.vm.vcpuByMpidr(hi);
    if (!v) fail(Errno.EINVAL, `no vCPU with MPIDR 0x${hi.toString(16)}`);
    return vg.cpu(v);
  }

  /** The register table of a GICv2 / GICv3 register group. */
  private tableOf(g: number): VgicRegisterTable {
    if (g === VGIC_GRP.DIST_REGS) return this.v2 ? GICD_V2_TABLE : GICD_V3_TABLE;
    return g === VGIC_GRP.REDIST_REGS ? GICR_TABLE : GICC_TABLE;
  }

  /**
   * DIST_REGS, REDIST_REGS, CPU_REGS, CPU_SYSREGS, LEVEL_INFO get/set, in KVM's order: unknown group ENXIO,
   * unknown vCPU EINVAL, then (GICv3) not initialised EBUSY, then the register (ENXIO / EINVAL).
   * GICv2 initialises lazily, but only once the call is known to succeed: KVM's vgic_v2_attr_regs_access runs
   * vgic_init before it decodes the offset (same errno), here a refused call changes nothing (project rule).
   */
  private regAccess(attr: DeviceAttr, value: bigint, isWrite: boolean): bigint {
    const vg = this.vgic;
    const g = attr.group;
    const G = VGIC_GRP;
    const known = this.v2
      ? g === G.DIST_REGS || g === G.CPU_REGS
      : g === G.DIST_REGS || g === G.REDIST_REGS || g === G.CPU_SYSREGS || g === G.LEVEL_INFO;
    if (!known) fail(Errno.ENXIO, `attribute group ${g} is not supported by ${this.name}`);
    const c = this.attrCpu(g, attr.attr);
    const off = Number(attr.attr & 0xffffffffn);
    if (this.v2) {
      if (g === G.CPU_REGS) checkGiccUserOffset(off);
      if (!this.tableOf(g).decodes(off, 4)) fail(Errno.ENXIO, `no register at offset 0x${off.toString(16)}`);
      if (isWrite && g === G.DIST_REGS && off === 0x8) checkUserIidr(vg, Number(value & 0xffffffffn));
      if (!vg.initialized) vg.init();
    } else {
      // GICD_TYPER2 (nASSGIcap) is accessible before INIT, as KVM (vgic_v3_attr_regs_access).
      const typer2 = g === G.DIST_REGS && off === GICD_TYPER2_OFFSET;
      if (!vg.initialized && !typer2) fail(Errno.EBUSY, 'the GICv3 is not initialised');
    }
    if (g === G.CPU_SYSREGS) {
      const enc = Number(attr.attr & 0xffffn);
      if (isWrite) {
        setCpuSysreg(c, enc, value);
        return 0n;
      }
      return getCpuSysreg(c, enc);
    }
    if (g === G.LEVEL_INFO) return this.levelInfo(c, off, value, isWrite);
    const table = this.tableOf(g);
    const acc: VgicAccess = { vg, cpu: c, user: true };
    const val: MmioValue = { lo: Number(value & 0xffffffffn), hi: 0 };
    if (table.find(off) === undefined || !table.access(acc, off, 4, val, isWrite))
      fail(Errno.ENXIO, `no register at offset 0x${off.toString(16)}`);
    return isWrite ? 0n : BigInt(val.lo >>> 0);
  }

  /**
   * LEVEL_INFO (vgic_v3_line_level_info_uaccess): info must be 0 (line level) and the vINTID 32-aligned, else
   * EINVAL; a block beyond NR_IRQS (up to 1023) reads as zero and ignores writes, as KVM, which skips the
   * vINTIDs it has no interrupt for.
   */
  private levelInfo(c: VgicCpu, off: number, value: bigint, isWrite: boolean): bigint {
    const info = (off >>> 10) & 0x3fffff;
    const intid = off & 0x3ff;
    if (info !== 0) fail(Errno.EINVAL, `LEVEL_INFO info ${info} is unknown (0 = line level)`);
    if (intid % 32 !== 0) fail(Errno.EINVAL, `LEVEL_INFO vINTID ${intid} is not 32-aligned`);
    let bits = 0;
    const v = Number(value & 0xffffffffn);
    for (let i = 0; i < 32; i++) {
      const irq = this.vgic.irq(c, intid + i);
      if (!irq || intid + i < 16) continue;
      if (isWrite) {
        if (!irq.level) continue;
        irq.lineLevel = ((v >>> i) & 1) !== 0;
        this.vgic.queue(irq);
      } else if (irq.lineLevel) bits |= 1 << i;
    }
    return BigInt(bits >>> 0);
  }

  /** A vgic-state style dump. */
  dump(): string {
    return vgicDump(this.vgic);
  }
}

function overlaps(a: number, as: number, b: number, bs: number): boolean {
  return a < b + bs && b < a + as;
}
