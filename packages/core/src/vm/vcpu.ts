/**
 * A simulated vCPU: the guest's architectural state (x0..x30, PC, PSTATE.DAIF, ELR_EL1/SPSR_EL1), its virtual
 * IRQ/FIQ inputs, its local simulated clock and counters, and the steps of KVM's run loop around guest execution:
 * entry (flushHwstate), exit (syncHwstate, the exit's cost), exception entry, block in WFI, load/put. The
 * interpreter that executes the program one operation at a time between them is guest-interpreter.ts.
 *
 * The hot path (untrapped operations, trapped accesses handled in the kernel) allocates nothing.
 *
 * @module
 */
import { toBig } from '../bits';
import { COST_COMPONENT_COUNT, CostComponent } from '../cost/cost-component';
import { EXIT_ENTRY_FRACTION } from '../cost/cost-profile';
import type { GuestImage } from '../guest/guest-isa';
import type { MmioValue } from '../mmio/mmio-bus';
import type { HostEvent } from '../sched/event-queue';
import { ExitReason, VcpuStats } from '../stats/counters';
import { TraceKind } from '../trace/trace';
import { KvmExitReason, KvmRun, SystemEventType } from './kvm-run';
import { Pending } from './vcpu-access';
import { getMpState, MpState, setMpState } from './mp-state';
import { getOneReg, regList, setOneReg, vcpuAttrGroup } from './one-reg';
import { Errno, fail } from '../errno';
import type { Vm } from './vm';
import { runSlice, SPSR_DAIF_SHIFT, STACK_DEPTH } from './guest-interpreter';

/** What a run slice ended with. */
export const enum SliceEnd {
  /** Reached the time limit; still runnable. */
  Limit = 0,
  /** Blocked in WFI. */
  Blocked = 1,
  /** Needs userspace (vcpu.kvmRun says why). */
  User = 2,
  /** Powered off. */
  Stopped = 3,
}

/** vCPU request bits (kvm_make_request). */
export const REQ_KICK = 1;
/** A maintenance interrupt or other hardware condition forces an exit at the next operation boundary. */
export const REQ_EXIT = 2;

/** The cost component of an exit, by {@link ExitReason}. */
const EXIT_COMPONENT = new Uint8Array([
  CostComponent.MmioKernel,
  CostComponent.MmioUser,
  CostComponent.SysregTrap,
  CostComponent.Hvc,
  CostComponent.Hvc,
  CostComponent.Wfi,
  CostComponent.IrqExit,
  CostComponent.MmioUser,
  CostComponent.Hvc,
]);

/**
 * A vCPU. Create with {@link Vm.createVcpu}; give it a program with {@link Vcpu.setProgram}.
 *
 * @example
 * ```ts
 * import { GuestAsm, Hypervisor, PSCI } from '@irqflow/core';
 *
 * const vm = new Hypervisor().createVm();
 * const vcpu = vm.createVcpu();
 * const a = new GuestAsm();
 * a.label('main').movi(1, 10).movi(2, 0);
 * a.label('loop').addi(2, 2, 3).addi(1, 1, -1).cbnz(1, 'loop');
 * a.movi(0, PSCI.SYSTEM_OFF).hvc();
 * vcpu.setProgram(a.build());
 * const r = vm.run();
 * console.log(r.reason, vcpu.x(2), JSON.stringify(vm.stats().exitsByReason));
 * // → shutdown 30 {"hvc":1,"system-event":1}
 * ```
 */
export class Vcpu {
  /** Local simulated clock (ns). */
  clock = 0;
  /** @internal runnable-heap position */
  heapPos = -1;
  /** x0..x30 bits [31:0] (index 31 is XZR, always 0). */
  readonly xlo = new Uint32Array(32);
  /** x0..x30 bits [63:32]. */
  readonly xhi = new Uint32Array(32);
  /** Program counter (instruction index). */
  pc = 0;
  /** PSTATE.DAIF as a 4-bit value (D=8, A=4, I=2, F=1). Reset: all masked. */
  daif = 0xf;
  /** ELR_EL1 (instruction index). */
  elr = 0;
  /** SPSR_EL1 (DAIF at bits [9:6]). */
  spsr = 0;
  /** regs.sp (SP_EL0): kept for KVM_SET/GET_ONE_REG; the model's guests run in EL1h and never use it. */
  spEl0 = 0n;
  /** PSTATE without DAIF (the mode field M[4:0], NZCV, …), kept for ONE_REG. Reset: EL1h. */
  pstateOther = 5n;
  /** spsr[1..4] of `struct kvm_regs` (the AArch32 banked SPSRs), kept for ONE_REG. */
  readonly spsrBanked: bigint[] = [0n, 0n, 0n, 0n];
  /** The guest program. */
  image: GuestImage | null = null;
  /** Virtual IRQ input, driven by the controller (or by KVM_IRQ_LINE type CPU without an in-kernel irqchip). */
  virq = false;
  /** Virtual FIQ input. */
  vfiq = false;
  /** Multiprocessing state. */
  mp = MpState.Runnable;
  /** Between flushHwstate and the next exit. */
  inGuest = false;
  /** Between vcpuLoad and vcpuPut. */
  loaded = false;
  /** Whether the vCPU has entered KVM_RUN once. */
  hasRun = false;
  /** Pending request bits ({@link REQ_KICK}, {@link REQ_EXIT}), acted on at the next operation boundary. */
  requests = 0;
  /**
   * @internal When the loop must look at its signals next (simulated ns): -1 when {@link requests} are set, else the
   * earliest delivery time of a posted signal ({@link postedAt}, {@link linesAt}), +Infinity when none.
   */
  signalAt = Infinity;
  /** @internal Delivery time of the posted request bits {@link posted} (a kick or exit from another vCPU or the host). */
  postedAt = Infinity;
  /** @internal Request bits posted by another vCPU or the host, due at {@link postedAt}. */
  posted = 0;
  /** @internal Delivery time of a posted line signal ({@link Vm.signalVcpu}): the controller re-drives the lines then. */
  linesAt = Infinity;
  /** IRQ input level set by KVM_IRQ_LINE without an in-kernel irqchip; reaches {@link virq} after its delivery latency. */
  irqInput = false;
  /** FIQ input level set by KVM_IRQ_LINE without an in-kernel irqchip; reaches {@link vfiq} after its delivery latency. */
  fiqInput = false;
  /**
   * The exact limit of the current run slice (simulated ns): operations others could observe execute only
   * before it. {@link Vm.schedule} lowers it when a host event earlier than it is armed mid-slice (a timer the
   * vCPU just programmed), so the event fires on time.
   */
  sliceLimit = Infinity;
  /**
   * The ahead limit of the current run slice: vCPU-local operations execute before it (the scheduler's
   * conservative lookahead). Never below {@link Vcpu.sliceLimit}.
   */
  aheadLimit = Infinity;
  /** @internal When the interpreter next runs its operation-boundary checks (guest-interpreter.ts boundaryAt). */
  boundaryAt = Infinity;
  /** High half of a system-register read (handlers set it). */
  sysHi = 0;
  /** Counters. */
  readonly stats = new VcpuStats();
  /**
   * Simulated ns charged to this vCPU by named cost component, indexed by {@link CostComponent} (plain guest
   * instructions are not accumulated: they are the busy time left over). See {@link costBreakdown}.
   */
  readonly costBy = new Float64Array(COST_COMPONENT_COUNT);
  /** @internal The re-entry part of the last exit's cost ({@link EXIT_ENTRY_FRACTION}), paid on entering the guest. */
  reentryNs = 0;
  /** @internal The {@link CostComponent} of that exit (its cost is in {@link costBy} in full; see `paidCostBy`). */
  reentryComponent = 0;
  /** Exit record handed to userspace. */
  readonly kvmRun = new KvmRun();
  /** Per-extension state ({@link VcpuSlot}). */
  readonly slots: unknown[] = [];
  /** MPIDR affinity (Aff2.Aff1.Aff0 as KVM assigns it: Aff0 = id[3:0], Aff1 = id[11:4], Aff2 = id[19:12]). */
  readonly mpidr: number;

  /** @internal The host event that wakes this vCPU, blocked, when a signal posted to it arrives (Vm.armSignalWake). */
  signalWake: HostEvent | null = null;
  /** @internal Blocked in WFI (or suspended): the next slice first re-checks for a wake-up. */
  inWfi = false;
  /** @internal The clock when the vCPU blocked (for blockedNs). */
  blockStart = 0;
  /** KVM_MP_STATE_SUSPENDED: waiting for a wake-up event, then KVM_RUN exits with KVM_SYSTEM_EVENT_WAKEUP. */
  suspended = false;
  /**
   * @internal Simulated ns the next exit charges on top of its own cost (carried by snapshots). Snapshot version
   * 2 folded the controller state on the vCPU's behalf and deferred the difference here; since version 3 the
   * save changes nothing (vm-snapshot.ts), so nothing sets it and it stays 0.
   */
  deferredExitNs = 0;
  /** @internal A userspace exit waiting for KVM_RUN to resume it (vcpu-access.ts). */
  pending = Pending.None;
  /** @internal The register an MMIO read completes into. */
  pendingReg = 0;
  /** @internal The width of the pending MMIO read. */
  pendingLen = 0;
  /** @internal The model's PUSH/POP stack, bits [31:0] of each entry (guest-interpreter.ts). */
  readonly stackLo = new Uint32Array(STACK_DEPTH);
  /** @internal Bits [63:32] of each stack entry. */
  readonly stackHi = new Uint32Array(STACK_DEPTH);
  /** @internal Entries on the stack. */
  sp = 0;
  /** @internal Scratch value of an in-kernel MMIO access (no allocation per access). */
  readonly acc: MmioValue = { lo: 0, hi: 0 };

  /**
   * @param vm - the VM
   * @param id - the vCPU id given to KVM_CREATE_VCPU
   * @param index - creation order (0-based)
   */
  constructor(
    readonly vm: Vm,
    readonly id: number,
    readonly index: number,
  ) {
    this.mpidr = (id & 0xf) | (((id >> 4) & 0xff) << 8) | (((id >> 12) & 0xff) << 16);
  }

  // ---- registers ---------------------------------------------------------------------------------------

  /** Register `i` as a number (exact below 2^53). */
  x(i: number): number {
    return this.xhi[i] * 4294967296 + this.xlo[i];
  }

  /** Register `i` as a bigint (all 64 bits). */
  xBig(i: number): bigint {
    return toBig(this.xlo[i], this.xhi[i]);
  }

  /** Sets register `i` from a safe integer (negative values are two's complement). */
  setX(i: number, v: number): void {
    if (i >= 31) return;
    if (v >= 0 && v < 4294967296) {
      this.xlo[i] = v;
      this.xhi[i] = 0;
    } else if (v < 0 && v >= -2147483648) {
      this.xlo[i] = v >>> 0;
      this.xhi[i] = 0xffffffff;
    } else {
      const b = BigInt.asUintN(64, BigInt(Math.trunc(v)));
      this.xlo[i] = Number(b & 0xffffffffn);
      this.xhi[i] = Number(b >> 32n);
    }
  }

  /** Sets register `i` from 32-bit halves. */
  setX64(i: number, lo: number, hi: number): void {
    if (i >= 31) return;
    this.xlo[i] = lo;
    this.xhi[i] = hi;
  }

  /** MPIDR_EL1 as the guest reads it (bit 31 RES1). */
  get mpidrEl1(): number {
    return (this.mpidr | 0x80000000) >>> 0;
  }

  /**
   * Loads a program and resets the guest state: PC at label `entry` (default `main`, else 0), interrupts
   * masked, registers zero.
   */
  setProgram(image: GuestImage, entry = 'main'): void {
    this.image = image;
    this.pc = image.labels.get(entry) ?? 0;
    this.daif = 0xf;
    this.xlo.fill(0);
    this.xhi.fill(0);
    this.sp = 0;
    this.pstateOther = 5n;
    if (this.mp === MpState.Stopped && this.hasRun === false) this.mp = MpState.Runnable;
  }

  /** Sets a request bit; the vCPU acts on it at its next operation boundary (a request of its own: no latency). */
  request(bits: number): void {
    this.requests |= bits;
    this.signalAt = -1;
  }

  /**
   * Forces an exit at the next operation boundary (a maintenance interrupt from the virtual interface). Asked by
   * the vCPU itself it is immediate; asked by another vCPU or the host it is a signal with a delivery latency
   * ({@link Vm.postRequest}).
   */
  requestExit(): void {
    if (this.vm.scheduler.current === this) this.request(REQ_EXIT);
    else this.vm.postRequest(this, REQ_EXIT);
  }

  /**
   * @internal Posts request bits from another vCPU or the host, due at the scheduler's stamped signal time
   * (Scheduler.stampSignal, stored in a field: an argument would be boxed). The earliest posted time wins: a kick
   * exits and flushes everything shared so far.
   */
  post(bits: number): void {
    const at = this.vm.scheduler.signalTime;
    this.posted |= bits;
    if (at < this.postedAt) this.postedAt = at;
    if (at < this.signalAt) this.signalAt = at;
    if (this.mp === MpState.Halted) this.vm.armSignalWake(this);
  }

  /** @internal Posts a line signal (Vm.signalVcpu) due at the scheduler's stamped signal time. */
  postLines(): void {
    const at = this.vm.scheduler.signalTime;
    if (at < this.linesAt) this.linesAt = at;
    if (at < this.signalAt) this.signalAt = at;
    if (this.mp === MpState.Halted) this.vm.armSignalWake(this);
  }

  /**
   * @internal Delivers the posted signals due at the vCPU's clock: posted request bits join {@link requests},
   * a due line signal makes the controller re-drive the lines. Leaves {@link signalAt} at the next one.
   */
  takeSignals(): void {
    const clock = this.clock;
    if (clock >= this.postedAt) {
      this.requests |= this.posted;
      this.posted = 0;
      // eslint-disable-next-line no-loss-of-precision -- +Infinity as a literal on purpose (see Scheduler.run)
      this.postedAt = 1e999;
    }
    if (clock >= this.linesAt) {
      // eslint-disable-next-line no-loss-of-precision -- +Infinity as a literal on purpose (see Scheduler.run)
      this.linesAt = 1e999;
      this.vm.flow.vcpuSignalled(this);
    }
    this.nextSignal();
  }

  /** @internal Recomputes {@link signalAt} from the requests and posted signals. */
  nextSignal(): void {
    this.signalAt = this.requests !== 0 ? -1 : this.postedAt < this.linesAt ? this.postedAt : this.linesAt;
  }

  /**
   * Adds `ns` of simulated time to this vCPU, attributed to cost component `component` (controllers charge
   * list-register accesses, SGI dispatch, ITS commands …).
   */
  charge(ns: number, component: CostComponent = CostComponent.LrAccess): void {
    this.clock += ns;
    this.costBy[component] += ns;
  }

  /** Whether the vCPU is blocked in WFI. */
  get blocked(): boolean {
    return this.mp === MpState.Halted;
  }

  // ---- ONE_REG and vCPU attributes (see one-reg.ts) -------------------------------------------------------

  /** KVM_GET_ONE_REG. @throws KvmError ENOENT for an unknown register id */
  getOneReg(id: bigint): bigint {
    return getOneReg(this, id);
  }

  /** KVM_SET_ONE_REG. @throws KvmError ENOENT for an unknown register id, EINVAL for a bad value */
  setOneReg(id: bigint, value: bigint): void {
    setOneReg(this, id, value);
  }

  /** KVM_GET_REG_LIST: every id {@link getOneReg} accepts. */
  regList(): bigint[] {
    return regList(this);
  }

  /** KVM_GET_MP_STATE ({@link @irqflow/core!KvmMpState | KvmMpState}). */
  getMpState(): number {
    return getMpState(this);
  }

  /**
   * KVM_SET_MP_STATE. RUNNABLE powers the vCPU on where it is (a WFI it was blocked in completes); STOPPED
   * powers it off (as PSCI CPU_OFF); HALTED blocks it in WFI, SUSPENDED suspends it until a wake-up event.
   * @throws KvmError EINVAL for any other value (KVM's answer), leaving the state unchanged
   * @example
   * ```ts
   * const s = src.vcpus[0].getMpState(); // KvmMpState.HALTED while blocked in WFI
   * dst.vcpus[0].setMpState(s);
   * ```
   */
  setMpState(state: number): void {
    setMpState(this, state);
  }

  /** Number of entries on the model's PUSH/POP stack (SP_EL1 / 8 through ONE_REG). */
  get stackDepth(): number {
    return this.sp;
  }

  /** Capacity of the model's stack in entries. */
  get stackCapacity(): number {
    return STACK_DEPTH;
  }

  /** @internal Sets the stack depth (ONE_REG SP_EL1 validates it). */
  setStackDepth(depth: number): void {
    this.sp = depth;
  }

  /**
   * Stack entry `i` (0 = bottom). The model keeps the stack PUSH/POP use beside the vCPU rather than in guest
   * RAM: these accessors stand for the guest memory SP_EL1 points at, which a VMM saves with the rest of RAM.
   */
  stackEntry(i: number): bigint {
    return toBig(this.stackLo[i], this.stackHi[i]);
  }

  /** Writes stack entry `i` (0 = bottom). @throws KvmError EFAULT outside the stack */
  setStackEntry(i: number, value: bigint): void {
    if (!Number.isInteger(i) || i < 0 || i >= STACK_DEPTH) fail(Errno.EFAULT, `stack entry ${i} is outside the ${STACK_DEPTH}-entry stack`);
    const v = BigInt.asUintN(64, value);
    this.stackLo[i] = Number(v & 0xffffffffn);
    this.stackHi[i] = Number(v >> 32n);
  }

  /** KVM_SET_DEVICE_ATTR on the vCPU fd. @throws KvmError ENXIO for an unknown group */
  setAttr(group: number, attr: bigint, value: bigint): void {
    vcpuAttrGroup(this, group).set(this, attr, value);
  }

  /** KVM_GET_DEVICE_ATTR on the vCPU fd. @throws KvmError ENXIO for an unknown group */
  getAttr(group: number, attr: bigint): bigint {
    return vcpuAttrGroup(this, group).get(this, attr);
  }

  /** KVM_HAS_DEVICE_ATTR on the vCPU fd. */
  hasAttr(group: number, attr: bigint): boolean {
    const g = this.vm.vcpuAttrGroups.get(group);
    return g ? g.has(this, attr) : false;
  }

  // ---- scheduling hooks ---------------------------------------------------------------------------------

  /**
   * @internal Called by the VM when a kick or an interrupt makes a blocked vCPU runnable, at the signal's delivery
   * time the scheduler stamped (read here: a non-integer time passed as an argument would be boxed on the heap at
   * every wake).
   */
  wake(): void {
    if (this.mp !== MpState.Halted) return;
    const c = this.vm.costNs;
    // at the delivery time of the waking signal (the sender's instant plus ipiLatency: Scheduler.stampSignal)
    const now = this.vm.scheduler.signalTime;
    this.mp = MpState.Runnable;
    if (now > this.clock) this.clock = now;
    this.stats.blockedNs += this.clock - this.blockStart;
    if (this.vm.trace.on) this.vm.trace.emit(TraceKind.Wake, this.vm.id, this.index, this.clock, 0, this.clock - this.blockStart);
    // the idle pCPU takes the waking interrupt, reschedules the vCPU thread and loads the vCPU
    // (added in place: a double passed as an argument would be boxed at every wake)
    this.clock += c.hostIrq + c.wfiWake;
    this.costBy[CostComponent.HostIrq] += c.hostIrq;
    this.costBy[CostComponent.WfiWake] += c.wfiWake;
  }

  /** @internal Powers the vCPU on at `entry` (PSCI CPU_ON). */
  powerOn(now: number, entry: number, context: number): void {
    // a vCPU that turned itself off never came back from that call: no re-entry part of its exit is left to pay
    this.reentryNs = 0;
    this.mp = MpState.Runnable;
    if (now > this.clock) this.clock = now;
    this.pc = entry;
    this.daif = 0xf;
    this.setX(0, context);
  }

  // ---- the interpreter ----------------------------------------------------------------------------------

  /**
   * @internal Runs the vCPU (at least one operation) until it blocks, needs userspace, stops, or reaches the
   * slice's limits ({@link sliceLimit}, {@link aheadLimit}, stored by the caller first): the interpreter's
   * runSlice (guest-interpreter.ts).
   */
  runSlice(): SliceEnd {
    return runSlice(this);
  }

  /** @internal Takes an exception to `vector` at the current PC (ELR, SPSR, DAIF masked, charged, counted). */
  takeException(vector: number): void {
    this.elr = this.pc;
    this.spsr = this.daif << SPSR_DAIF_SHIFT;
    this.daif = 0xf;
    this.pc = vector;
    const x = this.vm.costNs.exception;
    this.clock += x;
    this.costBy[CostComponent.Exception] += x;
    this.stats.irqsTaken++;
    if (this.vm.trace.on) this.vm.trace.emit(TraceKind.IrqTaken, this.vm.id, this.index, this.clock, 0, 0);
  }

  /**
   * @internal Leaves the guest: syncHwstate, charge the exit, count it. The part of the exit's cost paid before
   * its handler runs ({@link EXIT_ENTRY_FRACTION}) is charged now, the rest when the vCPU enters the guest again
   * ({@link enterGuest}: after KVM_RUN resumes it from userspace, after a wake-up from WFI). What the handler
   * produces (a kick, an SGI, an exit request, a line signal, an MSI) carries the vCPU's clock at that instant:
   * the midpoint of the trap plus what the handler charged before it.
   */
  exitGuest(reason: ExitReason, costNs: number): void {
    this.inGuest = false;
    this.vm.flow.vcpuSyncHwstate(this);
    if (this.deferredExitNs !== 0) {
      this.clock += this.deferredExitNs;
      this.deferredExitNs = 0;
    }
    const t0 = this.clock;
    const entry = costNs * EXIT_ENTRY_FRACTION;
    this.clock += entry;
    this.reentryNs += costNs - entry;
    this.costBy[(this.reentryComponent = EXIT_COMPONENT[reason])] += costNs;
    this.stats.exits[reason]++;
    if (this.vm.trace.on) this.vm.trace.emit(TraceKind.Exit, this.vm.id, this.index, t0, reason, costNs);
  }

  /**
   * @internal Schedules the vCPU in (kvm_arch_vcpu_load): the controller's vcpuLoad, then each VM extension's
   * (kvm_vgic_load before kvm_timer_vcpu_load). KVM loads a vCPU at every KVM_RUN and after every block, so the
   * arch timer re-derives its host interrupt's active state here also after a return from userspace.
   */
  load(): void {
    this.vm.flow.vcpuLoad(this);
    const exts = this.vm.hv.extensions;
    for (let i = 0; i < exts.length; i++) exts[i].vcpuLoad?.(this);
    this.loaded = true;
  }

  /**
   * @internal Schedules the vCPU out (kvm_arch_vcpu_put): each VM extension's vcpuPut (kvm_timer_vcpu_put), then
   * the controller's (kvm_vgic_put). KVM puts a vCPU before it blocks and when KVM_RUN returns to userspace.
   */
  put(): void {
    const exts = this.vm.hv.extensions;
    for (let i = 0; i < exts.length; i++) exts[i].vcpuPut?.(this);
    this.vm.flow.vcpuPut(this);
    this.loaded = false;
  }

  /** @internal Enters the guest: pay the rest of the last exit, consume requests, flushHwstate. */
  enterGuest(): void {
    this.clock += this.reentryNs;
    this.reentryNs = 0;
    this.requests = 0;
    this.nextSignal();
    this.vm.flow.vcpuFlushHwstate(this);
    this.inGuest = true;
  }

  /** @internal Blocks in WFI: the vCPU is put and halted until a wake-up. */
  block(): SliceEnd {
    const flow = this.vm.flow;
    flow.vcpuBlocking(this);
    this.put();
    this.mp = MpState.Halted;
    this.inWfi = true;
    this.blockStart = this.clock;
    this.stats.blocks++;
    // a signal posted before the block and not yet delivered wakes it when it arrives (an IPI reaching an idle pCPU)
    // eslint-disable-next-line no-loss-of-precision -- +Infinity as a literal on purpose (see Scheduler.run)
    if (this.postedAt < 1e999 || this.linesAt < 1e999) this.vm.armSignalWake(this);
    if (this.vm.trace.on) this.vm.trace.emit(TraceKind.Block, this.vm.id, this.index, this.clock, 0, 0);
    return SliceEnd.Blocked;
  }

  /** @internal Delivers a synchronous exception for a faulting instruction at `pc` (UNDEF, external abort). */
  guestFault(pc: number): void {
    this.stats.faults++;
    if (this.vm.trace.on) this.vm.trace.emit(TraceKind.Custom, this.vm.id, this.index, this.clock, 0xfa, pc);
    const v = this.image?.vectors.sync ?? -1;
    this.clock += this.vm.costNs.cycle;
    if (v >= 0) {
      this.elr = pc + 1;
      this.spsr = this.daif << SPSR_DAIF_SHIFT;
      this.daif = 0xf;
      this.pc = v;
    } else {
      this.pc = pc + 1;
    }
  }

  /** @internal A suspended vCPU got a wake-up event: KVM_RUN exits with KVM_SYSTEM_EVENT_WAKEUP, the vCPU is runnable. */
  wakeupExit(): SliceEnd {
    this.suspended = false;
    const run = this.kvmRun;
    run.exitReason = KvmExitReason.SystemEvent;
    run.systemEvent = SystemEventType.Wakeup;
    this.stats.exits[ExitReason.SystemEvent]++;
    this.put();
    return SliceEnd.User;
  }

  /** @internal Stops the vCPU with KVM_EXIT_INTERNAL_ERROR (`msg` in the exit record). */
  internalError(msg: string): SliceEnd {
    this.mp = MpState.Stopped;
    this.inGuest = false;
    this.kvmRun.exitReason = KvmExitReason.InternalError;
    this.kvmRun.internalError = msg;
    return SliceEnd.User;
  }

  /** @internal PSCI SYSTEM_OFF/RESET: report a system event to userspace and stop the VM's vCPUs. */
  raiseSystemEvent(type: SystemEventType): void {
    const run = this.kvmRun;
    run.exitReason = KvmExitReason.SystemEvent;
    run.systemEvent = type;
    this.stats.exits[ExitReason.SystemEvent]++;
    this.pending = Pending.SystemEvent;
    this.vm.systemEvent(this);
  }
}
