/**
 * A versioned VM snapshot built from the KVM-shaped calls only, in the order a VMM migrates a VM (QEMU's
 * savevm/loadvm; Documentation/virt/kvm/api.rst KVM_GET/SET_ONE_REG, KVM_GET/SET_MP_STATE, device attributes,
 * devices/arm-vgic-its.rst "ITS Restore Sequence"): devices flush what they keep in guest memory, guest memory,
 * per vCPU the core registers (ONE_REG), the stack, the extensions' registers (the timer's ONE_REGs) and the
 * MP state, then every device's state through its attributes. Core knows no controller: the device part comes
 * from {@link KvmDevice.saveState}/{@link KvmDevice.restoreState} and the extension part from
 * {@link VmExtension.saveVcpu}/{@link VmExtension.restoreVcpu}.
 *
 * **The host side.** Besides guest state a snapshot carries the simulation's own clock: the VM's simulated time
 * and every vCPU's local clock (the model's stand-in for the host's wall clock, which on a real host just goes on),
 * and where each vCPU's thread is in KVM_RUN (inside the guest or not, pending kick/exit requests), and the causal
 * model's run-loop position, which no KVM ABI carries (version 2): signals in flight with their arrival times and
 * the host events that wake a blocked vCPU at them, and the line clock of guest memory (cacheLineTransfer); the
 * controller's part of it (GICv4 vPE entries' arrival times) travels in its device state.
 *
 * **A pure observation.** A migration point is a `vm.run({ until })` boundary, where vCPUs may still be "inside
 * the guest" with the controller's hardware state (list registers) loaded. Real KVM cannot read that: the VMM
 * stops every vCPU first (KVM_RUN returns to userspace), and that exit folds the list registers back into the
 * distributor (vgic_sync_hwstate) — which changes timing and state on the source: the exit itself costs time, the
 * fold deactivates what EOIcount counted and resamples level interrupts, and the re-entry's flush loads
 * interrupts whose kick is still in flight, so they are taken earlier than they would have been. irqflow's save
 * instead changes nothing on the source (no fold, no refill, no charge, no trace) and the source continues
 * exactly as a run that was never saved. What it reads:
 * - through the KVM-shaped calls (ONE_REG, MP_STATE, device attributes, guest memory): the state as a VMM would
 *   read it after stopping the vCPUs. The vgic's attribute reads already look into the list registers of a
 *   vCPU in the guest (pending/active as the LR shows them), so no fold is needed to read them;
 * - irqflow-private, version 3 (what no KVM call can express, because KVM never has it to give): per vCPU in the
 *   guest the controller's loaded vCPU interface state (`hwstate`, from `IrqchipFlow.vcpuSaveHwstate`: which
 *   interrupt sits in which list register with which LR state, the raw distributor-side state of those
 *   interrupts, ICH_HCR_EL2's maintenance enables and EOIcount), and per vCPU the virtual IRQ/FIQ lines as it
 *   sees them (`lines`). The restore installs `hwstate` instead of a fresh flush on the destination's entry, so
 *   that entry loads nothing the source had not loaded, and sets the lines last;
 * - irqflow-private, host side (versions 1 and 2): clocks, run-loop position, re-entry cost, cost breakdown.
 * A controller whose flush only drives the lines from its own state (rVIC, pic) needs no `hwstate`: the
 * restore's entry flushes, then the saved lines replace what that flush computed.
 *
 * @example
 * ```ts
 * const snap = saveVm(src);              // src stopped at a run({ until }) boundary
 * const dst = buildSameVm(new Hypervisor().use(...));  // same vCPUs, controller, memory, programs
 * restoreVm(dst, snap);
 * dst.run({ until: tEnd });              // continues as src would
 * ```
 *
 * @module
 */
import type { KvmDevice } from '../device/kvm-device';
import { Errno, KvmError } from '../errno';
import type { MemorySlot } from '../memory/guest-memory';
import type { SavedLineClock } from '../memory/line-clock';
import { coreRegId } from './one-reg';
import { CpuIrqLines, cpuIrqLines, savedCpuIrqLines, type SavedCpuIrqLines } from './cpu-irq-lines';
import { Pending } from './vcpu-access';
import type { Vcpu } from './vcpu';
import type { Vm } from './vm';

/** The snapshot format tag. */
export const VM_SNAPSHOT_FORMAT = 'irqflow-vm-snapshot';
/** The snapshot format version this build writes and reads. */
export const VM_SNAPSHOT_VERSION = 3;
/** Number of `struct kvm_regs` fields saved through ONE_REG (x0..x30, SP, PC, PSTATE, SP_EL1, ELR_EL1, SPSR[5]). */
const NR_CORE_REGS = 41;
const MEM_CHUNK = 4096;

/** Why a snapshot call failed. */
export type VmSnapshotErrorReason = 'format' | 'version' | 'config' | 'unsupported' | 'busy';

/** The typed error of {@link saveVm} / {@link restoreVm}; a KvmError, so it carries an errno too. */
export class VmSnapshotError extends KvmError {
  /**
   * @param reason - what kind of mismatch
   * @param errno - EINVAL (format, version, config), EOPNOTSUPP (a device without save hooks), EBUSY (busy)
   * @param message - what differs
   */
  constructor(
    readonly reason: VmSnapshotErrorReason,
    errno: Errno,
    message: string,
  ) {
    super(errno, `VM snapshot: ${message}`);
    this.name = 'VmSnapshotError';
  }
}

/** What must be the same on the VM a snapshot is restored into. */
export interface VmSnapshotConfig {
  /** vCPU ids in creation order. */
  readonly vcpuIds: readonly number[];
  /** Cost profile name. */
  readonly costProfile: string;
  /** Conservative lookahead (ns). */
  readonly lookaheadNs: number;
  /** The in-kernel irqchip's flow name, or null. */
  readonly irqchip: string | null;
  /** Devices in creation order (KVM device type numbers). */
  readonly devices: readonly number[];
  /** VM extensions by name. */
  readonly extensions: readonly string[];
  /** Memory slots. */
  readonly memorySlots: readonly MemorySlot[];
  /** Instruction count of every vCPU's program (0 = none). */
  readonly programLengths: readonly number[];
}

/** One vCPU in a snapshot. */
export interface VcpuSnapshot {
  /** ONE_REG (id, value) pairs of the core registers, in `struct kvm_regs` order. */
  readonly regs: readonly (readonly [bigint, bigint])[];
  /** The stack SP_EL1 covers, bottom first (guest memory on a real VM; the model keeps it beside the vCPU). */
  readonly stack: readonly bigint[];
  /** KVM_GET_MP_STATE. */
  readonly mpState: number;
  /** Each extension's {@link VmExtension.saveVcpu} result, by extension name. */
  readonly extensions: Readonly<Record<string, unknown>>;
  /** Host side: the vCPU's local simulated clock (ns) and when it blocked. */
  readonly clock: number;
  /** Host side: the clock at which it blocked in WFI (for blocked-time accounting). */
  readonly blockStart: number;
  /** Host side: the vCPU has entered KVM_RUN once (its first-run work is done). */
  readonly hasRun: boolean;
  /** Host side: the vCPU thread is inside the guest (KVM_RUN entered, not exited). */
  readonly inGuest: boolean;
  /** Host side: pending vCPU requests (a kick or a forced exit it has not acted on yet). */
  readonly requests: number;
  /** Host side: blocked in WFI, or woken from it and not yet back in the guest (the next KVM_RUN unblocks first). */
  readonly inWfi: boolean;
  /** Host side: what the vCPU's next exit charges on top of its cost (0 unless a controller deferred part of it). */
  readonly deferredExitNs: number;
  /**
   * Host side: the second part of the last exit's cost, paid when the vCPU re-enters the guest (EXIT_ENTRY_FRACTION;
   * non-zero while it is blocked or out in userspace).
   */
  readonly reentryNs: number;
  /** Host side: simulated ns charged so far per cost component (CostComponent order), so the breakdown continues. */
  readonly costBy: readonly number[];
  /** Run-loop position: request bits another vCPU or the host posted (a kick, an exit request) still in flight. */
  readonly posted: number;
  /** Run-loop position: when {@link posted} arrives (ns; +Infinity when nothing is in flight). */
  readonly postedAt: number;
  /** Run-loop position: when a line signal in flight arrives (Vm.signalVcpu; +Infinity when none). */
  readonly linesAt: number;
  /** Run-loop position: when the host event that wakes the blocked vCPU at a signal's arrival fires, or null when not armed. */
  readonly signalWakeAt: number | null;
  /** Without an in-kernel irqchip: the KVM_IRQ_LINE input levels (IRQ, FIQ) that reach the lines when a line signal arrives. */
  readonly inputs: readonly [irq: boolean, fiq: boolean];
  /**
   * irqflow-private (version 3): the virtual IRQ and FIQ lines (HCR_EL2.VI/VF, or the GIC CPU interface's vIRQ/vFIQ)
   * as the vCPU sees them at the save, which a change whose signal is still in flight has not reached yet.
   */
  readonly lines: readonly [virq: boolean, vfiq: boolean];
  /**
   * irqflow-private (version 3): for a vCPU inside the guest, the controller's loaded vCPU interface state
   * (`IrqchipFlow.vcpuSaveHwstate`: the vgic's list registers, which interrupt sits in which with which
   * state, ICH_HCR_EL2's maintenance enables and EOIcount), which the destination's entry installs instead of a
   * fresh flush; null otherwise or when the controller keeps no such state.
   */
  readonly hwstate: unknown;
  /**
   * irqflow-private (version 3): without an in-kernel irqchip, the KVM_IRQ_LINE level changes still in flight to
   * the vCPU and the levels it last sampled (null when no line was ever driven): a change a VMM made just before
   * the save reaches the destination's guest at its own due time, not at the first entry.
   */
  readonly cpuLines: SavedCpuIrqLines | null;
}

/** A VM snapshot ({@link saveVm}). Plain data; bigints and Uint8Arrays (structured-clone friendly). */
export interface VmSnapshot {
  /** {@link VM_SNAPSHOT_FORMAT}. */
  readonly format: string;
  /** {@link VM_SNAPSHOT_VERSION}. */
  readonly version: number;
  /** What the destination must match. */
  readonly config: VmSnapshotConfig;
  /** Host side: the VM's simulated time (ns). */
  readonly time: number;
  /** Host side: the time device state was read at (host events up to it have fired; see saveVm). */
  readonly deviceTime: number;
  /** Guest memory: the chunks ever written, as (guest physical address, bytes). */
  readonly memory: readonly (readonly [number, Uint8Array])[];
  /** vCPUs in creation order. */
  readonly vcpus: readonly VcpuSnapshot[];
  /** Each device's {@link KvmDevice.saveState} result, in creation order. */
  readonly devices: readonly unknown[];
  /** Run-loop position: when each guest RAM line stored to becomes visible to the other vCPUs (cacheLineTransfer). */
  readonly lines: SavedLineClock;
}

function configOf(vm: Vm): VmSnapshotConfig {
  return {
    vcpuIds: vm.vcpus.map((v) => v.id),
    costProfile: vm.cost.name,
    lookaheadNs: vm.lookaheadNs,
    irqchip: vm.hasIrqchip ? vm.flow.name : null,
    devices: vm.devices.map((d) => d.type),
    extensions: vm.extensions.map((e) => e.name),
    memorySlots: vm.memory.memorySlots.map((s) => ({ slot: s.slot, guestPhysAddr: s.guestPhysAddr, size: s.size })),
    programLengths: vm.vcpus.map((v) => v.image?.length ?? 0),
  };
}

function busy(vm: Vm): void {
  if (vm.scheduler.current !== null) throw new VmSnapshotError('busy', Errno.EBUSY, 'a vCPU is running (called from inside vm.run)');
  for (const v of vm.vcpus)
    if (v.pending !== Pending.None)
      throw new VmSnapshotError('busy', Errno.EBUSY, `vCPU ${v.index} is in a userspace exit: complete it with vm.run first`);
}

function unsupported(vm: Vm): void {
  for (const d of vm.devices)
    if (d.saveState === undefined || d.restoreState === undefined)
      throw new VmSnapshotError('unsupported', Errno.EOPNOTSUPP, `device ${d.name} (type ${d.type}) has no save/restore`);
}

/**
 * Runs `fn` as vCPU `v` would at its own clock (so what it records carries the vCPU's time) and puts the clock
 * back afterwards: the save and restore load and sync the controller state without charging for it.
 */
function asVcpu(v: Vcpu, fn: () => void): number {
  const s = v.vm.scheduler;
  const clock = v.clock;
  const prev = s.current;
  s.current = v;
  let charged: number;
  try {
    fn();
  } finally {
    s.current = prev;
    charged = v.clock - clock;
    v.clock = clock;
  }
  return charged;
}

/**
 * Saves `vm`, stopped at a `vm.run()` boundary, through the KVM-shaped calls plus the irqflow-private sections
 * (the module header says which). The save is a pure observation: the source goes on exactly as if it had never
 * been saved.
 * @throws VmSnapshotError EBUSY from inside `vm.run` or while a vCPU waits in a userspace exit; EOPNOTSUPP when
 * a device has no save hooks; KvmError from the device calls
 */
export function saveVm(vm: Vm): VmSnapshot {
  busy(vm);
  unsupported(vm);
  // Where the devices are read (and written back on restore): the time up to which host events have fired. A
  // vCPU may have run past a timer's expiry that is still queued (the expiry fires next, back in the past);
  // read at the vCPUs' time, the timer would already show it expired and the restore would fire it silently.
  const time = vm.scheduler.time;
  const next = vm.events.peekTime();
  // just before the next event (which must still find its device state as it was), else the VM's time
  const deviceTime = next <= time ? next - Math.max(Math.abs(next) * Number.EPSILON, Number.MIN_VALUE) : time;
  // the save reads; nothing it does belongs in the source's trace
  const traceOn = vm.trace.on;
  vm.trace.on = false;
  vm.scheduler.time = deviceTime;
  try {
    for (const d of vm.devices) d.saveToGuestMemory?.();
    const memory: [number, Uint8Array][] = [];
    for (const s of vm.memory.memorySlots) {
      const end = s.guestPhysAddr + s.size;
      for (let a = vm.memory.nextWrittenPage(s.guestPhysAddr, end); a >= 0 && a < end; a = vm.memory.nextWrittenPage(a, end)) {
        const len = Math.min(MEM_CHUNK - (a % MEM_CHUNK), end - a);
        memory.push([a, vm.memory.read(a, len)]);
        a += len;
      }
    }
    const vcpus = vm.vcpus.map((v): VcpuSnapshot => {
      const regs: [bigint, bigint][] = [];
      for (let i = 0; i < NR_CORE_REGS; i++) regs.push([coreRegId(i), v.getOneReg(coreRegId(i))]);
      const stack: bigint[] = [];
      for (let i = 0; i < v.stackDepth; i++) stack.push(v.stackEntry(i));
      const extensions: Record<string, unknown> = {};
      for (const e of vm.extensions) if (e.saveVcpu) extensions[e.name] = e.saveVcpu(v);
      const wake = v.signalWake;
      return {
        regs,
        stack,
        mpState: v.getMpState(),
        extensions,
        clock: v.clock,
        blockStart: v.blockStart,
        hasRun: v.hasRun,
        inGuest: v.inGuest,
        requests: v.requests,
        inWfi: v.inWfi,
        deferredExitNs: v.deferredExitNs,
        reentryNs: v.reentryNs,
        costBy: Array.from(v.costBy),
        posted: v.posted,
        postedAt: v.postedAt,
        linesAt: v.linesAt,
        signalWakeAt: wake !== null && wake.pending ? wake.time : null,
        inputs: [v.irqInput, v.fiqInput],
        lines: [v.virq, v.vfiq],
        hwstate: v.inGuest && vm.flow.hasHwstate ? vm.flow.vcpuSaveHwstate(v) : null,
        cpuLines: savedCpuIrqLines(v),
      };
    });
    const devices = vm.devices.map((d) => d.saveState!());
    return {
      format: VM_SNAPSHOT_FORMAT,
      version: VM_SNAPSHOT_VERSION,
      config: configOf(vm),
      time,
      deviceTime,
      memory,
      vcpus,
      devices,
      lines: vm.lines.save(),
    };
  } finally {
    vm.scheduler.time = time;
    vm.trace.on = traceOn;
  }
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Checks that `snap` can be restored into `vm` (format, version, configuration); throws otherwise.
 * @throws VmSnapshotError EINVAL naming the first difference; EBUSY when a vCPU of `vm` already ran
 */
export function checkVmSnapshot(vm: Vm, snap: VmSnapshot): void {
  if (snap === null || typeof snap !== 'object' || snap.format !== VM_SNAPSHOT_FORMAT)
    throw new VmSnapshotError('format', Errno.EINVAL, 'not an irqflow VM snapshot');
  if (snap.version !== VM_SNAPSHOT_VERSION)
    throw new VmSnapshotError('version', Errno.EINVAL, `version ${String(snap.version)}; this build reads version ${VM_SNAPSHOT_VERSION}`);
  const want = configOf(vm);
  const have = snap.config;
  for (const k of Object.keys(want) as (keyof VmSnapshotConfig)[])
    if (!same(want[k], have?.[k]))
      throw new VmSnapshotError(
        'config',
        Errno.EINVAL,
        `${k} differs: snapshot ${JSON.stringify(have?.[k])}, this VM ${JSON.stringify(want[k])}`,
      );
  if (snap.vcpus.length !== vm.vcpus.length || snap.devices.length !== vm.devices.length)
    throw new VmSnapshotError('config', Errno.EINVAL, 'vCPU or device count differs from the snapshot configuration');
  snap.vcpus.forEach((s, i) => {
    const time = (x: unknown): boolean => typeof x === 'number' && !Number.isNaN(x);
    if (
      !Number.isInteger(s?.posted) ||
      !(typeof s.reentryNs === 'number' && Number.isFinite(s.reentryNs) && s.reentryNs >= 0) ||
      !Array.isArray(s.costBy) ||
      s.costBy.length !== vm.vcpus[i].costBy.length ||
      !s.costBy.every((x) => typeof x === 'number' && Number.isFinite(x)) ||
      s.posted < 0 ||
      !time(s.postedAt) ||
      !time(s.linesAt) ||
      !(s.signalWakeAt === null || (time(s.signalWakeAt) && Number.isFinite(s.signalWakeAt))) ||
      !Array.isArray(s.inputs) ||
      s.inputs.length !== 2 ||
      !s.inputs.every((x) => typeof x === 'boolean') ||
      !Array.isArray(s.lines) ||
      s.lines.length !== 2 ||
      !s.lines.every((x) => typeof x === 'boolean') ||
      (s.hwstate === undefined && s.inGuest) ||
      !(s.cpuLines === null || new CpuIrqLines().restore(s.cpuLines))
    )
      throw new VmSnapshotError('format', Errno.EINVAL, `vCPU ${i}: malformed run-loop position`);
  });
  if (vm.flow.hasHwstate) {
    // the controller checks the loaded vCPU interface states now, before the restore changes anything
    try {
      vm.flow.checkHwstate(
        vm,
        snap.vcpus.map((s) => (s.inGuest ? s.hwstate : null)),
      );
    } catch (e) {
      if (e instanceof KvmError) throw new VmSnapshotError('format', e.errno, `hwstate: ${e.message}`);
      throw e;
    }
  }
  if (vm.anyVcpuRan) throw new VmSnapshotError('busy', Errno.EBUSY, 'restore into a fresh VM: a vCPU has already run');
  unsupported(vm);
}

/**
 * Restores `snap` into `vm`: a fresh VM of the same configuration (same vCPUs, controller set up the same way,
 * same devices, memory slots and guest programs, no vCPU run yet). Afterwards `vm.run()` continues where the
 * source stopped.
 * @throws VmSnapshotError (EINVAL, EBUSY, EOPNOTSUPP) before anything is changed; KvmError from a device or
 * register call that refuses the saved state
 */
export function restoreVm(vm: Vm, snap: VmSnapshot): void {
  checkVmSnapshot(vm, snap);
  // the restore is set-up, not part of the run: what the devices record while their state is written back (a
  // timer re-driving its line at enable) is not traced
  const trace = vm.trace.on;
  vm.trace.on = false;
  try {
    restoreInto(vm, snap);
  } finally {
    vm.trace.on = trace;
  }
}

function restoreInto(vm: Vm, snap: VmSnapshot): void {
  // host side first: the clock the timers and every device read, as on the source when it was saved
  if (!(snap.deviceTime <= snap.time)) throw new VmSnapshotError('format', Errno.EINVAL, 'deviceTime is after time');
  // the line clock first: it checks itself before it changes anything
  vm.lines.restore(snap.lines);
  vm.scheduler.time = snap.deviceTime;
  vm.vcpus.forEach((v, i) => {
    v.clock = snap.vcpus[i].clock;
    [v.irqInput, v.fiqInput] = snap.vcpus[i].inputs;
    const lines = snap.vcpus[i].cpuLines;
    if (lines !== null) cpuIrqLines(v).restore(lines); // checked by checkVmSnapshot
  });
  for (const [addr, data] of snap.memory) vm.memory.write(addr, data);
  vm.devices.forEach((d: KvmDevice, i) => d.restoreState!(snap.devices[i]));
  vm.vcpus.forEach((v, i) => {
    const s = snap.vcpus[i];
    for (const [id, value] of s.regs) v.setOneReg(id, value);
    s.stack.forEach((x, k) => v.setStackEntry(k, x));
    for (const e of vm.extensions) if (e.restoreVcpu && s.extensions[e.name] !== undefined) e.restoreVcpu(v, s.extensions[e.name]);
  });
  // KVM_RUN with immediate_exit: the first-run work, then back in the guest where the source vCPU was
  vm.vcpus.forEach((v, i) => {
    if (snap.vcpus[i].hasRun) vm.firstRunNow(v);
  });
  vm.scheduler.time = snap.time;
  vm.vcpus.forEach((v, i) => {
    const s = snap.vcpus[i];
    v.setMpState(s.mpState);
    v.blockStart = s.blockStart;
    v.clock = s.clock;
    if (s.inWfi) {
      // where the source's vCPU blocked: the controller's blocking hook ran (GICv4: the doorbell is armed)
      asVcpu(v, () => {
        vm.flow.vcpuLoad(v);
        vm.flow.vcpuBlocking(v);
        vm.flow.vcpuPut(v);
      });
      v.inWfi = true;
    }
    if (s.inGuest) {
      asVcpu(v, () => {
        vm.flow.vcpuLoad(v);
        for (const e of vm.extensions) e.vcpuLoad?.(v);
        v.loaded = true;
        if (vm.flow.hasHwstate) {
          // back in the guest with the source's vCPU interface state (list registers) as it was loaded there:
          // a flush here would load what the source had not loaded yet (an interrupt whose kick is in flight)
          v.requests = 0;
          v.nextSignal();
          vm.flow.vcpuRestoreHwstate(v, s.hwstate);
          v.inGuest = true;
        } else v.enterGuest();
      });
    }
    v.requests = s.requests;
    v.deferredExitNs = s.deferredExitNs;
    // after the restore's own guest entry, which paid the fresh vCPU's (zero) re-entry part
    v.reentryNs = s.reentryNs;
    v.costBy.set(s.costBy);
  });
  // the run-loop position last: what the restore's own calls posted is replaced by what was in flight at the source
  vm.vcpus.forEach((v, i) => {
    const s = snap.vcpus[i];
    v.posted = s.posted;
    v.postedAt = s.postedAt;
    v.linesAt = s.linesAt;
    v.nextSignal();
    vm.restoreSignalWake(v, s.signalWakeAt);
    // the virtual IRQ/FIQ lines as the source's vCPU saw them (a change whose signal is in flight has not reached them)
    [v.virq, v.vfiq] = s.lines;
  });
}
