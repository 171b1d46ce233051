/**
 * Guest-side rVIC/rVID call sequences, emitted as GuestAsm the way Linux's irq-rvic / irq-rvid drivers of the
 * 2020 series issue them (ARM-DEN-0103 for the calls): probe (VERSION check, INFO), per-CPU bring-up
 * (DISABLE, mask and clear every interrupt, ENABLE), IRQ entry = one ACKNOWLEDGE, completion = CLEAR_MASKED
 * (preceded by RESAMPLE for level interrupts), IPIs = SIGNAL to a target MPIDR, and moving an untrusted
 * interrupt to another vCPU (mask, rVID MAP, transfer pending, unmask).
 *
 * Register use: x0..x3 carry the SMCCC call, x4..x6 are scratch; register operands of these macros must be
 * x7 or above (or the slot register itself).
 *
 * @module
 */
import type { GuestAsm } from '@irqflow/core';
import { RVIC_SPURIOUS, RVIC_VERSION, RvicCall, RvidCall, rvicFid, rvidFid } from '../abi';

/** A call operand: an immediate, or `{ r: n }` for register xn. */
export type RvicArg = number | { readonly r: number };

function load(a: GuestAsm, slot: number, arg: RvicArg): void {
  if (typeof arg === 'number') a.movi(slot, arg);
  else if (arg.r !== slot) a.mov(slot, arg.r);
}

/** Emits an SMCCC call `fid` with up to three operands (x1..x3). Status lands in x0, result in x1. */
export function emitSmccc(a: GuestAsm, fid: number, ...args: RvicArg[]): void {
  args.forEach((arg, i) => load(a, i + 1, arg));
  a.movi(0, fid).hvc(0);
}

/** Emits rVIC call `call`. */
export function emitRvic(a: GuestAsm, call: RvicCall, ...args: RvicArg[]): void {
  emitSmccc(a, rvicFid(call), ...args);
}

/** Emits rVID call `call`. */
export function emitRvid(a: GuestAsm, call: RvidCall, ...args: RvicArg[]): void {
  emitSmccc(a, rvidFid(call), ...args);
}

/** rd = this CPU's MPIDR affinity (MPIDR_EL1 without bit 31 / U / MT). */
export function emitSelfMpidr(a: GuestAsm, rd: number): void {
  a.mrs(rd, 'MPIDR_EL1').andi(rd, rd, 0xff00ffffffn);
}

/**
 * Probe: VERSION must be 0.3 (else branch to `fail`); INFO gives the trusted / untrusted counts in
 * `rTrusted` / `rUntrusted`.
 */
export function emitProbe(a: GuestAsm, opts: { fail: string; rTrusted: number; rUntrusted: number }): void {
  emitRvic(a, RvicCall.VERSION);
  a.cbnz(0, opts.fail).bnei(1, RVIC_VERSION, opts.fail);
  emitRvic(a, RvicCall.INFO, 0);
  a.cbnz(0, opts.fail).mov(opts.rTrusted, 1);
  emitRvic(a, RvicCall.INFO, 1);
  a.cbnz(0, opts.fail).mov(opts.rUntrusted, 1);
}

/** Per-CPU bring-up: DISABLE, SET_MASKED + CLEAR_PENDING for every interrupt 0..nrTotal−1, ENABLE. */
export function emitCpuBringUp(a: GuestAsm, nrTotal: number): void {
  const loop = a.fresh('rvic_init');
  emitRvic(a, RvicCall.DISABLE);
  emitSelfMpidr(a, 4);
  a.movi(5, 0).label(loop);
  emitRvic(a, RvicCall.SET_MASKED, { r: 4 }, { r: 5 });
  emitRvic(a, RvicCall.CLEAR_PENDING, { r: 4 }, { r: 5 });
  a.addi(5, 5, 1).bloi(5, nrTotal, loop);
  emitRvic(a, RvicCall.ENABLE);
}

/** IRQ entry: one ACKNOWLEDGE; rd = intid, or {@link RVIC_SPURIOUS} when nothing (or disabled). */
export function emitAcknowledge(a: GuestAsm, rd: number): void {
  const none = a.fresh('rvic_none');
  const done = a.fresh('rvic_acked');
  emitRvic(a, RvicCall.ACKNOWLEDGE);
  a.cbnz(0, none).mov(rd, 1).b(done);
  a.label(none).movi(rd, RVIC_SPURIOUS);
  a.label(done);
}

/** Completion of the interrupt in `rs` on this CPU: RESAMPLE (level only), then CLEAR_MASKED. */
export function emitComplete(a: GuestAsm, rs: number, level = false): void {
  if (level) emitRvic(a, RvicCall.RESAMPLE, { r: rs });
  emitSelfMpidr(a, 4);
  emitRvic(a, RvicCall.CLEAR_MASKED, { r: 4 }, { r: rs });
}

/** Unmasks `intid` on the CPU with MPIDR `mpidr` (immediate or register). */
export function emitUnmask(a: GuestAsm, mpidr: RvicArg, intid: RvicArg): void {
  emitRvic(a, RvicCall.CLEAR_MASKED, mpidr, intid);
}

/** Sends IPI `intid` to the CPU whose MPIDR is in `rMpidr` (SIGNAL). */
export function emitSignal(a: GuestAsm, rMpidr: number, intid: number): void {
  emitRvic(a, RvicCall.SIGNAL, { r: rMpidr }, intid);
}

/**
 * Moves untrusted interrupt `intid`, fed by rVID `input`, from the CPU with MPIDR `from` to the CPU with
 * MPIDR `to`: SET_MASKED on the old CPU, rVID MAP to the new one, IS_PENDING on the old CPU and, if pending,
 * CLEAR_PENDING there + SIGNAL on the new CPU, then CLEAR_MASKED on the new CPU (unless `unmask` is false).
 */
export function emitMove(a: GuestAsm, m: { input: number; intid: number; from: number; to: number; unmask?: boolean }): void {
  const skip = a.fresh('rvic_moved');
  emitRvic(a, RvicCall.SET_MASKED, m.from, m.intid);
  emitRvid(a, RvidCall.MAP, m.input, m.to, m.intid);
  emitRvic(a, RvicCall.IS_PENDING, m.from, m.intid);
  a.cbz(1, skip);
  emitRvic(a, RvicCall.CLEAR_PENDING, m.from, m.intid);
  emitRvic(a, RvicCall.SIGNAL, m.to, m.intid);
  a.label(skip);
  if (m.unmask !== false) emitRvic(a, RvicCall.CLEAR_MASKED, m.to, m.intid);
}
