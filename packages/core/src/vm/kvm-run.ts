/**
 * The exit information a vCPU hands back to userspace, shaped like `struct kvm_run`: one reused object per vCPU
 * whose `exitReason` says which of the unions is valid.
 *
 * @module
 */

/** KVM exit reasons irqflow produces. */
export enum KvmExitReason {
  /** No exit pending. */
  None = 0,
  /** KVM_EXIT_MMIO: an access to an address no in-kernel device or RAM backs. */
  Mmio = 6,
  /** KVM_EXIT_HYPERCALL: an SMCCC call forwarded by the SMCCC filter. */
  Hypercall = 3,
  /** KVM_EXIT_SYSTEM_EVENT: PSCI SYSTEM_OFF / SYSTEM_RESET. */
  SystemEvent = 24,
  /** KVM_EXIT_INTERNAL_ERROR: the guest program ran off its end or is missing. */
  InternalError = 17,
}

/** KVM_SYSTEM_EVENT types. */
export enum SystemEventType {
  /** Power off. */
  Shutdown = 1,
  /** Reset. */
  Reset = 2,
  /** A suspended vCPU (KVM_MP_STATE_SUSPENDED) got a wake-up event (KVM_SYSTEM_EVENT_WAKEUP). */
  Wakeup = 4,
}

/** The per-vCPU exit record (kvm_run). */
export class KvmRun {
  /** Which exit happened. */
  exitReason: KvmExitReason = KvmExitReason.None;
  /** KVM_EXIT_MMIO: fill `data` for reads before the next run. */
  readonly mmio = { physAddr: 0, len: 0, isWrite: false, data: new Uint8Array(8) };
  /** KVM_EXIT_HYPERCALL: function id and arguments x1..x3; set results with `vcpu.setX(0..3)`. */
  readonly hypercall = { fid: 0, args: [0, 0, 0] as number[], isSmc: false };
  /** KVM_EXIT_SYSTEM_EVENT. */
  systemEvent: SystemEventType = SystemEventType.Shutdown;
  /** KVM_EXIT_INTERNAL_ERROR description. */
  internalError = '';
}
