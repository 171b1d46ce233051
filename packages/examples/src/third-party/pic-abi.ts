/**
 * The userspace ABI of the "pic" example controller — a small paravirtual MMIO priority interrupt controller
 * written in the examples package against the public core API only, to show that a controller needs nothing
 * from core beyond `irqchip_flow`, a KVM device type and an MMIO frame. Not modelled on any Arm specification:
 * the ABI deliberately mirrors the shape of KVM's vgic device (references §3: ADDR / NR_IRQS / CTRL groups,
 * INIT control attribute, the same errno rules) so the walkthrough in docs/guides/writing-a-controller.md can
 * compare the two.
 *
 * @module
 */

/** KVM device type number of the PIC (unused by KVM: 0x2000). */
export const KVM_DEV_TYPE_IRQFLOW_PIC = 0x2000;
/** Device type name. */
export const PIC_DEVICE_NAME = 'irqflow-pic';

/** Device attribute groups. */
export const PIC_DEV_GRP = {
  /** Guest-physical base of the 4 KiB MMIO frame (attr 0). */
  ADDR: 0,
  /** Frame registers from userspace: attr = vCPU index[39:32] | offset[31:0]; 32-bit values. */
  REGS: 1,
  /** Number of interrupts (attr 0): 64..1024 in steps of 32. */
  NR_IRQS: 3,
  /** Control (attr {@link PIC_CTRL_INIT}). */
  CTRL: 4,
} as const;

/** CTRL attribute: initialise the controller (maps the frame, finalises the irqchip, installs default routing). */
export const PIC_CTRL_INIT = 0;

/** Size of the MMIO frame. */
export const PIC_FRAME_SIZE = 0x1000;
/** Default guest-physical base used by the descriptor's board setup. */
export const PIC_DEFAULT_BASE = 0x0900_0000;
/** Default number of interrupts. */
export const PIC_DEFAULT_NR_IRQS = 256;
/** Interrupt number the ACK register returns when nothing is deliverable. */
export const PIC_SPURIOUS = 1023;
/** Private interrupts per vCPU: 0..15 IPIs, 16..31 per-CPU peripherals (the timer PPIs). */
export const PIC_NR_PRIVATE = 32;

/** Register offsets inside the frame (see the register table in pic-regs.ts). */
export const PIC_REG = {
  CTLR: 0x000,
  TYPER: 0x004,
  CPUID: 0x008,
  PMR: 0x00c,
  ACK: 0x010,
  EOI: 0x014,
  IPI: 0x018,
  DOORBELL: 0x040,
  ENABLE_SET: 0x100,
  ENABLE_CLR: 0x180,
  PENDING_SET: 0x200,
  PENDING_CLR: 0x280,
  ACTIVE: 0x300,
  TRIGGER_SET: 0x380,
  TRIGGER_CLR: 0x400,
  LEVEL: 0x480,
  TARGET: 0x800,
} as const;
