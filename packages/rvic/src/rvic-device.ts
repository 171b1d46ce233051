/**
 * The rVIC KVM device ("kvm-arm-rvic", type 0x1000 — KVM never assigned one upstream): KVM_CREATE_DEVICE
 * installs the controller (one irqchip per VM), its hypercall services and the MSI doorbell; NR_IRQS (group
 * 3) packs trusted[15:0] | total[31:16] — trusted ≥ 32, total ≥ 64, both multiples of 32, total ≤ 2048 and at
 * least 32 untrusted (ARM-DEN-0103 rule R0058, which the series did not check), settable once; CTRL (group 4)
 * INIT sizes every vCPU's rVIC and the rVID, installs the default routing (GSI i → input i) and finalizes.
 *
 * @module
 */
import { Errno, fail, type DeviceAttr, type DeviceTypeRegistration, type KvmDevice, type Vm } from '@irqflow/core';
import {
  KVM_DEV_ARM_RVIC_CTRL_INIT,
  KVM_DEV_ARM_RVIC_GRP_CTRL,
  KVM_DEV_ARM_RVIC_GRP_NR_IRQS,
  KVM_DEV_ARM_RVIC_GRP_RVID,
  KVM_DEV_ARM_RVIC_GRP_VCPU_STATE,
  KVM_DEV_NAME_ARM_RVIC,
  KVM_DEV_TYPE_ARM_RVIC,
  RVIC_MAX_TOTAL,
  RVID_MSI_DOORBELL,
  RVID_MSI_DOORBELL_SIZE,
  rvicNrIrqs,
} from './abi';
import { RvidMsiDoorbell } from './msi-doorbell';
import { Rvic } from './rvic';
import { dumpRvic } from './rvic-dump';
import { rvicHypercallRange } from './rvic-hypercalls';
import { rvidHypercallRange } from './rvid-hypercalls';
import { isSavedRvicHidden, restoreRvicHidden, saveRvicHidden } from './rvic-visibility';
import { restoreRvic, saveRvic, type SavedRvic } from './rvic-migration';
import { getRvicState, getRvidEntry, hasRvicState, hasRvidEntry, setRvicState, setRvidEntry } from './rvic-state-attrs';

/** Validates an NR_IRQS value; returns [trusted, total]. @throws KvmError EINVAL */
export function decodeNrIrqs(value: bigint): [number, number] {
  if (value < 0n || value > 0xffffffffn) fail(Errno.EINVAL, `NR_IRQS value 0x${value.toString(16)} has bits above 31`);
  const v = Number(value);
  const trusted = v & 0xffff;
  const total = v >>> 16;
  if (trusted < 32 || trusted % 32 !== 0) fail(Errno.EINVAL, `NR_IRQS: trusted ${trusted} must be a multiple of 32, at least 32`);
  if (total < 64 || total % 32 !== 0 || total > RVIC_MAX_TOTAL)
    fail(Errno.EINVAL, `NR_IRQS: total ${total} must be a multiple of 32 in 64..${RVIC_MAX_TOTAL}`);
  if (total - trusted < 32) fail(Errno.EINVAL, `NR_IRQS: ${total - trusted} untrusted interrupts; ARM-DEN-0103 R0058 requires at least 32`);
  return [trusted, total];
}

/** The device instance. */
export class RvicDevice implements KvmDevice {
  /** Device type. */
  readonly type = KVM_DEV_TYPE_ARM_RVIC;
  /** Device name. */
  readonly name = KVM_DEV_NAME_ARM_RVIC;
  /** The MSI doorbell frame. */
  readonly doorbell: RvidMsiDoorbell;

  /** @param rvic - the controller it configures */
  constructor(readonly rvic: Rvic) {
    this.doorbell = new RvidMsiDoorbell(rvic);
  }

  /** KVM_SET_DEVICE_ATTR. @throws KvmError ENXIO (unknown), EINVAL (bad size), EBUSY (set twice / after INIT) */
  setAttr(attr: DeviceAttr, value = 0n): void {
    const r = this.rvic;
    if (attr.group === KVM_DEV_ARM_RVIC_GRP_NR_IRQS) {
      if (attr.attr !== 0n) fail(Errno.ENXIO, `NR_IRQS attribute ${attr.attr} does not exist`);
      const [trusted, total] = decodeNrIrqs(value);
      if (r.sized || r.initialized) fail(Errno.EBUSY, 'NR_IRQS can be set once, before INIT');
      r.nrTrusted = trusted;
      r.nrTotal = total;
      r.sized = true;
      return;
    }
    if (attr.group === KVM_DEV_ARM_RVIC_GRP_CTRL) {
      if (attr.attr !== BigInt(KVM_DEV_ARM_RVIC_CTRL_INIT)) fail(Errno.ENXIO, `CTRL attribute ${attr.attr} does not exist`);
      r.init();
      return;
    }
    if (attr.group === KVM_DEV_ARM_RVIC_GRP_VCPU_STATE) return setRvicState(r, attr.attr, value);
    if (attr.group === KVM_DEV_ARM_RVIC_GRP_RVID) return setRvidEntry(r, attr.attr, value);
    fail(Errno.ENXIO, `rVIC attribute group ${attr.group} does not exist`);
  }

  /** KVM_GET_DEVICE_ATTR: NR_IRQS reads the packed sizing; the state groups (rvic-state-attrs.ts). @throws KvmError ENXIO */
  getAttr(attr: DeviceAttr): bigint {
    if (attr.group === KVM_DEV_ARM_RVIC_GRP_NR_IRQS && attr.attr === 0n) return rvicNrIrqs(this.rvic.nrTrusted, this.rvic.nrTotal);
    if (attr.group === KVM_DEV_ARM_RVIC_GRP_VCPU_STATE) return getRvicState(this.rvic, attr.attr);
    if (attr.group === KVM_DEV_ARM_RVIC_GRP_RVID) return getRvidEntry(this.rvic, attr.attr);
    fail(Errno.ENXIO, `rVIC attribute ${attr.group}/${attr.attr} cannot be read`);
  }

  /** KVM_HAS_DEVICE_ATTR. */
  hasAttr(attr: DeviceAttr): boolean {
    return (
      (attr.group === KVM_DEV_ARM_RVIC_GRP_NR_IRQS && attr.attr === 0n) ||
      (attr.group === KVM_DEV_ARM_RVIC_GRP_CTRL && attr.attr === BigInt(KVM_DEV_ARM_RVIC_CTRL_INIT)) ||
      (attr.group === KVM_DEV_ARM_RVIC_GRP_VCPU_STATE && hasRvicState(this.rvic, attr.attr)) ||
      (attr.group === KVM_DEV_ARM_RVIC_GRP_RVID && hasRvidEntry(this.rvic, attr.attr))
    );
  }

  /**
   * Snapshot: the state through the attribute groups (rvic-migration.ts), plus the model's run-loop part no
   * attribute carries: the pending interrupts not yet visible to their vCPU (rvic-visibility.ts).
   */
  saveState(): SavedRvic {
    const saved = saveRvic(this.rvic.vm, this);
    const hidden = saveRvicHidden(this.rvic.vm.vcpus, (v) => this.rvic.cpu(v));
    return hidden.length > 0 ? { ...saved, hidden } : saved;
  }

  /** Snapshot: restores {@link saveState}'s result (rvic-migration.ts). @throws KvmError */
  restoreState(state: unknown): void {
    const hidden = (state as Partial<SavedRvic> | null)?.hidden;
    const vcpus = this.rvic.vm.vcpus;
    const nrTotal = vcpus.length > 0 ? (this.rvic.cpu(vcpus[0])?.nrTotal ?? 0) : 0;
    if (hidden !== undefined && !isSavedRvicHidden(hidden, vcpus.length, nrTotal))
      fail(Errno.EINVAL, 'malformed hidden rVIC entries (vCPU index, INTID, visibleAt)');
    restoreRvic(this.rvic.vm, this, state as SavedRvic);
    restoreRvicHidden(this.rvic.vm.vcpus, (v) => this.rvic.cpu(v), (state as SavedRvic).hidden);
  }

  /** The state dump. */
  dump(): string {
    return dumpRvic(this.rvic);
  }
}

/**
 * Creates the device on `vm`: one irqchip per VM (EEXIST), none after a vCPU ran (EBUSY); nothing is left
 * half-installed when it fails.
 */
export function createRvicDevice(vm: Vm): RvicDevice {
  if (vm.hasIrqchip) fail(Errno.EEXIST, `the VM already has an interrupt controller (${vm.flow.name})`);
  if (vm.anyVcpuRan) fail(Errno.EBUSY, 'a vCPU has already run');
  const rvic = new Rvic(vm);
  const dev = new RvicDevice(rvic);
  vm.mmio.register(RVID_MSI_DOORBELL, RVID_MSI_DOORBELL_SIZE, dev.doorbell);
  try {
    vm.hypercalls.register(rvicHypercallRange(rvic));
    try {
      vm.hypercalls.register(rvidHypercallRange(rvic));
    } catch (e) {
      vm.hypercalls.unregister('rVIC');
      throw e;
    }
    try {
      vm.setIrqchip(rvic, 'rvic');
    } catch (e) {
      vm.hypercalls.unregister('rVIC');
      vm.hypercalls.unregister('rVID');
      throw e;
    }
  } catch (e) {
    vm.mmio.unregister(dev.doorbell);
    throw e;
  }
  return dev;
}

/** The device-type registration. */
export const RVIC_DEVICE_TYPE: DeviceTypeRegistration = {
  type: KVM_DEV_TYPE_ARM_RVIC,
  name: KVM_DEV_NAME_ARM_RVIC,
  create: createRvicDevice,
};
