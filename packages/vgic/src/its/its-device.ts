/**
 * The KVM device ARM_VGIC_ITS (type 8; Documentation/virt/kvm/devices/arm-vgic-its.rst): several per VM, each
 * with its own 128 KiB frame. Attribute groups (references §3):
 *
 * - ADDR (0), type KVM_VGIC_ITS_ADDR_TYPE (4): 64 KiB aligned base. EEXIST once set, EINVAL misaligned or
 *   overlapping another device on the MMIO bus, E2BIG when the frame does not end inside the VM's IPA space
 *   (its `ipaBits`, 40 by default, as every vGIC frame: KVM's vgic_check_iorange), ENODEV for another type.
 *   The frame is registered on the VM's MMIO bus as soon as the address is set (current KVM behaviour).
 * - CTRL (4): INIT (0, nothing to do), ITS_SAVE_TABLES (1), ITS_RESTORE_TABLES (2), ITS_CTRL_RESET (4);
 *   others ENXIO; CTRL has no readable attributes (ENXIO).
 * - ITS_REGS (8): attr = offset in the ITS frame, value = u64 whatever the register width. ENXIO before the
 *   base is set or for an offset with no register; EINVAL for an offset not 8-aligned (4-aligned for GITS_CTLR,
 *   GITS_IIDR and the ID registers); EBUSY before the vGIC is initialised. GITS_CREADR and GITS_IIDR have
 *   userspace-only write semantics (see its-mmio.ts); writes to other read-only registers are ignored.
 *
 * KVM also answers EBUSY while any vCPU is inside KVM_RUN; device attributes are only ever called between runs
 * in this model, so that case does not arise.
 *
 * @module
 */
import {
  Errno,
  fail,
  isKvmError,
  KVM_DEV_TYPE,
  type DeviceAttr,
  type DeviceTypeRegistration,
  type KvmDevice,
  type Vm,
} from '@irqflow/core';
import { GITS, ITS_FRAME_ALIGN, ITS_FRAME_SIZE } from './gits-regs';
import { restoreTables, saveTables } from './its-abi';
import { restoreIts, saveIts, saveItsToGuestMemory, type SavedIts } from './its-migration';
import { ItsMmio, itsRegisterAt, type ItsRegister } from './its-mmio';
import { ensureItsVm, type ItsVm } from './its-vm';
import type { LpiHostProvider } from './lpi-host';
import { VgicIts } from './vgic-its';

/** Attribute groups of the ITS device. */
export const ITS_GRP = { ADDR: 0, CTRL: 4, ITS_REGS: 8 } as const;
/** KVM_VGIC_ITS_ADDR_TYPE. */
export const KVM_VGIC_ITS_ADDR_TYPE = 4;
/** CTRL attributes the ITS implements. */
export const ITS_CTRL = { INIT: 0, SAVE_TABLES: 1, RESTORE_TABLES: 2, RESET: 4 } as const;
/** VGIC_ADDR_UNDEF: the value of an address that was never set. */
export const VGIC_ADDR_UNDEF = 0xffffffffffffffffn;

/** An ARM_VGIC_ITS device. */
export class ItsKvmDevice implements KvmDevice {
  /** KVM device type. */
  readonly type = KVM_DEV_TYPE.ARM_VGIC_ITS;
  /** Display name. */
  readonly name: string;
  /** The ITS model (tests and the vgic read its state and counters). */
  readonly its: VgicIts;
  /** Its MMIO bus device. */
  readonly mmio: ItsMmio;

  /** @param vm - the VM; @param state - the VM's ITS state */
  constructor(
    readonly vm: Vm,
    private readonly state: ItsVm,
  ) {
    this.its = new VgicIts(vm, state.host, state.lpis, state.itss.length);
    this.name = `kvm-arm-vgic-its${this.its.index}`;
    this.mmio = new ItsMmio(this.its);
    state.itss.push(this.its);
  }

  /** KVM_SET_DEVICE_ATTR: ADDR, CTRL or ITS_REGS (see the module doc for the errno answers). */
  setAttr(attr: DeviceAttr, value: bigint = 0n): void {
    switch (attr.group) {
      case ITS_GRP.ADDR:
        return this.setAddr(attr.attr, value);
      case ITS_GRP.CTRL:
        return this.ctrl(attr.attr);
      case ITS_GRP.ITS_REGS: {
        const r = this.reg(attr.attr);
        const v = BigInt.asUintN(64, value);
        if (r.uwrite) r.uwrite(this.its, v);
        else r.write(this.its, r.bytes === 4 ? v & 0xffffffffn : v);
        return;
      }
      default:
        fail(Errno.ENXIO, `ITS: unknown attribute group ${attr.group}`);
    }
  }

  /** KVM_GET_DEVICE_ATTR: ADDR or ITS_REGS. */
  getAttr(attr: DeviceAttr): bigint {
    switch (attr.group) {
      case ITS_GRP.ADDR:
        if (attr.attr !== BigInt(KVM_VGIC_ITS_ADDR_TYPE))
          fail(Errno.ENODEV, `ITS: address type ${attr.attr} is not KVM_VGIC_ITS_ADDR_TYPE`);
        return this.its.base < 0 ? VGIC_ADDR_UNDEF : BigInt(this.its.base);
      case ITS_GRP.ITS_REGS:
        return this.reg(attr.attr).read(this.its);
      default:
        fail(Errno.ENXIO, `ITS: attribute group ${attr.group} has nothing to read`);
    }
  }

  /** Snapshot: ITS_SAVE_TABLES (its-migration.ts). */
  saveToGuestMemory(): void {
    saveItsToGuestMemory(this);
  }

  /** Snapshot: the ITS registers (its-migration.ts). */
  saveState(): SavedIts {
    return saveIts(this);
  }

  /** Snapshot: the documented restore order (its-migration.ts). @throws KvmError */
  restoreState(state: unknown): void {
    restoreIts(this, state as SavedIts);
  }

  /** KVM_HAS_DEVICE_ATTR. */
  hasAttr(attr: DeviceAttr): boolean {
    switch (attr.group) {
      case ITS_GRP.ADDR:
        return attr.attr === BigInt(KVM_VGIC_ITS_ADDR_TYPE);
      case ITS_GRP.CTRL:
        return (Object.values(ITS_CTRL) as number[]).some((c) => BigInt(c) === attr.attr);
      case ITS_GRP.ITS_REGS:
        return true; // as KVM: any offset "exists"; the access itself answers ENXIO
      default:
        return false;
    }
  }

  private setAddr(type: bigint, value: bigint): void {
    if (type !== BigInt(KVM_VGIC_ITS_ADDR_TYPE)) fail(Errno.ENODEV, `ITS: address type ${type} is not KVM_VGIC_ITS_ADDR_TYPE`);
    if (this.its.base >= 0) fail(Errno.EEXIST, `ITS${this.its.index}: the base address is already set`);
    const v = BigInt.asUintN(64, value);
    if (v % BigInt(ITS_FRAME_ALIGN) !== 0n) fail(Errno.EINVAL, `ITS base 0x${v.toString(16)} is not 64 KiB aligned`);
    if (v + BigInt(ITS_FRAME_SIZE) > BigInt(this.vm.ipaSize))
      fail(Errno.E2BIG, `ITS frame at 0x${v.toString(16)} is beyond the ${Math.log2(this.vm.ipaSize)}-bit IPA space`);
    const base = Number(v);
    try {
      this.vm.mmio.register(base, ITS_FRAME_SIZE, this.mmio);
    } catch (e) {
      if (isKvmError(e, Errno.EEXIST)) fail(Errno.EINVAL, `ITS frame at 0x${v.toString(16)} overlaps another device: ${e.message}`);
      throw e;
    }
    this.its.base = base;
  }

  private ctrl(attr: bigint): void {
    switch (attr) {
      case BigInt(ITS_CTRL.INIT):
        return;
      case BigInt(ITS_CTRL.RESET):
        return this.reset();
      case BigInt(ITS_CTRL.SAVE_TABLES):
        return saveTables(this.its);
      case BigInt(ITS_CTRL.RESTORE_TABLES):
        return restoreTables(this.its);
      default:
        fail(Errno.ENXIO, `ITS: unknown CTRL attribute ${attr}`);
    }
  }

  /** KVM_DEV_ARM_ITS_CTRL_RESET: disabled and quiescent, no devices/collections/cache, BASERs invalid, queue zero. */
  private reset(): void {
    const its = this.its;
    its.enabled = false;
    its.removeAllDevices();
    its.removeAllCollections();
    its.baserDevice &= ~(1n << 63n);
    its.baserCollection &= ~(1n << 63n);
    its.cbaser = 0n;
    its.creadr = 0;
    its.cwriter = 0;
    its.invalidateCache();
  }

  private reg(attr: bigint): ItsRegister {
    if (this.its.base < 0) fail(Errno.ENXIO, 'ITS: the base address is not set');
    if (attr < 0n || attr >= BigInt(ITS_FRAME_SIZE)) fail(Errno.ENXIO, `ITS: no register at offset 0x${attr.toString(16)}`);
    const off = Number(attr);
    const align = off < GITS.TYPER || off >= GITS.IDREGS ? 3 : 7;
    if ((off & align) !== 0) fail(Errno.EINVAL, `ITS register offset 0x${off.toString(16)} is misaligned for userspace access`);
    const r = itsRegisterAt(off);
    if (r === undefined || !r.uaccess || r.offset !== off) fail(Errno.ENXIO, `ITS: no register at offset 0x${off.toString(16)}`);
    if (!this.vm.irqchipFinalized) fail(Errno.EBUSY, 'ITS registers are accessible once the vGIC is initialised');
    return r;
  }

  /** The ITS state (debugfs style). */
  dump(): string {
    return this.its.dump();
  }

  /** VM teardown: unmaps everything and leaves the MMIO bus. */
  destroy(): void {
    this.its.enabled = false;
    this.its.removeAllDevices();
    this.its.removeAllCollections();
    this.vm.mmio.unregister(this.mmio);
    const i = this.state.itss.indexOf(this.its);
    if (i >= 0) this.state.itss.splice(i, 1);
    this.state.lastIts = undefined;
  }
}

/**
 * The ARM_VGIC_ITS device type. `hostOf` supplies the VM's redistributor side (asked once per VM, at the first
 * ITS creation; it may throw KvmError, e.g. ENODEV when the VM has no vGICv3).
 */
export function itsDeviceType(hostOf: LpiHostProvider): DeviceTypeRegistration {
  return {
    type: KVM_DEV_TYPE.ARM_VGIC_ITS,
    name: 'kvm-arm-vgic-its',
    create: (vm: Vm) => new ItsKvmDevice(vm, ensureItsVm(vm, hostOf)),
  };
}
