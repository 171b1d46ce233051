/**
 * A vCPU's operations that leave the core (Arm DDI 0487, D1 "The AArch64 System Level Programmers' Model": data
 * aborts on loads and stores, traps of MRS/MSR, HVC/SMC) as KVM handles them: RAM accesses in place; MMIO on an
 * in-kernel device or an untrapped frame; ioeventfds; KVM_EXIT_MMIO and KVM_EXIT_HYPERCALL to userspace and the
 * completion when KVM_RUN resumes; system registers trapped or served by the virtual CPU interface; SMCCC calls.
 * The interpreter loop (vcpu.ts) calls these for its non-ALU operations. They return -1 to continue, {@link WAIT}
 * when an access must wait for exact simulated-time order (the scheduler's lookahead), or how the slice ends.
 *
 * @module
 */
import { Insn, INSN_WORDS, type GuestImage } from '../guest/guest-isa';
import { CostComponent } from '../cost/cost-component';
import { archHypercall } from '../hypercall/psci';
import type { MmioRegion } from '../mmio/mmio-bus';
import { ExitReason, hypercallKey } from '../stats/counters';
import { TraceKind } from '../trace/trace';
import { KvmExitReason } from './kvm-run';
import type { SysregDecision } from '../sysreg/sysreg-table';
import { MpState } from './mp-state';
import { SliceEnd, type Vcpu } from './vcpu';

/** @internal What a userspace exit waits for when KVM_RUN resumes the vCPU. */
export const enum Pending {
  None = 0,
  MmioRead = 1,
  MmioWrite = 2,
  Hypercall = 3,
  SystemEvent = 4,
}

/** @internal Returned by an access that must wait until the vCPU is the furthest behind (exact order). */
export const WAIT = -2;

/** @internal Returns -1 to continue, WAIT if the access must wait for exact order, else a SliceEnd. */
export function memAccess(v: Vcpu, img: GuestImage, pc: number, isWrite: boolean, exact: boolean): number {
  const w = pc * INSN_WORDS;
  const code = img.code;
  const base = code[w + Insn.C];
  const width = code[w + Insn.B];
  const rt = code[w + Insn.A];
  let lo = code[w + Insn.ImmLo] >>> 0;
  let hi = code[w + Insn.ImmHi] >>> 0;
  if (base !== 31) {
    const s = v.xlo[base] + lo;
    hi = (v.xhi[base] + hi + (s > 0xffffffff ? 1 : 0)) >>> 0;
    lo = s >>> 0;
  }
  const vm = v.vm;
  if (hi >= 0x10000) {
    v.guestFault(pc);
    return -1;
  }
  const addr = hi * 4294967296 + lo;
  const mem = vm.memory;
  if (!exact) {
    // only an untrapped frame's vCPU-local access may run ahead; memory and exits wait for exact order
    const rg = vm.mmio.find(addr);
    if (
      rg === undefined ||
      rg.dev.untrapped === undefined ||
      rg.dev.localAccess === undefined ||
      !rg.dev.localAccess(v, addr - rg.base, isWrite)
    )
      return WAIT;
  }
  if (mem.isRam(addr, width)) {
    if (isWrite) {
      const vl = v.xlo[rt];
      if (width === 1) mem.writeU8(addr, vl & 0xff);
      else if (width === 2) mem.writeU16(addr, vl & 0xffff);
      else {
        mem.writeU32(addr, vl);
        if (width === 8) mem.writeU32(addr + 4, v.xhi[rt]);
      }
      vm.lines.store(addr, width, v);
    } else {
      // a line another vCPU stored to arrives cacheLineTransfer after that store: the load waits for it
      vm.lines.load(addr, width, v);
      if (rt !== 31) {
        v.xlo[rt] = width === 1 ? mem.readU8(addr) : width === 2 ? mem.readU16(addr) : mem.readU32(addr);
        v.xhi[rt] = width === 8 ? mem.readU32(addr + 4) : 0;
      }
    }
    v.clock += vm.costNs.cycle;
    v.pc = pc + 1;
    return -1;
  }
  const bus = vm.mmio;
  const region = bus.find(addr);
  if (region !== undefined && region.dev.untrapped !== undefined) return untrappedMmio(v, region, addr, pc, rt, width, isWrite);
  if (region !== undefined) {
    v.exitGuest(ExitReason.MmioKernel, vm.costNs.mmioKernel);
    if (deviceAccess(v, region, addr, rt, width, isWrite)) v.pc = pc + 1;
    else v.guestFault(pc);
    return afterKernelExit(v);
  }
  if (isWrite && bus.hasIoEventFds) {
    const vl = width === 1 ? v.xlo[rt] & 0xff : width === 2 ? v.xlo[rt] & 0xffff : v.xlo[rt];
    const fd = bus.findIoEventFd(addr, width, vl, width === 8 ? v.xhi[rt] : 0);
    if (fd !== null) {
      v.exitGuest(ExitReason.MmioKernel, vm.costNs.mmioKernel);
      v.pc = pc + 1;
      fd.signal(1);
      return afterKernelExit(v);
    }
  }
  v.exitGuest(ExitReason.MmioUser, vm.costNs.mmioUser);
  const run = v.kvmRun;
  run.exitReason = KvmExitReason.Mmio;
  run.mmio.physAddr = addr;
  run.mmio.len = width;
  run.mmio.isWrite = isWrite;
  run.mmio.data.fill(0);
  if (isWrite) {
    const dv = new DataView(run.mmio.data.buffer);
    dv.setUint32(0, v.xlo[rt], true);
    dv.setUint32(4, v.xhi[rt], true);
    if (width < 8) run.mmio.data.fill(0, width);
  }
  v.pending = isWrite ? Pending.MmioWrite : Pending.MmioRead;
  v.pendingReg = rt;
  v.pendingLen = width;
  v.pc = pc + 1;
  return toUser(v);
}

/** Performs a guest access on an in-kernel device; false = external abort. */
function deviceAccess(v: Vcpu, region: MmioRegion, addr: number, rt: number, width: number, isWrite: boolean): boolean {
  const acc = v.acc;
  const off = addr - region.base;
  if (isWrite) {
    acc.lo = width === 1 ? v.xlo[rt] & 0xff : width === 2 ? v.xlo[rt] & 0xffff : v.xlo[rt];
    acc.hi = width === 8 ? v.xhi[rt] : 0;
    return region.dev.write(v, off, width, acc);
  }
  acc.lo = 0;
  acc.hi = 0;
  const ok = region.dev.read(v, off, width, acc);
  if (ok && rt !== 31) {
    v.xlo[rt] = width === 1 ? acc.lo & 0xff : width === 2 ? acc.lo & 0xffff : acc.lo >>> 0;
    v.xhi[rt] = width === 8 ? acc.hi >>> 0 : 0;
  }
  return ok;
}

/** An access to a frame the hardware serves without a trap (MmioDevice.untrapped): no exit, charged its cost. */
function untrappedMmio(v: Vcpu, region: MmioRegion, addr: number, pc: number, rt: number, width: number, isWrite: boolean): number {
  const ns = v.vm.costNs[region.dev.untrapped!];
  v.clock += ns;
  v.costBy[region.untrappedComponent] += ns;
  v.stats.untrappedMmio++;
  if (deviceAccess(v, region, addr, rt, width, isWrite)) v.pc = pc + 1;
  else v.guestFault(pc);
  return v.mp !== MpState.Runnable ? (v.mp === MpState.Stopped ? SliceEnd.Stopped : SliceEnd.Blocked) : -1;
}

/** Hands the exit to userspace (KVM_RUN returns). */
function toUser(v: Vcpu): SliceEnd {
  v.put();
  return SliceEnd.User;
}

/** @internal Resumes after a userspace exit: an MMIO read's data goes to its register. */
export function completeUserExit(v: Vcpu): void {
  if (v.pending === Pending.MmioRead && v.pendingReg !== 31) {
    const d = v.kvmRun.mmio.data;
    const dv = new DataView(d.buffer);
    const w = v.pendingLen;
    v.xlo[v.pendingReg] = w === 1 ? d[0] : w === 2 ? dv.getUint16(0, true) : dv.getUint32(0, true);
    v.xhi[v.pendingReg] = w === 8 ? dv.getUint32(4, true) : 0;
  }
  v.pending = Pending.None;
  v.kvmRun.exitReason = KvmExitReason.None;
}

/** After an exit handled in the kernel: stop if the handler changed the vCPU's state, else re-enter. */
function afterKernelExit(v: Vcpu): number {
  if (v.mp !== MpState.Runnable) return v.mp === MpState.Stopped ? SliceEnd.Stopped : SliceEnd.Blocked;
  if (v.pending !== Pending.None) return toUser(v);
  v.enterGuest();
  return -1;
}

/** @internal MRS/MSR: UNDEFINED, trapped (an exit) or served by the hardware model; -1 to continue, WAIT, or a SliceEnd. */
export function sysregAccess(v: Vcpu, img: GuestImage, pc: number, write: boolean, inOrder: boolean): number {
  // Booleans compared with `true` once: V8 knows nothing of a parameter's or a field's type, and a plain `if (x)`
  // on such a value is the generic ToBoolean (a check against every falsy kind of value) at every use; a
  // comparison's result is known to be a boolean, so each later test is one compare.
  const isWrite = write === true;
  const exact = inOrder === true;
  const w = pc * INSN_WORDS;
  const enc = img.code[w + Insn.B];
  const rt = img.code[w + Insn.A];
  const entry = v.vm.sysregs.get(enc);
  if (entry === undefined || (isWrite ? entry.write === null : entry.read === null)) {
    v.guestFault(pc); // UNDEFINED: a vCPU-local outcome
    return -1;
  }
  const tf = entry.trapFn;
  const trapped = (tf === null ? entry.trapAlways : tf.call(entry.handler, v, isWrite)) === true;
  if (!exact) {
    if (trapped) return WAIT;
    const lf = entry.localFn;
    // a hot writer's own site for its per-access decision too (an EOI is local unless it reaches the host)
    const local =
      lf === null
        ? entry.localAlways
        : isWrite && entry.writeLane === 0
          ? (entry.handler.local as SysregDecision)(v, true)
          : lf.call(entry.handler, v, isWrite);
    if (local !== true) return WAIT;
  }
  if (trapped) {
    v.exitGuest(ExitReason.Sysreg, v.vm.costNs.sysregTrap);
    v.stats.trap(enc);
  } else {
    v.clock += entry.untrappedNs;
    v.costBy[entry.untrappedComponent] += entry.untrappedNs;
  }
  v.pc = pc + 1;
  // A hot accessor is called from a site of its own (SysregHandler.hot): there the JIT sees one function and
  // can inline it; the shared site sees every register's accessor.
  const h = entry.handler;
  if (isWrite) {
    const vlo = v.xlo[rt];
    const vhi = v.xhi[rt];
    const lane = entry.writeLane;
    if (lane === 0) h.write!(v, vlo, vhi);
    else if (lane === 1) h.write!(v, vlo, vhi);
    else if (lane === 2) h.write!(v, vlo, vhi);
    else entry.write!.call(h, v, vlo, vhi);
  } else {
    v.sysHi = 0;
    const lane = entry.readLane;
    const lo = lane === 0 ? h.read!(v) : lane === 1 ? h.read!(v) : lane === 2 ? h.read!(v) : entry.read!.call(h, v);
    if (rt !== 31) {
      v.xlo[rt] = lo >>> 0;
      v.xhi[rt] = v.sysHi >>> 0;
    }
  }
  return trapped ? afterKernelExit(v) : v.mp !== MpState.Runnable ? SliceEnd.Stopped : -1;
}

/** @internal HVC/SMC: an exit; the SMCCC call is filtered, forwarded to userspace, or handled in the kernel. */
export function hypercall(v: Vcpu, isSmc: boolean): number {
  const vm = v.vm;
  v.exitGuest(isSmc ? ExitReason.Smc : ExitReason.Hvc, vm.costNs.hvc);
  const fid = v.xlo[0];
  v.stats.trap(hypercallKey(fid));
  const action = vm.hypercalls.filterAction(fid);
  if (action === 'deny') v.setX(0, -1);
  else if (action === 'forward') {
    v.stats.exits[ExitReason.HypercallUser]++;
    const extra = vm.costNs.mmioUser - vm.costNs.hvc;
    v.clock += extra;
    v.costBy[CostComponent.MmioUser] += extra;
    const run = v.kvmRun;
    run.exitReason = KvmExitReason.Hypercall;
    run.hypercall.fid = fid;
    run.hypercall.args[0] = v.x(1);
    run.hypercall.args[1] = v.x(2);
    run.hypercall.args[2] = v.x(3);
    run.hypercall.isSmc = isSmc;
    v.pending = Pending.Hypercall;
    return toUser(v);
  } else {
    const r = vm.hypercalls.find(fid);
    if (r !== undefined) {
      r.handler(v, fid);
      if (vm.trace.on) vm.trace.emit(TraceKind.Hypercall, vm.id, v.index, v.clock, fid, v.x(0));
    } else archHypercall(v, fid);
  }
  return afterKernelExit(v);
}
