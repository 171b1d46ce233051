/**
 * The rVIC/rVID binary interface: SMCCC function identifiers, status words, INFO keys and version
 * (ARM-DEN-0103 "rVIC/rVID" 00alp1, Alpha; the spec redacted the numbers, these are the values of the 2020
 * KVM/arm64 series, references §5), plus the KVM device ABI and the MSI doorbell this package defines.
 *
 * @module
 */

/** First function id of the rVIC service (SMCCC 1.1 fast call, SMC64, owner "vendor hypervisor"). */
export const RVIC_FN_BASE = 0xc5000200;
/** First function id of the rVID service. */
export const RVID_FN_BASE = 0xc5000100;
/**
 * Size of each service's function-id window. Unknown ids anywhere in [base, base + 0x100) are answered with
 * SMCCC NOT_SUPPORTED by the service itself.
 */
export const RVIx_FN_WINDOW = 0x100;

/** rVIC call numbers (offset from {@link RVIC_FN_BASE}). */
export enum RvicCall {
  /** x1 = version. */
  VERSION = 0,
  /** (key) → x1 = value. */
  INFO = 1,
  /** Enables the calling vCPU's rVIC. */
  ENABLE = 2,
  /** Disables the calling vCPU's rVIC. */
  DISABLE = 3,
  /** (mpidr, intid): masks. */
  SET_MASKED = 4,
  /** (mpidr, intid): unmasks (end of interrupt). */
  CLEAR_MASKED = 5,
  /** (mpidr, intid) → x1 = pending. */
  IS_PENDING = 6,
  /** (mpidr, intid): makes pending (IPIs). */
  SIGNAL = 7,
  /** (mpidr, intid): clears pending. */
  CLEAR_PENDING = 8,
  /** → x1 = intid of the first deliverable interrupt (local). */
  ACKNOWLEDGE = 9,
  /** (intid): re-reads the interrupt's line (local). */
  RESAMPLE = 10,
}

/** rVID call numbers (offset from {@link RVID_FN_BASE}). */
export enum RvidCall {
  /** x1 = version. */
  VERSION = 0,
  /** (input, mpidr, intid): routes an input to an untrusted interrupt of a vCPU. */
  MAP = 1,
  /** (input): removes the route. */
  UNMAP = 2,
}

/** Display names of the rVIC calls (counters, traces). */
export const RVIC_CALL_NAMES: readonly string[] = [
  'VERSION',
  'INFO',
  'ENABLE',
  'DISABLE',
  'SET_MASKED',
  'CLEAR_MASKED',
  'IS_PENDING',
  'SIGNAL',
  'CLEAR_PENDING',
  'ACKNOWLEDGE',
  'RESAMPLE',
];
/** Display names of the rVID calls. */
export const RVID_CALL_NAMES: readonly string[] = ['VERSION', 'MAP', 'UNMAP'];

/** Function id of rVIC call `n`. */
export function rvicFid(n: RvicCall): number {
  return RVIC_FN_BASE + n;
}
/** Function id of rVID call `n`. */
export function rvidFid(n: RvidCall): number {
  return RVID_FN_BASE + n;
}

/** Status reasons (status word bits [7:0]). */
export enum RvicStatus {
  SUCCESS = 0,
  ERROR_PARAMETER = 1,
  INVALID_CPU = 2,
  DISABLED = 3,
  NO_INTERRUPTS = 4,
}

/** Packs a status word: reason[7:0] | index of the offending argument[15:8] (0 = first argument, x1). */
export function rvicStatus(reason: RvicStatus, argIndex = 0): number {
  return (reason & 0xff) | ((argIndex & 0xff) << 8);
}
/** The reason of a status word. */
export function statusReason(status: number): RvicStatus {
  return status & 0xff;
}
/** The bad-argument index of a status word. */
export function statusIndex(status: number): number {
  return (status >>> 8) & 0xff;
}

/** INFO keys. */
export enum RvicInfoKey {
  /** Number of trusted interrupts. */
  NR_TRUSTED = 0,
  /** Number of untrusted interrupts. */
  NR_UNTRUSTED = 1,
}

/** Packs a version: major[31:16] | minor[15:0]. */
export function rvicVersion(major: number, minor: number): number {
  return ((major & 0xffff) << 16) | (minor & 0xffff);
}
/** The version this model implements (0.3, the series' "ALP0.3"). */
export const RVIC_VERSION = rvicVersion(0, 3);

/** Interrupts 0..15 are the IPIs (SGI-like, sent with SIGNAL). */
export const RVIC_NR_IPIS = 16;

/** KVM device type of the rVIC (KVM never assigned one upstream). */
export const KVM_DEV_TYPE_ARM_RVIC = 0x1000;
/** KVM device name. */
export const KVM_DEV_NAME_ARM_RVIC = 'kvm-arm-rvic';
/** Device attribute group: NR_IRQS (value = trusted[15:0] | total[31:16]). */
export const KVM_DEV_ARM_RVIC_GRP_NR_IRQS = 3;
/** Device attribute group: CTRL. */
export const KVM_DEV_ARM_RVIC_GRP_CTRL = 4;
/** CTRL attribute: INIT. */
export const KVM_DEV_ARM_RVIC_CTRL_INIT = 0;
/**
 * Device attribute group: the per-vCPU rVIC state (package README, "Saving and restoring"). attr =
 * MPIDR Aff3..Aff0[63:32] | kind[31:24] | 0[23:16] | index[15:0]; kinds {@link RVIC_STATE_ENABLE},
 * {@link RVIC_STATE_IRQ}, {@link RVIC_STATE_FIFO}.
 */
export const KVM_DEV_ARM_RVIC_GRP_VCPU_STATE = 5;
/** Device attribute group: the rVID routing table, attr = input[15:0]; value see {@link rvidEntry}. */
export const KVM_DEV_ARM_RVIC_GRP_RVID = 6;
/** VCPU_STATE kind: ENABLE/DISABLE state (index 0; value 0 or 1). */
export const RVIC_STATE_ENABLE = 0;
/** VCPU_STATE kind: one interrupt (index = intid); value {@link RVIC_IRQ_PENDING} | … */
export const RVIC_STATE_IRQ = 1;
/** VCPU_STATE kind: the delivery FIFO (get: index = position; set: index 0, value = intid moved to the tail). */
export const RVIC_STATE_FIFO = 2;
/** VCPU_STATE/IRQ value bit: pending. */
export const RVIC_IRQ_PENDING = 1;
/** VCPU_STATE/IRQ value bit: masked. */
export const RVIC_IRQ_MASKED = 2;
/** VCPU_STATE/IRQ value bit: line level. */
export const RVIC_IRQ_LINE = 4;
/** VCPU_STATE/IRQ value bit: in service (returned by ACKNOWLEDGE, CLEAR_MASKED not yet called; implies masked). */
export const RVIC_IRQ_ACKED = 8;
/** GRP_RVID value bit 63: the input is mapped. */
export const RVID_ENTRY_VALID = 1n << 63n;
/** GRP_RVID value bit 62: the input's line level. */
export const RVID_ENTRY_LEVEL = 1n << 62n;

/** Packs a VCPU_STATE attribute. */
export function rvicStateAttr(mpidr: number, kind: number, index: number): bigint {
  return (BigInt(mpidr >>> 0) << 32n) | (BigInt(kind & 0xff) << 24n) | BigInt(index & 0xffff);
}

/** Packs a GRP_RVID value: V[63] | LEVEL[62] | target Aff2.Aff1.Aff0[55:32] | intid[15:0]. */
export function rvidEntry(valid: boolean, level: boolean, mpidr: number, intid: number): bigint {
  let v = valid ? RVID_ENTRY_VALID | (BigInt(mpidr & 0xffffff) << 32n) | BigInt(intid & 0xffff) : 0n;
  if (level) v |= RVID_ENTRY_LEVEL;
  return v;
}

/** Packs an NR_IRQS value. */
export function rvicNrIrqs(trusted: number, total: number): bigint {
  return BigInt(((total & 0xffff) << 16) | (trusted & 0xffff)) & 0xffffffffn;
}

/** Default sizing when userspace never sets NR_IRQS: the spec's minimum (32 trusted, 32 untrusted). */
export const RVIC_DEFAULT_TRUSTED = 32;
/** Default total. */
export const RVIC_DEFAULT_TOTAL = 64;
/** Largest total the device accepts. */
export const RVIC_MAX_TOTAL = 2048;

/**
 * The MSI doorbell (not in the spec; the series' dummy address). A 32-bit write of an rVID input number
 * signals that input; `KVM_SIGNAL_MSI` and MSI routes use the same (address, data) pair.
 */
export const RVID_MSI_DOORBELL = 0xba5e0000;
/** Size of the doorbell frame on the MMIO bus. */
export const RVID_MSI_DOORBELL_SIZE = 0x1000;
/** Value of {@link @irqflow/core!GuestIrqDriver.spurious | GuestIrqDriver.spurious} for rVIC: ACKNOWLEDGE found nothing. */
export const RVIC_SPURIOUS = 0xffffffff;
