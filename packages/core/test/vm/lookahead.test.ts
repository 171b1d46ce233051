/**
 * Conservative lookahead (scheduler.ts): vCPU-local operations may run up to `lookaheadNs` ahead of the
 * next-furthest vCPU; everything another vCPU could observe (memory, non-local system registers, exits, hooks)
 * keeps exact simulated-time order, so results never depend on the lookahead, only wall-clock speed and the
 * arrival time of asynchronous signals (within the lookahead) do.
 */
import { Errno, GICV3_VHE_ALTRA, GuestAsm, Hypervisor, defaultLookaheadNs, maxExactLookaheadNs, type Vcpu, type Vm } from '../../src';

/** The default profile's ipiLatency: the largest lookahead a VM accepts (100 cycles at 3 GHz). */
const IPI = GICV3_VHE_ALTRA.ns.ipiLatency;
import { errno } from '../support/errno';
import { tinyVm } from '../support/tiny-controller';

const RAM = 0x4000_0000;
/** Encodings the tiny controller leaves free (ICC_IGRPEN1_EL1, ICC_IGRPEN0_EL1), registered here as test registers. */
const SHARED_REG = 0xc665; // untrapped, not local
const LOCAL_REG = 0xc664; // untrapped, declared local

/** Three vCPUs increment one counter in memory with a racy load / add / store and different delays. */
function racyCounter(lookaheadNs: number): { value: number; clocks: number[]; ops: number[] } {
  const { vm, vcpus } = tinyVm(3, { lookaheadNs, irqchip: false });
  vm.setUserMemoryRegion({ slot: 0, guestPhysAddr: RAM, size: 0x1000 });
  const a = new GuestAsm();
  for (const [name, pre, mid] of [
    ['c0', 40, 3],
    ['c1', 37, 11],
    ['c2', 29, 23],
  ] as const) {
    a.label(name).movi(1, RAM).movi(5, 0);
    a.label(`${name}l`).work(pre).ldr(2, 1, 0).work(mid).addi(2, 2, 1).str(2, 1, 0).addi(5, 5, 1).bloi(5, 200, `${name}l`);
    a.label(`${name}e`).wfi().b(`${name}e`);
  }
  const img = a.build();
  vcpus.forEach((v, i) => v.setProgram(img, `c${i}`));
  expect(vm.run().reason).toBe('idle');
  return { value: vm.memory.readU32(RAM), clocks: vcpus.map((v) => v.clock), ops: vcpus.map((v) => v.stats.ops) };
}

describe('conservative lookahead', () => {
  it('defaults to the profile IPI delivery latency, is exposed on the VM, and rejects bad values with EINVAL', () => {
    const hv = new Hypervisor();
    expect(hv.createVm().lookaheadNs).toBe(defaultLookaheadNs(GICV3_VHE_ALTRA.ns));
    // never above the smallest delivery latency of a signal between vCPUs (causal delivery, lockstep results)
    for (const p of hv.costProfiles) expect(defaultLookaheadNs(p.ns)).toBe(p.ns.ipiLatency);
    expect(hv.createVm({ lookaheadNs: 0 }).lookaheadNs).toBe(0);
    expect(hv.createVm({ costProfile: 'gicv2-nonvhe' }).lookaheadNs).toBeGreaterThan(defaultLookaheadNs(GICV3_VHE_ALTRA.ns));
    expect(errno(() => hv.createVm({ lookaheadNs: -1 }))).toBe(Errno.EINVAL);
    expect(errno(() => hv.createVm({ lookaheadNs: Number.NaN }))).toBe(Errno.EINVAL);
    expect(errno(() => hv.createVm({ lookaheadNs: Infinity }))).toBe(Errno.EINVAL);
  });

  it('refuses a lookahead above the profile ipiLatency with EINVAL (it could take a signal later than lockstep) and accepts the bound itself', () => {
    const hv = new Hypervisor();
    for (const p of hv.costProfiles) {
      const max = maxExactLookaheadNs(p.ns);
      expect(max).toBe(p.ns.ipiLatency);
      expect(hv.createVm({ costProfile: p.name, lookaheadNs: max }).lookaheadNs).toBe(max);
      expect(errno(() => hv.createVm({ costProfile: p.name, lookaheadNs: max * (1 + 1e-12) + 1e-9 }))).toBe(Errno.EINVAL);
      expect(errno(() => hv.createVm({ costProfile: p.name, lookaheadNs: 306 }))).toBe(Errno.EINVAL);
    }
    // a failed createVm creates nothing: the next VM gets the next id as if the refused one had never been asked for
    const before = hv.createVm().id;
    expect(errno(() => hv.createVm({ lookaheadNs: 1e6 }))).toBe(Errno.EINVAL);
    expect(hv.createVm().id).toBe(before + 1);
  });

  it('memory accesses keep exact order: a racy shared counter ends identically for every lookahead', () => {
    const exact = racyCounter(0);
    // the race is real (lost updates), so a reordering of the loads and stores would change the result
    // (more updates are lost since a load of a line another vCPU stored to waits for the line: cacheLineTransfer)
    expect(exact.value).toBeLessThan(600);
    expect(exact.value).toBeGreaterThan(100);
    for (const l of [1, IPI / 2, IPI]) expect(racyCounter(l)).toEqual(exact);
  });

  /** Two vCPUs spin on local work and read a register; the handler logs (vCPU, clock) of each read. */
  function readLog(lookaheadNs: number, local: boolean): { vm: Vm; log: [number, number][] } {
    const { vm, vcpus } = tinyVm(2, { lookaheadNs, irqchip: false });
    const log: [number, number][] = [];
    vm.sysregs.register(local ? LOCAL_REG : SHARED_REG, { trapped: false, local, read: (v: Vcpu) => (log.push([v.index, v.clock]), 0) });
    const a = new GuestAsm();
    a.label('main')
      .movi(5, 0)
      .label('l')
      .work(20)
      .mrs(3, local ? LOCAL_REG : SHARED_REG)
      .addi(5, 5, 1)
      .bloi(5, 100, 'l')
      .label('e')
      .wfi()
      .b('e');
    const img = a.build();
    vcpus.forEach((v) => v.setProgram(img));
    vcpus[1].charge(5); // out of phase
    expect(vm.run().reason).toBe('idle');
    return { vm, log };
  }

  const maxBackstep = (log: [number, number][]): number => {
    let worst = 0;
    for (let i = 1; i < log.length; i++) worst = Math.max(worst, log[i - 1][1] - log[i][1]);
    return worst;
  };

  it('a non-local untrapped register is accessed in simulated-time order across vCPUs', () => {
    const { log } = readLog(IPI, false);
    expect(log).toHaveLength(200);
    // the next vCPU is at most one operation behind (the access itself costs the cpuifAccess primitive)
    expect(maxBackstep(log)).toBeLessThanOrEqual(20 / 3 + 14 + 1);
  });

  it('a register declared local runs ahead by up to the lookahead, and with lookahead 0 it does not', () => {
    const ahead = readLog(IPI, true).log;
    expect(ahead).toHaveLength(200);
    const back = maxBackstep(ahead);
    expect(back).toBeGreaterThan(20 / 3 + 14 + 1);
    expect(back).toBeLessThanOrEqual(IPI + 20 / 3 + 14 + 1);
    expect(maxBackstep(readLog(0, true).log)).toBeLessThanOrEqual(20 / 3 + 14 + 1);
  });

  /** Like readLog, with a register written, its locality decided per access by a function (hot or not). */
  function writeLog(decide: boolean, hot: boolean): { log: [number, number][]; asked: number } {
    const { vm, vcpus } = tinyVm(2, { lookaheadNs: IPI, irqchip: false });
    const log: [number, number][] = [];
    let asked = 0;
    vm.sysregs.register(SHARED_REG, {
      trapped: false,
      hot,
      local(_v: Vcpu, isWrite: boolean) {
        expect(isWrite).toBe(true);
        expect(this).toBe(handler); // called with its handler as this, from the hot site too
        asked++;
        return decide;
      },
      write: (v: Vcpu) => void log.push([v.index, v.clock]),
    });
    const handler = vm.sysregs.get(SHARED_REG)!.handler;
    const a = new GuestAsm();
    a.label('main').movi(5, 0).label('l').work(20).msr(SHARED_REG, 5).addi(5, 5, 1).bloi(5, 100, 'l').label('e').wfi().b('e');
    const img = a.build();
    vcpus.forEach((v) => v.setProgram(img));
    vcpus[1].charge(5);
    expect(vm.run().reason).toBe('idle');
    return { log, asked };
  }

  it.each([true, false])('a per-access locality decision is obeyed (hot %s)', (hot) => {
    const exact = writeLog(false, hot);
    expect(exact.log).toHaveLength(200);
    expect(exact.asked).toBeGreaterThan(0);
    expect(maxBackstep(exact.log)).toBeLessThanOrEqual(20 / 3 + 14 + 1);
    const ahead = writeLog(true, hot);
    expect(ahead.log).toHaveLength(200);
    expect(maxBackstep(ahead.log)).toBeGreaterThan(20 / 3 + 14 + 1);
    expect(maxBackstep(ahead.log)).toBeLessThanOrEqual(IPI + 20 / 3 + 14 + 1);
  });

  /** vCPU 0 queues an interrupt for vCPU 1 (busy in local work) at t = 5000; returns when vCPU 1 took it. */
  function kickLatency(lookaheadNs: number): number {
    const { vm, ctl, vcpus } = tinyVm(2, { lookaheadNs });
    let sentAt = -1;
    let takenAt = -1;
    const a = new GuestAsm();
    a.label('main')
      .work(15_000)
      .call((v) => {
        sentAt = v.clock;
        ctl.queue(vcpus[1], 40);
      });
    a.label('e').wfi().b('e');
    a.label('busy').daifclr(2).label('spin').work(7).b('spin');
    a.label('irq')
      .call((v) => void (takenAt = v.clock))
      .mrs(0, 'ICC_IAR1_EL1')
      .msr('ICC_EOIR1_EL1', 0)
      .label('halt')
      .wfi()
      .b('halt');
    const img = a.build();
    vcpus[0].setProgram(img);
    vcpus[1].setProgram(img, 'busy');
    vm.run({ until: 20_000 });
    expect(sentAt).toBeCloseTo(5000, 6);
    expect(takenAt).toBeGreaterThan(sentAt);
    return takenAt - sentAt;
  }

  it('a kick reaches a vCPU running ahead exactly when it does in lockstep while the lookahead is at most ipiLatency', () => {
    // (it used to arrive up to the lookahead later: a kick was applied when posted, not at its delivery time)
    const exact = kickLatency(0);
    const ipi = GICV3_VHE_ALTRA.ns.ipiLatency;
    expect(exact).toBeGreaterThanOrEqual(ipi);
    for (const l of [1, ipi / 2, ipi]) expect(kickLatency(l)).toBe(exact);
    // above it a receiver could already have passed the delivery instant (taken later than lockstep): refused
    expect(() => kickLatency(ipi + 10)).toThrow(/exceeds/);
  });
});
