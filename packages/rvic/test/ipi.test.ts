import { RvicCall, RvicStatus, emitCpuBringUp, emitSelfMpidr, emitSignal, emitUnmask, rvicFid } from '@irqflow/rvic';
import { callLog, GuestAsm, idleLoop, irqHandler, makeVm, off, st, type Ret } from './helpers';

describe('IPIs between vCPUs', () => {
  it('SIGNAL wakes a remote vCPU blocked in WFI, which acknowledges and completes the IPI', () => {
    const { vm } = makeVm(2);
    const seen: { cpu: number; intid: number; t: number }[] = [];
    const rx = new GuestAsm();
    idleLoop(rx, (a) => {
      emitCpuBringUp(a, 128);
      emitSelfMpidr(a, 7);
      emitUnmask(a, { r: 7 }, 2);
    });
    irqHandler(rx, seen);
    const tx = new GuestAsm();
    tx.label('main').work(1_000_000); // let vCPU1 come up and block
    tx.movi(7, 1);
    emitSignal(tx, 7, 2);
    off(tx);
    vm.vcpus[0].setProgram(tx.build());
    vm.vcpus[1].setProgram(rx.build());
    const r = vm.run({ until: 1e7 });
    expect(r.reason).toBe('idle');
    expect(seen).toEqual([expect.objectContaining({ cpu: 1, intid: 2 })]);
    expect(vm.vcpus[1].stats.kicks).toBeGreaterThanOrEqual(1);
    expect(vm.vcpus[1].stats.acked).toBe(1);
    expect(vm.vcpus[1].stats.completed).toBe(1);
  });

  it('kicks a remote vCPU running in the guest so it takes the IPI without waiting', () => {
    const { vm } = makeVm(2);
    const seen: { cpu: number; intid: number; t: number }[] = [];
    const rx = new GuestAsm();
    rx.label('main');
    emitCpuBringUp(rx, 128);
    emitSelfMpidr(rx, 7);
    emitUnmask(rx, { r: 7 }, 5);
    rx.daifclr(2)
      .label('spin')
      .work(100)
      .callb(() => seen.length === 0, 'spin');
    off(rx);
    irqHandler(rx, seen);
    const tx = new GuestAsm();
    tx.label('main').work(1_000_000).movi(7, 1);
    emitSignal(tx, 7, 5);
    off(tx);
    vm.vcpus[0].setProgram(tx.build());
    vm.vcpus[1].setProgram(rx.build());
    vm.run({ until: 1e8 });
    expect(seen.map((s) => s.intid)).toEqual([5]);
    expect(vm.vcpus[1].stats.exits[6]).toBeGreaterThanOrEqual(1); // irq exit (kick)
  });

  it('an IPI to a vCPU whose rVIC is disabled returns DISABLED and is never delivered', () => {
    const { vm } = makeVm(2);
    const seen: { cpu: number; intid: number; t: number }[] = [];
    const rx = new GuestAsm();
    idleLoop(rx, (a) => {
      emitCpuBringUp(a, 128);
      emitSelfMpidr(a, 7);
      emitUnmask(a, { r: 7 }, 1);
      a.movi(0, rvicFid(RvicCall.DISABLE)).hvc(0);
    });
    irqHandler(rx, seen);
    const log: Ret[] = [];
    const tx = new GuestAsm();
    tx.label('main').work(1_000_000);
    callLog(tx, log, rvicFid(RvicCall.SIGNAL), 1, 1);
    off(tx);
    vm.vcpus[0].setProgram(tx.build());
    vm.vcpus[1].setProgram(rx.build());
    vm.run({ until: 1e7 });
    expect(st(log[0])).toEqual([RvicStatus.DISABLED, 0]);
    expect(seen).toEqual([]);
  });

  it('ping-pong: n round trips give 2n acknowledged and completed IPIs', () => {
    const { vm } = makeVm(2);
    const n = 20;
    const seen: { cpu: number; intid: number; t: number }[] = [];
    // replace the handler body: reply to the other vCPU until n pings were seen
    const build = (me: number) => {
      const a = new GuestAsm();
      idleLoop(a, (s) => {
        emitCpuBringUp(s, 128);
        emitSelfMpidr(s, 7);
        emitUnmask(s, { r: 7 }, 0);
        s.work(me === 0 ? 50000 : 0);
        if (me === 0) {
          s.movi(8, 1);
          emitSignal(s, 8, 0);
        }
      });
      a.label('irq');
      a.movi(0, rvicFid(RvicCall.ACKNOWLEDGE)).hvc(0).mov(9, 1);
      a.call((cpu) => {
        seen.push({ cpu: cpu.index, intid: cpu.x(9), t: cpu.clock });
      });
      emitSelfMpidr(a, 7);
      a.movi(0, rvicFid(RvicCall.CLEAR_MASKED)).mov(1, 7).mov(2, 9).hvc(0);
      a.callb(() => seen.length >= 2 * n, 'done');
      a.movi(8, 1 - me);
      emitSignal(a, 8, 0);
      a.label('done').eret();
      return a;
    };
    vm.vcpus[0].setProgram(build(0).build());
    vm.vcpus[1].setProgram(build(1).build());
    vm.run({ until: 1e9 });
    expect(seen.length).toBe(2 * n);
    expect(seen.map((s) => s.cpu)).toEqual(Array.from({ length: 2 * n }, (_, i) => (i + 1) % 2));
    const s = vm.stats();
    expect(s.acked).toBe(2 * n);
    expect(s.completed).toBe(2 * n);
  });
});
