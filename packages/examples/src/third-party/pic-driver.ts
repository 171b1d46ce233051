/**
 * The guest driver of the "pic" example controller: the {@link GuestIrqDriver} macros controller-neutral
 * workloads call. Every macro is plain MMIO loads and stores to the frame, so every acknowledge, completion
 * and IPI traps (an mmio-kernel exit each) — the price of a simple MMIO controller without a virtual CPU
 * interface. Clobbers x0 and x1 only.
 *
 * @module
 */
import type { GuestAsm, GuestIrqDriver, Msi } from '@irqflow/core';
import { PIC_NR_PRIVATE, PIC_REG, PIC_SPURIOUS } from './pic-abi';

/** The guest driver. */
export class PicDriver implements GuestIrqDriver {
  /** Controller name. */
  readonly name = 'pic';
  /** ACK value when nothing is pending. */
  readonly spurious = PIC_SPURIOUS;
  /** Timer PPIs (the arch timer's KVM defaults). */
  readonly timerIntids = { virt: 27, phys: 30 } as const;
  /** Wired device lines: the lower half of the shared range (pin p ↔ interrupt 32 + p). */
  readonly deviceIrqs: { readonly first: number; readonly count: number };
  /** MSIs: the upper half of the shared range. */
  readonly msiIrqs: { readonly first: number; readonly count: number };

  /** @param base - frame base; @param nrIrqs - NR_IRQS */
  constructor(
    readonly base: number,
    readonly nrIrqs: number,
  ) {
    const half = nrIrqs >>> 1;
    this.deviceIrqs = { first: PIC_NR_PRIVATE, count: half - PIC_NR_PRIVATE };
    this.msiIrqs = { first: half, count: nrIrqs - half };
  }

  /** IPI n is interrupt n. */
  ipi(n: number): number {
    return n & 0xf;
  }

  /** Enable the bank and open the priority mask. */
  emitCpuInit(a: GuestAsm): void {
    a.movi(0, 0xffff).stra(0, this.base + PIC_REG.PMR);
    a.movi(0, 1).stra(0, this.base + PIC_REG.CTLR);
  }

  /** Route a shared interrupt here (TARGET = own CPUID), set the trigger, enable. */
  emitEnable(a: GuestAsm, intid: number, opts: { level?: boolean; priority?: number } = {}): void {
    const word = (intid >>> 5) * 4;
    const bit = (1 << (intid & 31)) >>> 0;
    if (intid >= PIC_NR_PRIVATE) a.ldra(0, this.base + PIC_REG.CPUID).stra(0, this.base + PIC_REG.TARGET + intid, 1);
    if (opts.level) a.movi(1, bit).stra(1, this.base + PIC_REG.TRIGGER_SET + word);
    a.movi(1, bit).stra(1, this.base + PIC_REG.ENABLE_SET + word);
  }

  /** Read ACK. */
  emitAck(a: GuestAsm, rd: number): void {
    a.ldra(rd, this.base + PIC_REG.ACK);
  }

  /** Write EOI (level interrupts resample on EOI; nothing extra). */
  emitEoi(a: GuestAsm, rs: number): void {
    a.stra(rs, this.base + PIC_REG.EOI);
  }

  /** IPI register = target index << 8 | n. */
  emitSendIpi(a: GuestAsm, rt: number, n: number): void {
    a.lsli(0, rt, 8)
      .orri(0, 0, n & 0xf)
      .stra(0, this.base + PIC_REG.IPI);
  }

  /** Route `intid` to `target` and enable it; the device then writes `intid` to the doorbell. */
  emitMsiSetup(a: GuestAsm, spec: { devid: number; event: number; intid: number; target: number }): Msi {
    const word = (spec.intid >>> 5) * 4;
    a.movi(0, spec.target).stra(0, this.base + PIC_REG.TARGET + spec.intid, 1);
    a.movi(1, (1 << (spec.intid & 31)) >>> 0).stra(1, this.base + PIC_REG.ENABLE_SET + word);
    return { address: this.base + PIC_REG.DOORBELL, data: spec.intid };
  }
}
