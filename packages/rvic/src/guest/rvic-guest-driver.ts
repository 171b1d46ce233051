/**
 * core's GuestIrqDriver for rVIC: the controller-neutral driver surface (plugin.ts) implemented with the
 * irq-rvic / irq-rvid call sequences of {@link emitCpuBringUp} and friends (ARM-DEN-0103).
 *
 * Numbering convention of this driver: rVID input k feeds untrusted interrupt nr_trusted + k. Wired inputs
 * (the first half, GSI k = input k) are the device interrupts; MSI inputs (the second half) are the MSI
 * interrupts, so an MSI's data is `intid − nr_trusted`. IPI n is interrupt n; the timers use 27 / 30 as on
 * a GIC.
 *
 * @module
 */
import type { GuestAsm, GuestIrqDriver, Msi, Vm } from '@irqflow/core';
import { RVIC_SPURIOUS, RVID_MSI_DOORBELL, RvicCall, RvidCall, rvicFid } from '../abi';
import { emitAcknowledge, emitComplete, emitCpuBringUp, emitRvic, emitRvid, emitSelfMpidr } from './rvic-asm';

/** The rVIC guest driver of one VM. */
export class RvicGuestDriver implements GuestIrqDriver {
  /** Controller name. */
  readonly name = 'rvic';
  /** ACKNOWLEDGE found nothing. */
  readonly spurious = RVIC_SPURIOUS;
  /** Timer interrupts. */
  readonly timerIntids = { virt: 27, phys: 30 } as const;
  /** Device (wired rVID input) interrupts. */
  readonly deviceIrqs: { readonly first: number; readonly count: number };
  /** MSI interrupts. */
  readonly msiIrqs: { readonly first: number; readonly count: number };

  /**
   * @param vm - the VM (for vCPU index → MPIDR, Linux's cpu_logical_map)
   * @param nrTrusted - trusted interrupts
   * @param nrTotal - total interrupts
   */
  constructor(
    readonly vm: Vm,
    readonly nrTrusted: number,
    readonly nrTotal: number,
  ) {
    const untrusted = nrTotal - nrTrusted;
    const wired = untrusted >>> 1;
    this.deviceIrqs = { first: nrTrusted, count: wired };
    this.msiIrqs = { first: nrTrusted + wired, count: untrusted - wired };
  }

  /** IPI n = interrupt n. */
  ipi(n: number): number {
    return n;
  }

  /** The rVID input feeding untrusted interrupt `intid` under this driver's convention. */
  inputOf(intid: number): number {
    return intid - this.nrTrusted;
  }

  /** Bring-up, then unmask IPIs 0..7 (Linux requests its IPIs at boot). */
  emitCpuInit(a: GuestAsm): void {
    emitCpuBringUp(a, this.nrTotal);
    emitSelfMpidr(a, 4);
    for (let n = 0; n < 8; n++) emitRvic(a, RvicCall.CLEAR_MASKED, { r: 4 }, n);
  }

  /** Trusted/MSI interrupts: unmask here. Device interrupts: rVID MAP input → this CPU, then unmask. */
  emitEnable(a: GuestAsm, intid: number): void {
    emitSelfMpidr(a, 4);
    if (intid >= this.deviceIrqs.first && intid < this.deviceIrqs.first + this.deviceIrqs.count)
      emitRvid(a, RvidCall.MAP, this.inputOf(intid), { r: 4 }, intid);
    emitRvic(a, RvicCall.CLEAR_MASKED, { r: 4 }, intid);
  }

  /** One ACKNOWLEDGE. */
  emitAck(a: GuestAsm, rd: number): void {
    emitAcknowledge(a, rd);
  }

  /** CLEAR_MASKED, preceded by RESAMPLE for level interrupts. */
  emitEoi(a: GuestAsm, rs: number, opts?: { level?: boolean }): void {
    emitComplete(a, rs, opts?.level === true);
  }

  /** SIGNAL IPI n to the vCPU whose index is in `rt` (MPIDR from the logical map, one load). */
  emitSendIpi(a: GuestAsm, rt: number, n: number): void {
    const vm = this.vm;
    a.call((cpu) => {
      const t = vm.vcpus[cpu.x(rt)];
      cpu.setX(1, t === undefined ? 0xffffffff : t.mpidr);
    });
    a.work(2);
    a.movi(2, this.ipi(n));
    a.movi(0, rvicFid(RvicCall.SIGNAL)).hvc(0);
  }

  /** rVID MAP of the MSI input for `intid` to `target`, unmask there; the device writes {doorbell, input}. */
  emitMsiSetup(a: GuestAsm, spec: { devid: number; event: number; intid: number; target: number }): Msi {
    const { intid } = spec;
    if (intid < this.msiIrqs.first || intid >= this.msiIrqs.first + this.msiIrqs.count)
      throw new RangeError(
        `rVIC: interrupt ${intid} is not in the MSI range ${this.msiIrqs.first}..${this.msiIrqs.first + this.msiIrqs.count - 1}`,
      );
    const t = this.vm.vcpus[spec.target];
    if (t === undefined) throw new RangeError(`rVIC: no vCPU ${spec.target}`);
    const input = this.inputOf(intid);
    emitRvid(a, RvidCall.MAP, input, t.mpidr, intid);
    emitRvic(a, RvicCall.CLEAR_MASKED, t.mpidr, intid);
    return { address: RVID_MSI_DOORBELL, data: input };
  }
}
