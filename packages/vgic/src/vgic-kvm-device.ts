/**
 * The KVM devices ARM_VGIC_V2 (5) and ARM_VGIC_V3 (7) with their attribute groups and KVM's ordering rules and
 * errnos (Documentation/virt/kvm/devices/arm-vgic.rst and arm-vgic-v3.rst; references §3; upstream
 * vgic-kvm-device.c): ADDR (incl. REDIST and REDIST_REGION), NR_IRQS, CTRL/INIT, DIST_REGS, REDIST_REGS,
 * CPU_REGS (v2), CPU_SYSREGS (v3), LEVEL_INFO (v3). Addresses are checked at set time (alignment EINVAL, beyond
 * the 40-bit IPA space E2BIG, already set EEXIST, overlap known at set time EINVAL) and at the first run
 * (missing ENXIO, too few redistributors ENXIO, uninitialised GICv3 EBUSY, overlap EINVAL).
 *
 * Reading a REDIST_REGION: KVM takes the region index from the value userspace passes in; this API's getAttr
 * has no input value, so the index goes in attr bits [63:32] (attr = 5 | index << 32).
 *
 * @module
 */
import { Errno, fail, KVM_DEV_TYPE, KvmError, type DeviceAttr, type KvmDevice, type MmioValue, type Vm } from '@irqflow/core';
import { itsSavePendingTables } from './its';
import { Vgic, VGIC_ADDR_UNSET } from './vgic';
import type { VgicCpu } from './vgic-cpu';
import { vgicDump } from './vgic-debug';
import { VgicFlow } from './vgic-flow';
import { VgicFrame, type VgicAccess, type VgicRegisterTable } from './vgic-mmio';
import { checkGiccUserOffset, GICC_DIR_TABLE, GICC_TABLE, GICD_V2_TABLE, GICV2_CPU_SIZE, GICV2_DIST_SIZE } from './vgic-mmio-v2';
import { GICD_V3_TABLE, GICR_TABLE, GICV3_DIST_SIZE, GICV3_REDIST_SIZE } from './vgic-mmio-v3';
import { getCpuSysreg, hasCpuSysreg, registerIccSysregs, setCpuSysreg, unregisterIccSysregs } from './vgic-sys-regs-v3';
import { GICD_TYPER2_OFFSET } from './v4/vsgi';
import { restoreVgicState, saveVgic, saveVgicToGuestMemory, type SavedVgic } from './vgic-migration';

/** KVM_DEV_ARM_VGIC_GRP_* attribute groups. */
export const VGIC_GRP = { ADDR: 0, DIST_REGS: 1, CPU_REGS: 2, NR_IRQS: 3, CTRL: 4, REDIST_REGS: 5, CPU_SYSREGS: 6, LEVEL_INFO: 7 } as const;
/** KVM_VGIC_*_ADDR_TYPE_* values. */
export const VGIC_ADDR_TYPE = { V2_DIST: 0, V2_CPU: 1, V3_DIST: 2, V3_REDIST: 3, V3_REDIST_REGION: 5 } as const;
/** KVM_DEV_ARM_VGIC_CTRL_* attributes. */
export const VGIC_CTRL = { INIT: 0, SAVE_PENDING_TABLES: 3 } as const;

/** The guest physical address space size (KVM's default 40-bit IPA). */
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
    const flow = new VgicFlow(this.vgic, () => this.mapResources(), () => this.teardown());
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
    restoreVgicState(this, state as SavedVgic);
  }

  // ---- resources (first run) ------------------------------------------------------------------------------

  /** kvm_vgic_map_resources: run once, at the first KVM_RUN. */
  private mapResources(): void {
    const vg = this.vgic;
    if (vg.ready) return;
    if (this.v2) {
      if (!vg.initialized) vg.init();
      if (vg.distBase === VGIC_ADDR_UNSET || vg.cpuBase === VGIC_ADDR_UNSET) fail(Errno.ENXIO, 'GICv2 distributor or CPU interface address not set');
      if (overlaps(vg.distBase, GICV2_DIST_SIZE, vg.cpuBase, GICV2_CPU_SIZE)) fail(Errno.EINVAL, 'GICv2 distributor and CPU interface overlap');
      this.frames.push(new VgicFrame('GICD', GICD_V2_TABLE, vg, null));
      this.frames.push(new VgicFrame('GICV', GICC_TABLE, vg, null, 'cpuifAccess'));
      this.frames.push(new VgicFrame('GICV_DIR', GICC_DIR_TABLE, vg, null));
      this.mapFrames([vg.distBase, vg.cpuBase, vg.cpuBase + SZ_4K], [GICV2_DIST_SIZE, SZ_4K, SZ_4K]);
    } else {
      if (!vg.initialized) fail(Errno.EBUSY, 'the GICv3 must be initialised (KVM_DEV_ARM_VGIC_CTRL_INIT) before running');
      if (vg.distBase === VGIC_ADDR_UNSET) fail(Errno.ENXIO, 'GICv3 distributor address not set');
      this.assignRedists(true);
      const bases = [vg.distBase];
      const sizes = [GICV3_DIST_SIZE];
      this.frames.push(new VgicFrame('GICD', GICD_V3_TABLE, vg, null));
      for (const c of vg.cpus) {
        if (overlaps(vg.distBase, GICV3_DIST_SIZE, c.rdBase, GICV3_REDIST_SIZE)) fail(Errno.EINVAL, 'a redistributor overlaps the distributor');
        this.frames.push(new VgicFrame(`GICR${c.index}`, GICR_TABLE, vg, c));
        bases.push(c.rdBase);
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

  /**
   * Gives each vCPU (in creation order) a redistributor: regions filled in index order; Last marks the final
   * redistributor of a region. With `strict`, too few redistributors → ENXIO.
   */
  private assignRedists(strict: boolean): void {
    const vg = this.vgic;
    const regs = vg.redistRegions;
    let r = 0;
    let k = 0;
    for (const c of vg.cpus) {
      c.rdBase = -1;
      c.rdLast = false;
    }
    for (const c of vg.cpus) {
      while (r < regs.length && regs[r].count !== 0 && k >= regs[r].count) {
        r++;
        k = 0;
      }
      if (r >= regs.length) {
        if (strict) fail(Errno.ENXIO, `no redistributor for vCPU ${c.index}: the regions hold too few`);
        return;
      }
      const reg = regs[r];
      c.rdBase = reg.base + k * GICV3_REDIST_SIZE;
      c.rdLast = reg.count === 0 ? c.index === vg.cpus.length - 1 : k === reg.count - 1;
      k++;
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
        const vg = this.vgic;
        if (vg.initialized || vg.nrIrqs !== 0) fail(Errno.EBUSY, 'NR_IRQS is already set or the GIC is initialised');
        const n = Number(value & 0xffffffffn);
        if (n < 64 || n > 1024 || n % 32 !== 0) fail(Errno.EINVAL, `NR_IRQS ${n}: must be 64..1024 in steps of 32`);
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

  /** KVM_HAS_DEVICE_ATTR. */
  hasAttr(attr: DeviceAttr): boolean {
    const a = attr.attr;
    const off = Number(a & 0xffffffffn);
    switch (attr.group) {
      case VGIC_GRP.ADDR:
        return this.v2 ? off <= 1 : off === 2 || off === 3 || off === 5;
      case VGIC_GRP.NR_IRQS:
        return true;
      case VGIC_GRP.CTRL:
        return a === 0n || (!this.v2 && a === 3n);
      case VGIC_GRP.DIST_REGS:
        return (this.v2 ? GICD_V2_TABLE : GICD_V3_TABLE).find(off) !== undefined;
      case VGIC_GRP.CPU_REGS:
        return this.v2 && GICC_TABLE.find(off) !== undefined;
      case VGIC_GRP.REDIST_REGS:
        return !this.v2 && GICR_TABLE.find(off) !== undefined;
      case VGIC_GRP.CPU_SYSREGS:
        return !this.v2 && hasCpuSysreg(Number(a & 0xffffn));
      case VGIC_GRP.LEVEL_INFO:
        return !this.v2 && ((off >>> 10) & 0x3fffff) === 0;
      default:
        return false;
    }
  }

  private setAddr(type: number, addr: bigint): void {
    const vg = this.vgic;
    if (this.vm.anyVcpuRan) fail(Errno.EBUSY, 'a vCPU has run');
    const T = VGIC_ADDR_TYPE;
    const valid = this.v2 ? type === T.V2_DIST || type === T.V2_CPU : type === T.V3_DIST || type === T.V3_REDIST || type === T.V3_REDIST_REGION;
    if (!valid) fail(Errno.ENXIO, `address type ${type} is not valid for ${this.name}`);
    if (type === T.V3_REDIST_REGION) return this.addRedistRegion(addr);
    const base = Number(addr);
    const align = this.v2 ? SZ_4K : SZ_64K;
    const size = type === T.V2_DIST ? GICV2_DIST_SIZE : type === T.V2_CPU ? GICV2_CPU_SIZE : type === T.V3_DIST ? GICV3_DIST_SIZE : GICV3_REDIST_SIZE;
    if (base % align !== 0) fail(Errno.EINVAL, `address 0x${addr.toString(16)} is not ${align / 1024} KiB aligned`);
    if (base + size > VGIC_IPA_SIZE) fail(Errno.E2BIG, `address 0x${addr.toString(16)} is beyond the IPA range`);
    if (type === T.V2_DIST || type === T.V3_DIST) {
      if (vg.distBase !== VGIC_ADDR_UNSET) fail(Errno.EEXIST, 'the distributor address is already set');
      for (const r of vg.redistRegions) {
        if (overlaps(base, size, r.base, Math.max(1, r.count) * GICV3_REDIST_SIZE)) fail(Errno.EINVAL, 'the distributor overlaps a redistributor region');
      }
      vg.distBase = base;
    } else if (type === T.V2_CPU) {
      if (vg.cpuBase !== VGIC_ADDR_UNSET) fail(Errno.EEXIST, 'the CPU interface address is already set');
      vg.cpuBase = base;
    } else {
      if (vg.legacyRedist) fail(Errno.EEXIST, 'the redistributor address is already set');
      if (vg.redistRegions.length) fail(Errno.EINVAL, 'REDIST cannot be mixed with REDIST_REGION');
      if (vg.distBase !== VGIC_ADDR_UNSET && overlaps(base, GICV3_REDIST_SIZE, vg.distBase, GICV3_DIST_SIZE))
        fail(Errno.EINVAL, 'the redistributor overlaps the distributor');
      vg.legacyRedist = true;
      vg.redistRegions.push({ index: 0, base, count: 0 });
    }
  }

  private addRedistRegion(v: bigint): void {
    const vg = this.vgic;
    const index = Number(v & 0xfffn);
    const flags = Number((v >> 12n) & 0xfn);
    const base = Number(v & 0x000f_ffff_ffff_0000n);
    const count = Number(v >> 52n);
    if (vg.legacyRedist) fail(Errno.EINVAL, 'REDIST_REGION cannot be mixed with REDIST');
    if (flags !== 0) fail(Errno.EINVAL, `REDIST_REGION flags ${flags} must be 0`);
    if (count === 0) fail(Errno.EINVAL, 'REDIST_REGION count must not be 0');
    if (index !== vg.redistRegions.length) fail(Errno.EINVAL, `REDIST_REGION index ${index}: the next index is ${vg.redistRegions.length}`);
    const size = count * GICV3_REDIST_SIZE;
    if (base + size > VGIC_IPA_SIZE) fail(Errno.E2BIG, 'REDIST_REGION extends beyond the IPA range');
    if (vg.distBase !== VGIC_ADDR_UNSET && overlaps(base, size, vg.distBase, GICV3_DIST_SIZE)) fail(Errno.EINVAL, 'REDIST_REGION overlaps the distributor');
    for (const r of vg.redistRegions) if (overlaps(base, size, r.base, r.count * GICV3_REDIST_SIZE)) fail(Errno.EINVAL, `REDIST_REGION overlaps region ${r.index}`);
    vg.redistRegions.push({ index, base, count });
  }

  private getAddr(type: number, index: number): bigint {
    const vg = this.vgic;
    const T = VGIC_ADDR_TYPE;
    const undef = BigInt.asUintN(64, -1n);
    const valid = this.v2 ? type === T.V2_DIST || type === T.V2_CPU : type === T.V3_DIST || type === T.V3_REDIST || type === T.V3_REDIST_REGION;
    if (!valid) fail(Errno.ENXIO, `address type ${type} is not valid for ${this.name}`);
    if (type === T.V2_DIST || type === T.V3_DIST) return vg.distBase < 0 ? undef : BigInt(vg.distBase);
    if (type === T.V2_CPU) return vg.cpuBase < 0 ? undef : BigInt(vg.cpuBase);
    if (type === T.V3_REDIST) return vg.legacyRedist ? BigInt(vg.redistRegions[0].base) : undef;
    const r = vg.legacyRedist ? undefined : vg.redistRegions[index];
    if (!r) fail(Errno.ENOENT, `no redistributor region ${index}`);
    return (BigInt(r.count) << 52n) | BigInt(r.base) | BigInt(r.index);
  }

  /** The vCPU named by a register attribute (v2: index[39:32]; v3: MPIDR[63:32]). */
  private attrCpu(a: bigint): VgicCpu {
    const vg = this.vgic;
    const hi = Number((a >> 32n) & 0xffffffffn);
    if (this.v2) {
      const c = vg.cpus[hi & 0xff];
      if (!c || hi > 0xff) fail(Errno.EINVAL, `no vCPU ${hi}`);
      return c;
    }
    const v = this.vm.vcpuByMpidr(hi);
    if (!v) fail(Errno.EINVAL, `no vCPU with MPIDR 0x${hi.toString(16)}`);
    return vg.cpu(v);
  }

  private regAccess(attr: DeviceAttr, value: bigint, isWrite: boolean): bigint {
    const vg = this.vgic;
    const g = attr.group;
    const G = VGIC_GRP;
    const known = this.v2 ? g === G.DIST_REGS || g === G.CPU_REGS : g === G.DIST_REGS || g === G.REDIST_REGS || g === G.CPU_SYSREGS || g === G.LEVEL_INFO;
    if (!known) fail(Errno.ENXIO, `attribute group ${g} is not supported by ${this.name}`);
    // GICD_TYPER2 (nASSGIcap) is accessible before INIT, as KVM (vgic_v3_attr_regs_access).
    const typer2 = !this.v2 && g === G.DIST_REGS && Number(attr.attr & 0xffffffffn) === GICD_TYPER2_OFFSET;
    if (!vg.initialized && !typer2) {
      if (this.v2) vg.init();
      else fail(Errno.EBUSY, 'the GICv3 is not initialised');
    }
    const c = this.attrCpu(attr.attr);
    const off = Number(attr.attr & 0xffffffffn);
    if (g === G.CPU_SYSREGS) {
      const enc = Number(attr.attr & 0xffffn);
      if (isWrite) {
        setCpuSysreg(c, enc, value);
        return 0n;
      }
      return getCpuSysreg(c, enc);
    }
    if (g === G.LEVEL_INFO) return this.levelInfo(c, off, value, isWrite);
    let table: VgicRegisterTable;
    if (g === G.DIST_REGS) table = this.v2 ? GICD_V2_TABLE : GICD_V3_TABLE;
    else if (g === G.REDIST_REGS) table = GICR_TABLE;
    else {
      checkGiccUserOffset(off);
      table = GICC_TABLE;
    }
    const acc: VgicAccess = { vg, cpu: c, user: true };
    const val: MmioValue = { lo: Number(value & 0xffffffffn), hi: 0 };
    if (table.find(off) === undefined || !table.access(acc, off, 4, val, isWrite)) fail(Errno.ENXIO, `no register at offset 0x${off.toString(16)}`);
    return isWrite ? 0n : BigInt(val.lo >>> 0);
  }

  private levelInfo(c: VgicCpu, off: number, value: bigint, isWrite: boolean): bigint {
    const info = (off >>> 10) & 0x3fffff;
    const intid = off & 0x3ff;
    if (info !== 0) fail(Errno.EINVAL, `LEVEL_INFO info ${info} is unknown (0 = line level)`);
    if (intid % 32 !== 0) fail(Errno.EINVAL, `LEVEL_INFO vINTID ${intid} is not 32-aligned`);
    if (intid >= this.vgic.nrIrqs) fail(Errno.EINVAL, `LEVEL_INFO vINTID ${intid} is beyond NR_IRQS`);
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
