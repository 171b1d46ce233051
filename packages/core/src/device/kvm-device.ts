/**
 * KVM devices (KVM_CREATE_DEVICE) and their attributes (KVM_SET/GET/HAS_DEVICE_ATTR). Attribute values are
 * 64-bit (`bigint`), as the u64 the ioctl's `addr` points at; 32-bit registers use the low half.
 *
 * @module
 */
import type { Vm } from '../vm/vm';

/** KVM device type numbers (references §3). */
export const KVM_DEV_TYPE = {
  ARM_VGIC_V2: 5,
  ARM_VGIC_V3: 7,
  ARM_VGIC_ITS: 8,
} as const;

/** A device attribute address. */
export interface DeviceAttr {
  /** Attribute group. */
  readonly group: number;
  /** Attribute (64-bit, group-specific encoding). */
  readonly attr: bigint;
}

/** A created KVM device. Unknown groups/attributes throw KvmError ENXIO. */
export interface KvmDevice {
  /** KVM device type. */
  readonly type: number;
  /** Display name. */
  readonly name: string;
  /** KVM_SET_DEVICE_ATTR (`value` ignored by control attributes). */
  setAttr(attr: DeviceAttr, value?: bigint): void;
  /** KVM_GET_DEVICE_ATTR. */
  getAttr(attr: DeviceAttr): bigint;
  /**
   * KVM_HAS_DEVICE_ATTR: true when supported, false for ENXIO. Other refusals are thrown as KvmError (e.g. a
   * vGIC register attribute naming no vCPU is EINVAL, as KVM's has_attr parses the vCPU first).
   */
  hasAttr(attr: DeviceAttr): boolean;
  /** A human-readable state dump (debugfs style). */
  dump?(): string;
  /** Called on VM teardown. */
  destroy?(): void;
}

/** A device type a plugin registers with the hypervisor. */
export interface DeviceTypeRegistration {
  /** KVM device type number. */
  readonly type: number;
  /** Name (e.g. "kvm-arm-vgic-v3"). */
  readonly name: string;
  /**
   * Creates an instance for `vm` (KVM_CREATE_DEVICE). May throw KvmError (e.g. EEXIST for a second GIC).
   * Resolve per-VM classes from `vm.container`.
   */
  create(vm: Vm): KvmDevice;
}
