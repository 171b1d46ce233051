/**
 * The guest interpreter: how a vCPU executes its program inside KVM's run loop (kvm_arch_vcpu_ioctl_run) —
 * entry (flushHwstate) → guest operations → exit (trap) → syncHwstate → handle the exit → back in — one
 * operation of the {@link GuestImage} at a time. An IRQ (FIQ) exception is taken at an operation boundary when
 * the virtual IRQ (FIQ) input is asserted and PSTATE.I (F) is clear (Arm DDI 0487, D1.3 "Exceptions"); ERET
 * returns from it. Accesses, hypercalls, WFI and guest hooks go through vcpu-access.ts and the {@link Vcpu}.
 *
 * A slice runs until the vCPU blocks, needs userspace, stops, or reaches the scheduler's limits: operations
 * others could observe (exits, guest hooks, non-local accesses) only before {@link Vcpu.sliceLimit} (exact
 * order), vCPU-local ones before {@link Vcpu.aheadLimit} (the conservative lookahead; scheduler.ts).
 *
 * The hot path (untrapped operations, trapped accesses handled in the kernel) allocates nothing.
 *
 * @module
 */
import { CostComponent } from '../cost/cost-component';
import { Insn, INSN_WORDS, Op, type GuestImage } from '../guest/guest-isa';
import { ExitReason } from '../stats/counters';
import { MpState } from './mp-state';
import { completeUserExit, hypercall, memAccess, Pending, sysregAccess, WAIT } from './vcpu-access';
import { REQ_KICK, SliceEnd, type Vcpu } from './vcpu';

/** @internal Entries of the model's PUSH/POP stack. */
export const STACK_DEPTH = 1024;
/** @internal Where SPSR_EL1 keeps DAIF (bits [9:6]). */
export const SPSR_DAIF_SHIFT = 6;
/** Operations that always execute in exact order under the lookahead (exits and guest hooks), by opcode. */
const ORDERED_OPS = new Uint8Array(256);
for (const o of [Op.HVC, Op.SMC, Op.WFI, Op.CALL, Op.CALLB]) ORDERED_OPS[o] = 1;
/** log2({@link INSN_WORDS}): an instruction's first word is at `pc << INSN_SHIFT`. */
const INSN_SHIFT = 31 - Math.clz32(INSN_WORDS);

/**
 * @internal Runs the vCPU (at least one operation) until it blocks, needs userspace, stops, or its clock
 * reaches {@link sliceLimit} before an operation others could observe, or {@link aheadLimit} before a
 * vCPU-local one (the scheduler's conservative lookahead). The caller stores both limits first: passed as
 * arguments, two non-integer numbers would be boxed on the heap at every slice (about 32 bytes, half a slice
 * per LPI under lpi-stress), which the fields, stored in place, are not.
 */
export function runSlice(v: Vcpu): SliceEnd {
  const vm = v.vm;
  const flow = vm.flow;
  if (!v.loaded) v.load();
  if (v.clock >= v.signalAt) v.takeSignals();
  // `=== true` on the flags the wake-up path finds set: a plain test of a value V8 has no type for is the generic
  // ToBoolean (a check against every falsy kind of value), a comparison is one compare (vcpu-access.ts sysregAccess)
  if (v.inWfi === true) {
    v.inWfi = false;
    flow.vcpuUnblocking(v);
    if (flow.vcpuPendingIrq(v) !== true && (v.requests & REQ_KICK) === 0) return v.block();
    if (v.suspended) return v.wakeupExit();
  }
  if (v.pending !== Pending.None) completeUserExit(v);
  const img = v.image;
  if (img === null) return v.internalError('no guest program loaded');
  if (!v.inGuest) v.enterGuest();

  const c = vm.costNs;
  const cycle = c.cycle;
  const code = img.code;
  const xlo = v.xlo;
  const xhi = v.xhi;
  const stats = v.stats;
  // the image's code and vectors in locals: one property load per slice, not per operation
  const len = img.length;
  const vIrq = img.vectors.irq;
  const vFiq = img.vectors.fiq;
  // `executed` counts every action of the slice (operations, IRQ exits, exception entries): only the first may
  // pass a limit. `actions` counts the IRQ exits and exception entries among them (they are not operations).
  let executed = 0;
  let actions = 0;
  // The PC and the clock live in locals while the loop runs: they are stored back before anything that reads or
  // changes them through `v` (exits, exceptions, accesses, hooks) and loaded again after it.
  let pc = v.pc;
  let clock = v.clock;
  // The operation boundary's checks (a due signal, the ahead limit, a deliverable IRQ/FIQ) run only once the clock
  // reaches `stop` (boundaryAt): nothing the fast path does changes what they look at but DAIF, after which `stop`
  // is recomputed, as it is after everything that goes through `v`.
  boundaryAt(v, vIrq, vFiq);
  let stop = v.boundaryAt;
  let end: SliceEnd;
  for (;;) {
    if (clock >= stop) {
      v.pc = pc;
      v.clock = clock;
      const r = boundary(v, executed, vIrq, vFiq);
      if (r === Boundary.Limit) {
        end = SliceEnd.Limit;
        break;
      }
      if (r === Boundary.Action) {
        pc = v.pc;
        clock = v.clock;
        executed++;
        actions++;
      }
      boundaryAt(v, vIrq, vFiq);
      stop = v.boundaryAt;
      // after an action, back to the top: a signal that came due during it, and the limits, are looked at first
      if (r === Boundary.Action) continue;
    }
    if (pc < 0 || pc >= len) {
      if (executed > 0 && clock >= v.sliceLimit) {
        end = SliceEnd.Limit;
        break;
      }
      v.pc = pc;
      v.clock = clock;
      stats.ops += executed - actions;
      return v.internalError(`PC ${pc} is outside the program`);
    }
    const p = pc << INSN_SHIFT;
    const o = code[p + Insn.Op] as Op;
    executed++;
    switch (o) {
      case Op.NOP:
        clock += cycle;
        pc++;
        continue;
      case Op.MOVI: {
        const d = code[p + Insn.A];
        if (d !== 31) {
          xlo[d] = code[p + Insn.ImmLo] >>> 0;
          xhi[d] = code[p + Insn.ImmHi] >>> 0;
        }
        clock += cycle;
        pc++;
        continue;
      }
      case Op.MOV: {
        const d = code[p + Insn.A];
        const n = code[p + Insn.B];
        if (d !== 31) {
          xlo[d] = xlo[n];
          xhi[d] = xhi[n];
        }
        clock += cycle;
        pc++;
        continue;
      }
      case Op.ADDI: {
        const d = code[p + Insn.A];
        const n = code[p + Insn.B];
        const s = xlo[n] + (code[p + Insn.ImmLo] >>> 0);
        const carry = s > 0xffffffff ? 1 : 0;
        if (d !== 31) {
          xhi[d] = (xhi[n] + (code[p + Insn.ImmHi] >>> 0) + carry) >>> 0;
          xlo[d] = s >>> 0;
        }
        clock += cycle;
        pc++;
        continue;
      }
      case Op.ANDI:
      case Op.ORRI:
      case Op.EORI: {
        const d = code[p + Insn.A];
        const n = code[p + Insn.B];
        if (d !== 31) {
          const l = code[p + Insn.ImmLo] >>> 0;
          const h = code[p + Insn.ImmHi] >>> 0;
          xlo[d] = o === Op.ANDI ? xlo[n] & l : o === Op.ORRI ? xlo[n] | l : xlo[n] ^ l;
          xhi[d] = o === Op.ANDI ? xhi[n] & h : o === Op.ORRI ? xhi[n] | h : xhi[n] ^ h;
        }
        clock += cycle;
        pc++;
        continue;
      }
      case Op.LSRI:
      case Op.LSLI: {
        const d = code[p + Insn.A];
        if (d !== 31) {
          // 64-bit shift on the two halves (no BigInt on the hot path)
          const n = code[p + Insn.B];
          const sh = code[p + Insn.C] & 63;
          const l = xlo[n];
          const h = xhi[n];
          let rl: number;
          let rh: number;
          if (sh === 0) {
            rl = l;
            rh = h;
          } else if (o === Op.LSRI) {
            if (sh < 32) {
              rl = ((l >>> sh) | (h << (32 - sh))) >>> 0;
              rh = h >>> sh;
            } else {
              rl = h >>> (sh - 32);
              rh = 0;
            }
          } else if (sh < 32) {
            rh = ((h << sh) | (l >>> (32 - sh))) >>> 0;
            rl = (l << sh) >>> 0;
          } else {
            rh = (l << (sh - 32)) >>> 0;
            rl = 0;
          }
          xlo[d] = rl;
          xhi[d] = rh;
        }
        clock += cycle;
        pc++;
        continue;
      }
      case Op.B:
        clock += cycle;
        pc = code[p + Insn.C];
        continue;
      case Op.BL:
        clock += cycle;
        xlo[30] = pc + 1;
        xhi[30] = 0;
        pc = code[p + Insn.C];
        continue;
      case Op.RET:
        clock += cycle;
        pc = xlo[30];
        continue;
      case Op.CBZ:
      case Op.CBNZ: {
        const n = code[p + Insn.A];
        const zero = xlo[n] === 0 && xhi[n] === 0;
        clock += cycle;
        pc = zero === (o === Op.CBZ) ? code[p + Insn.C] : pc + 1;
        continue;
      }
      case Op.BEQI:
      case Op.BNEI:
      case Op.BLOI:
      case Op.BHSI: {
        const n = code[p + Insn.A];
        const vh = xhi[n];
        const vl = xlo[n];
        const ih = code[p + Insn.ImmHi] >>> 0;
        const il = code[p + Insn.ImmLo] >>> 0;
        let t: boolean;
        if (o === Op.BEQI) t = vh === ih && vl === il;
        else if (o === Op.BNEI) t = vh !== ih || vl !== il;
        else {
          const lo = vh < ih || (vh === ih && vl < il);
          t = o === Op.BLOI ? lo : !lo;
        }
        clock += cycle;
        pc = t ? code[p + Insn.C] : pc + 1;
        continue;
      }
      case Op.DAIFSET:
        v.daif |= code[p + Insn.A];
        clock += cycle;
        pc++;
        boundaryAt(v, vIrq, vFiq);
        stop = v.boundaryAt;
        continue;
      case Op.DAIFCLR:
        v.daif &= ~code[p + Insn.A] & 0xf;
        clock += cycle;
        pc++;
        boundaryAt(v, vIrq, vFiq);
        stop = v.boundaryAt;
        continue;
      case Op.ERET:
        v.daif = (v.spsr >>> SPSR_DAIF_SHIFT) & 0xf;
        pc = v.elr;
        clock += c.exception;
        v.costBy[CostComponent.Exception] += c.exception;
        boundaryAt(v, vIrq, vFiq);
        stop = v.boundaryAt;
        continue;
      case Op.PUSH: {
        if (v.sp >= STACK_DEPTH) break;
        const n = code[p + Insn.A];
        v.stackLo[v.sp] = xlo[n];
        v.stackHi[v.sp++] = xhi[n];
        clock += cycle;
        pc++;
        continue;
      }
      case Op.POP: {
        if (v.sp <= 0) break;
        const d = code[p + Insn.A];
        v.sp--;
        if (d !== 31) {
          xlo[d] = v.stackLo[v.sp];
          xhi[d] = v.stackHi[v.sp];
        }
        clock += cycle;
        pc++;
        continue;
      }
      case Op.WORK:
        clock += ((code[p + Insn.ImmHi] >>> 0) * 4294967296 + (code[p + Insn.ImmLo] >>> 0)) * cycle;
        pc++;
        continue;
    }
    // `exact`: this vCPU has not passed the next-furthest one, so it may do what others can observe; else only
    // vCPU-local operations run (the scheduler's lookahead). Loads and system registers decide per access.
    const exact = executed === 1 || clock < v.sliceLimit;
    if (ORDERED_OPS[o] === 1 && !exact) {
      executed--;
      end = SliceEnd.Limit;
      break;
    }
    // everything else reads or changes the vCPU through `v`
    v.pc = pc;
    v.clock = clock;
    const r = slowOp(v, img, o, pc, exact);
    pc = v.pc;
    clock = v.clock;
    boundaryAt(v, vIrq, vFiq);
    stop = v.boundaryAt;
    if (r === -1) continue;
    if (r === WAIT) {
      executed--;
      end = SliceEnd.Limit;
      break;
    }
    stats.ops += executed - actions;
    return r;
  }
  v.pc = pc;
  v.clock = clock;
  stats.ops += executed - actions;
  return end;
}

/** What {@link boundary} did. */
const enum Boundary {
  /** Nothing: the operation at the PC executes. */
  None = 0,
  /** An IRQ exit or an exception entry (the PC and the clock are in `v`). */
  Action = 1,
  /** The slice ends at its limit. */
  Limit = 2,
}

/**
 * Sets {@link Vcpu.boundaryAt}, when the loop must run the operation boundary's checks ({@link boundary}) next: at
 * once (-1) when an IRQ or FIQ is deliverable, else when a posted signal comes due or the ahead limit is reached,
 * whichever is first. Stored in a field, not returned: a non-integer time returned by a call the JIT does not
 * inline is boxed on the heap.
 */
function boundaryAt(v: Vcpu, vIrq: number, vFiq: number): void {
  // (`=== true`: one compare, not the generic ToBoolean; see runSlice)
  if ((v.virq === true && (v.daif & 2) === 0 && vIrq >= 0) || (v.vfiq === true && (v.daif & 1) === 0 && vFiq >= 0)) v.boundaryAt = -1;
  else v.boundaryAt = v.signalAt < v.aheadLimit ? v.signalAt : v.aheadLimit;
}

/**
 * The checks at an operation boundary, in order: requests of its own (signalAt -1) or a posted signal now due
 * (an IRQ exit if it leaves requests), the ahead limit, a deliverable IRQ, then FIQ (exception entry). `executed`
 * actions so far in the slice: only the first may pass a limit. The loop stores its PC and clock in `v` first (a
 * non-integer clock passed as an argument would be boxed on the heap).
 */
function boundary(v: Vcpu, executed: number, vIrq: number, vFiq: number): Boundary {
  const clock = v.clock;
  if (clock >= v.signalAt) {
    v.takeSignals();
    if (v.requests !== 0) {
      // the exit (sync, flush) happens in exact order: not once this vCPU has passed the next-furthest one
      if (executed > 0 && clock >= v.sliceLimit) return Boundary.Limit;
      const c = v.vm.costNs;
      v.exitGuest(ExitReason.Irq, c.irqExit);
      // the host takes the physical interrupt and comes back through the run loop's checks
      v.clock += c.hostIrq;
      v.costBy[CostComponent.HostIrq] += c.hostIrq;
      if ((v.requests & REQ_KICK) !== 0) v.stats.kicks++;
      v.enterGuest();
      return Boundary.Action;
    }
  }
  if (executed > 0 && clock >= v.aheadLimit) return Boundary.Limit;
  if (v.virq === true && (v.daif & 2) === 0 && vIrq >= 0) {
    v.takeException(vIrq);
    return Boundary.Action;
  }
  if (v.vfiq === true && (v.daif & 1) === 0 && vFiq >= 0) {
    v.takeException(vFiq);
    return Boundary.Action;
  }
  return Boundary.None;
}

/**
 * The operations that go through `v` (accesses, hypercalls, WFI, hooks, faults), out of the loop's hot
 * body. Returns -1 to continue, WAIT if the operation must wait for exact order, else how the slice ends.
 */
function slowOp(v: Vcpu, img: GuestImage, o: Op, pc: number, exact: boolean): number {
  switch (o) {
    case Op.LDR:
    case Op.STR:
      return memAccess(v, img, pc, o === Op.STR, exact);
    case Op.MRS:
    case Op.MSR:
      return sysregAccess(v, img, pc, o === Op.MSR, exact);
    case Op.HVC:
    case Op.SMC:
      v.pc = pc + 1;
      return hypercall(v, o === Op.SMC);
    case Op.WFI:
      v.pc = pc + 1;
      v.exitGuest(ExitReason.Wfi, v.vm.costNs.wfi);
      if (v.vm.flow.vcpuPendingIrq(v)) {
        v.enterGuest();
        return -1;
      }
      return v.block();
    case Op.CALL:
      v.pc = pc + 1;
      img.fn[pc]!(v);
      if (v.mp !== MpState.Runnable) return v.mp === MpState.Stopped ? SliceEnd.Stopped : SliceEnd.Blocked;
      return -1;
    case Op.CALLB:
      v.pc = img.fn[pc]!(v) === true ? img.code[pc * INSN_WORDS + Insn.C] : pc + 1;
      v.clock += v.vm.costNs.cycle;
      return -1;
    default:
      // an undefined opcode, or PUSH/POP past the stack
      v.guestFault(pc);
      return -1;
  }
}
