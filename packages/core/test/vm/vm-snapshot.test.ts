/**
 * The VM snapshot's own contract: what it carries (core registers, stack, MP state, memory), how it refuses a
 * snapshot of another version or configuration (VmSnapshotError, a KvmError with an errno, before anything
 * changes), and when it refuses to save (inside vm.run, during a userspace exit, a device without save hooks).
 */
import {
  DAIF,
  Errno,
  GuestAsm,
  type Hypervisor,
  KvmMpState,
  REQ_KICK,
  restoreVm,
  saveVm,
  VM_SNAPSHOT_VERSION,
  VmSnapshotError,
  type Vcpu,
  type Vm,
  type VmSnapshot,
} from '../../src';
import { tinyVm } from '../support/tiny-controller';

const RAM = 0x4000_0000;

function program(): ReturnType<GuestAsm['build']> {
  const a = new GuestAsm();
  a.label('main').movi(9, 0).daifclr(DAIF.I).label('l').addi(9, 9, 1).str(9, 31, RAM).work(20).b('l');
  a.label('irq').push(9).push(10).label('h').work(50).b('h');
  return a.build();
}

function build(n = 2): { hv: Hypervisor; vm: Vm } {
  const { hv, vm } = tinyVm(n);
  vm.setUserMemoryRegion({ slot: 0, guestPhysAddr: RAM, size: 0x10000 });
  for (const v of vm.vcpus) v.setProgram(program());
  return { hv, vm };
}

function thrown(fn: () => void): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('saveVm / restoreVm', () => {
  it('carries registers, the stack, memory, MP state and each vCPU clock; the restored VM runs on identically', () => {
    const a = build();
    a.vm.run({ until: 2000 });
    a.vm.irqLine(0x0100_0000 | 40, 1); // into vCPU 0's handler: pushes x9, x10
    a.vm.run({ until: 4000 });
    const snap = saveVm(a.vm);
    expect(snap.version).toBe(VM_SNAPSHOT_VERSION);
    expect(snap.vcpus[0].stack.length).toBe(2);
    expect(snap.memory.length).toBeGreaterThan(0);
    const b = build();
    restoreVm(b.vm, snap);
    expect(b.vm.vcpus.map((v: Vcpu) => [v.pc, v.elr, v.spsr, v.daif, v.stackDepth, v.clock, v.xBig(9)])).toEqual(
      a.vm.vcpus.map((v: Vcpu) => [v.pc, v.elr, v.spsr, v.daif, v.stackDepth, v.clock, v.xBig(9)]),
    );
    expect(b.vm.memory.readU32(RAM)).toBe(a.vm.memory.readU32(RAM));
    a.vm.run({ until: 9000 });
    b.vm.run({ until: 9000 });
    expect(b.vm.vcpus.map((v: Vcpu) => [v.pc, v.clock, v.xBig(9)])).toEqual(a.vm.vcpus.map((v: Vcpu) => [v.pc, v.clock, v.xBig(9)]));
  });

  it('carries the run-loop position: a kick in flight with its arrival time, and the line clock of shared memory', () => {
    const a = build();
    a.vm.run({ until: 3000 });
    a.vm.kickVcpu(a.vm.vcpus[0]); // from userspace: arrives ipiLatency after the VM's time
    const snap = saveVm(a.vm);
    expect(a.vm.costNs.ipiLatency).toBeGreaterThan(0);
    expect(snap.vcpus[0].posted).toBe(REQ_KICK);
    expect(snap.vcpus[0].postedAt).toBe(a.vm.scheduler.time + a.vm.costNs.ipiLatency);
    // both vCPUs store to the same line: its last writer and time decide when the other's next access completes
    expect(snap.lines.some(([, owner]) => owner === -1)).toBe(true);
    const b = build();
    restoreVm(b.vm, snap);
    expect([b.vm.vcpus[0].posted, b.vm.vcpus[0].postedAt]).toEqual([snap.vcpus[0].posted, snap.vcpus[0].postedAt]);
    expect(b.vm.lines.save()).toEqual(a.vm.lines.save());
    a.vm.run({ until: 9000 });
    b.vm.run({ until: 9000 });
    expect(b.vm.vcpus.map((v: Vcpu) => [v.stats.kicks, [...v.stats.exits], v.clock])).toEqual(
      a.vm.vcpus.map((v: Vcpu) => [v.stats.kicks, [...v.stats.exits], v.clock]),
    );
    expect(a.vm.vcpus[0].stats.kicks).toBe(1);
  });

  it('refuses a malformed run-loop position (EINVAL) before changing anything', () => {
    const a = build();
    a.vm.run({ until: 3000 });
    const snap = saveVm(a.vm);
    const b = build();
    const e = thrown(() => restoreVm(b.vm, { ...snap, lines: [[0, 5, 0, new Float64Array(3), null]] } as unknown as VmSnapshot));
    expect((e as VmSnapshotError).errno).toBe(Errno.EINVAL);
    expect(b.vm.vcpus.map((v: Vcpu) => v.clock)).toEqual([0, 0]);
    const noInputs = { ...snap, vcpus: snap.vcpus.map((v, i) => (i === 1 ? { ...v, inputs: undefined } : v)) } as unknown as VmSnapshot;
    const f = thrown(() => restoreVm(b.vm, noInputs));
    expect([(f as VmSnapshotError).reason, (f as VmSnapshotError).errno]).toEqual(['format', Errno.EINVAL]);
    restoreVm(b.vm, snap); // still a fresh VM
  });

  it('a vCPU powered off or halted comes back that way (MP_STATE)', () => {
    const a = build();
    a.vm.vcpus[1].setMpState(KvmMpState.STOPPED);
    a.vm.run({ until: 1000 });
    const b = build();
    restoreVm(b.vm, saveVm(a.vm));
    expect(b.vm.vcpus[1].getMpState()).toBe(KvmMpState.STOPPED);
    b.vm.run({ until: 5000 });
    expect(b.vm.vcpus[1].stats.ops).toBe(0);
  });

  it('is a pure observation (version 3): no fold or refill on the source, and the vIRQ line travels as the vCPU sees it', () => {
    const a = build();
    a.vm.run({ until: 3000 });
    // userspace queues an SPI for vCPU 0, which is in the guest: its kick is in flight, the line still low
    a.vm.irqLine((1 << 24) | 40, 1);
    const v0 = a.vm.vcpus[0];
    expect(v0.inGuest).toBe(true);
    expect(v0.virq).toBe(false);
    expect(v0.posted & REQ_KICK).toBe(REQ_KICK);
    const flow = a.vm.flow.flow;
    let folds = 0;
    const sync = flow.vcpuSyncHwstate!.bind(flow);
    const flush = flow.vcpuFlushHwstate!.bind(flow);
    flow.vcpuSyncHwstate = (v) => void (folds++, sync(v));
    flow.vcpuFlushHwstate = (v) => void (folds++, flush(v));
    const snap = saveVm(a.vm);
    expect(folds).toBe(0);
    expect(v0.virq).toBe(false); // a refill would have raised it before the kick arrived
    expect(snap.vcpus.map((v) => v.lines)).toEqual(a.vm.vcpus.map((v) => [v.virq, v.vfiq]));
    expect(snap.vcpus.every((v) => v.hwstate === null)).toBe(true); // the tiny controller's flush moves no state
    // the restore sets the lines last, over what its entry flush computed (the tiny controller keeps its FIFO
    // outside any device, so on the destination that flush finds it empty and computes a low line)
    const b = build();
    const high = { ...snap, vcpus: snap.vcpus.map((v, i) => (i === 0 ? { ...v, lines: [true, false] as const } : v)) };
    restoreVm(b.vm, high);
    expect(b.vm.vcpus[0].inGuest).toBe(true);
    expect([b.vm.vcpus[0].virq, b.vm.vcpus[0].vfiq]).toEqual([true, false]);
    expect(b.vm.vcpus[1].virq).toBe(false);
  });

  it('refuses a snapshot of version 2 (the save that folded) and malformed lines with EINVAL', () => {
    const a = build();
    a.vm.run({ until: 1000 });
    const snap = saveVm(a.vm);
    expect(VM_SNAPSHOT_VERSION).toBe(3);
    const old = thrown(() => restoreVm(build().vm, { ...snap, version: 2 }));
    expect([(old as VmSnapshotError).reason, (old as VmSnapshotError).errno]).toEqual(['version', Errno.EINVAL]);
    const bad = { ...snap, vcpus: snap.vcpus.map((v, i) => (i === 0 ? { ...v, lines: [1] } : v)) } as unknown as VmSnapshot;
    const b = build();
    const e = thrown(() => restoreVm(b.vm, bad));
    expect([(e as VmSnapshotError).reason, (e as VmSnapshotError).errno]).toEqual(['format', Errno.EINVAL]);
    expect(b.vm.vcpus[0].clock).toBe(0);
  });

  it('refuses another format, version or configuration with a typed error, changing nothing', () => {
    const a = build();
    a.vm.run({ until: 1000 });
    const snap = saveVm(a.vm);
    const cases: [VmSnapshot, string][] = [
      [{ ...snap, format: 'x' }, 'format'],
      [{ ...snap, version: VM_SNAPSHOT_VERSION + 1 }, 'version'],
      [{ ...snap, config: { ...snap.config, costProfile: 'gicv2-nonvhe' } }, 'config'],
    ];
    for (const [s, reason] of cases) {
      const b = build();
      const e = thrown(() => restoreVm(b.vm, s));
      expect(e).toBeInstanceOf(VmSnapshotError);
      expect((e as VmSnapshotError).reason).toBe(reason);
      expect((e as VmSnapshotError).errno).toBe(Errno.EINVAL);
      expect(b.vm.vcpus[0].clock).toBe(0);
      expect(b.vm.now).toBe(0);
    }
    const three = build(3);
    expect((thrown(() => restoreVm(three.vm, snap)) as VmSnapshotError).reason).toBe('config');
    const ran = build();
    ran.vm.run({ until: 10 });
    expect((thrown(() => restoreVm(ran.vm, snap)) as VmSnapshotError).errno).toBe(Errno.EBUSY);
  });

  it('refuses to save from inside vm.run (EBUSY) and a device without save hooks (EOPNOTSUPP)', () => {
    const { vm } = build(1);
    let inside: unknown;
    vm.vcpus[0].setProgram(
      new GuestAsm()
        .label('main')
        .call(() => void (inside = thrown(() => saveVm(vm))))
        .label('l')
        .wfi()
        .b('l')
        .build(),
    );
    vm.run({ until: 1000 });
    expect((inside as VmSnapshotError).errno).toBe(Errno.EBUSY);
    vm.devices.push({ type: 0x7777, name: 'no-hooks', setAttr: () => undefined, getAttr: () => 0n, hasAttr: () => false });
    const e = thrown(() => saveVm(vm)) as VmSnapshotError;
    expect(e.reason).toBe('unsupported');
    expect(e.errno).toBe(Errno.EOPNOTSUPP);
  });

  it('refuses to save while a vCPU waits in a userspace exit (EBUSY)', () => {
    const { vm } = build(1);
    vm.vcpus[0].setProgram(new GuestAsm().label('main').ldra(0, 0x0900_0000).label('l').wfi().b('l').build());
    expect(vm.run({ until: 1000 }).reason).toBe('exit');
    expect((thrown(() => saveVm(vm)) as VmSnapshotError).errno).toBe(Errno.EBUSY);
    vm.run({ until: 2000, onExit: () => false });
    expect(() => saveVm(vm)).not.toThrow();
  });
});

describe('a VM saved before it ran', () => {
  it('restores into a VM that still accepts configuration and runs like the source', () => {
    const a = build();
    const snap = saveVm(a.vm);
    const b = build();
    restoreVm(b.vm, snap);
    expect(b.vm.anyVcpuRan).toBe(false);
    a.vm.run({ until: 3000 });
    b.vm.run({ until: 3000 });
    expect(b.vm.vcpus.map((v: Vcpu) => [v.pc, v.clock])).toEqual(a.vm.vcpus.map((v: Vcpu) => [v.pc, v.clock]));
  });
});
