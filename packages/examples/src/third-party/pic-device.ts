/**
 * The KVM device of the "pic" example controller (KVM_CREATE_DEVICE type {@link KVM_DEV_TYPE_IRQFLOW_PIC}):
 * creating it installs the controller's flow on the VM (one interrupt controller per VM: EEXIST otherwise);
 * its attributes follow the vgic device's rules (references §3) — ADDR, NR_IRQS, CTRL/INIT, REGS — with
 * KVM's errnos, and a failed call leaves nothing half-changed.
 *
 * @module
 */
import { Errno, fail, type DeviceAttr, type DeviceTypeRegistration, type KvmDevice, type Vcpu, type Vm } from '@irqflow/core';
import {
  KVM_DEV_TYPE_IRQFLOW_PIC,
  PIC_CTRL_INIT,
  PIC_DEFAULT_NR_IRQS,
  PIC_DEV_GRP,
  PIC_DEVICE_NAME,
  PIC_FRAME_SIZE,
  PIC_NR_PRIVATE,
} from './pic-abi';
import { PicChip } from './pic-chip';
import { lookupPicRegister, PicFrame } from './pic-regs';

/** Largest guest-physical address the frame may use (48-bit IPA). */
const MAX_IPA = 2 ** 48;

/** A created PIC device. */
export class PicDevice implements KvmDevice {
  /** Device type. */
  readonly type = KVM_DEV_TYPE_IRQFLOW_PIC;
  /** Name. */
  readonly name = PIC_DEVICE_NAME;
  /** The controller. */
  readonly chip: PicChip;
  private readonly frame: PicFrame;

  /** @param vm - the VM. @throws KvmError EEXIST if the VM already has an interrupt controller */
  constructor(readonly vm: Vm) {
    this.chip = new PicChip(vm, PIC_DEFAULT_NR_IRQS);
    this.frame = new PicFrame(this.chip);
    this.chip.frame = this.frame;
    vm.setIrqchip(this.chip, 'pic');
  }

  /** KVM_SET_DEVICE_ATTR. @throws KvmError (see the guide for the errno of each case) */
  setAttr(attr: DeviceAttr, value: bigint = 0n): void {
    const c = this.chip;
    switch (attr.group) {
      case PIC_DEV_GRP.ADDR: {
        if (attr.attr !== 0n) fail(Errno.ENXIO, `pic: unknown ADDR attribute ${attr.attr}`);
        if (c.base >= 0) fail(Errno.EEXIST, 'pic: the frame address is already set');
        if (value % BigInt(PIC_FRAME_SIZE) !== 0n) fail(Errno.EINVAL, 'pic: the frame address must be 4 KiB aligned');
        if (value < 0n || value + BigInt(PIC_FRAME_SIZE) > BigInt(MAX_IPA)) fail(Errno.E2BIG, 'pic: the frame is beyond the IPA range');
        c.base = Number(value);
        return;
      }
      case PIC_DEV_GRP.NR_IRQS: {
        if (attr.attr !== 0n) fail(Errno.ENXIO, `pic: unknown NR_IRQS attribute ${attr.attr}`);
        if (c.initialized) fail(Errno.EBUSY, 'pic: NR_IRQS cannot change after INIT');
        if (value < 64n || value > 1024n || value % 32n !== 0n) fail(Errno.EINVAL, `pic: NR_IRQS ${value} is not 64..1024 in steps of 32`);
        c.nrIrqs = Number(value);
        return;
      }
      case PIC_DEV_GRP.CTRL: {
        if (attr.attr !== BigInt(PIC_CTRL_INIT)) fail(Errno.ENXIO, `pic: unknown CTRL attribute ${attr.attr}`);
        this.init();
        return;
      }
      case PIC_DEV_GRP.REGS: {
        const { vcpu, offset, reg } = this.userReg(attr);
        reg.reg.write?.(c, vcpu, reg.index, Number(value & 0xffffffffn));
        void offset;
        return;
      }
      default:
        fail(Errno.ENXIO, `pic: unknown attribute group ${attr.group}`);
    }
  }

  /** KVM_GET_DEVICE_ATTR. */
  getAttr(attr: DeviceAttr): bigint {
    const c = this.chip;
    switch (attr.group) {
      case PIC_DEV_GRP.ADDR:
        if (attr.attr !== 0n) fail(Errno.ENXIO, `pic: unknown ADDR attribute ${attr.attr}`);
        if (c.base < 0) fail(Errno.ENOENT, 'pic: the frame address is not set');
        return BigInt(c.base);
      case PIC_DEV_GRP.NR_IRQS:
        if (attr.attr !== 0n) fail(Errno.ENXIO, `pic: unknown NR_IRQS attribute ${attr.attr}`);
        return BigInt(c.nrIrqs);
      case PIC_DEV_GRP.REGS: {
        const { vcpu, reg } = this.userReg(attr);
        return BigInt(reg.reg.read ? reg.reg.read(c, vcpu, reg.index) >>> 0 : 0);
      }
      default:
        return fail(Errno.ENXIO, `pic: attribute group ${attr.group} cannot be read`);
    }
  }

  /** KVM_HAS_DEVICE_ATTR. */
  hasAttr(attr: DeviceAttr): boolean {
    switch (attr.group) {
      case PIC_DEV_GRP.ADDR:
      case PIC_DEV_GRP.NR_IRQS:
        return attr.attr === 0n;
      case PIC_DEV_GRP.CTRL:
        return attr.attr === BigInt(PIC_CTRL_INIT);
      case PIC_DEV_GRP.REGS: {
        const hit = lookupPicRegister(Number(attr.attr & 0xffffffffn));
        return hit !== undefined && hit.reg.user;
      }
      default:
        return false;
    }
  }

  private userReg(attr: DeviceAttr): { vcpu: Vcpu; offset: number; reg: NonNullable<ReturnType<typeof lookupPicRegister>> } {
    if (!this.chip.initialized) fail(Errno.EBUSY, 'pic: not initialised');
    const offset = Number(attr.attr & 0xffffffffn);
    const reg = lookupPicRegister(offset);
    if (!reg || !reg.reg.user) fail(Errno.ENXIO, `pic: no userspace register at offset 0x${offset.toString(16)}`);
    const vcpu = this.vm.vcpus[Number(attr.attr >> 32n)];
    if (!vcpu) fail(Errno.EINVAL, `pic: no vCPU ${attr.attr >> 32n}`);
    return { vcpu, offset, reg };
  }

  /**
   * CTRL/INIT: maps the frame, finalises the irqchip and installs the default routing GSI i → pin i.
   * Idempotent. @throws KvmError ENXIO without a frame address, EBUSY once a vCPU ran, EEXIST for a frame
   * overlapping another device
   */
  private init(): void {
    const c = this.chip;
    const vm = this.vm;
    if (c.initialized) return;
    if (c.base < 0) fail(Errno.ENXIO, 'pic: INIT needs the frame address (ADDR group)');
    if (vm.anyVcpuRan) fail(Errno.EBUSY, 'pic: a vCPU has already run');
    vm.mmio.register(c.base, PIC_FRAME_SIZE, this.frame);
    c.initialized = true;
    vm.finalizeIrqchip();
    const routes = [];
    for (let pin = 0; pin < c.nrIrqs - PIC_NR_PRIVATE; pin++) routes.push({ gsi: pin, type: 'irqchip' as const, irqchip: 0, pin });
    vm.setGsiRouting(routes);
  }

  /** A state dump. */
  dump(): string {
    return this.chip.dump();
  }
}

/** The device type registration. */
export const PIC_DEVICE_TYPE: DeviceTypeRegistration = {
  type: KVM_DEV_TYPE_IRQFLOW_PIC,
  name: PIC_DEVICE_NAME,
  create: (vm: Vm) => new PicDevice(vm),
};
