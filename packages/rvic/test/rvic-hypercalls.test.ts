import { RVIC_FN_BASE, RVIC_VERSION, RVID_FN_BASE, RvicCall, RvicStatus, emitCpuBringUp, rvicFid } from '@irqflow/rvic';
import { callLog, GuestAsm, makeVm, off, st, type Ret } from './helpers';

const F = rvicFid;
const S = RvicStatus;

function runOn(n: number, body: (a: GuestAsm, log: Ret[]) => void, cpuIndex = 0, opts = {}) {
  const s = makeVm(n, opts);
  const log: Ret[] = [];
  const a = new GuestAsm();
  a.label('main');
  body(a, log);
  off(a);
  const img = a.build();
  s.vm.vcpus[cpuIndex].setProgram(img);
  s.vm.run({ only: s.vm.vcpus[cpuIndex] });
  return { ...s, log };
}

describe('rVIC hypercalls', () => {
  it('VERSION is 0.3 and INFO reports the sizing; a bad INFO key is ERROR_PARAMETER on argument 0', () => {
    const { log } = runOn(
      1,
      (a, log) => {
        callLog(a, log, F(RvicCall.VERSION));
        callLog(a, log, F(RvicCall.INFO), 0);
        callLog(a, log, F(RvicCall.INFO), 1);
        callLog(a, log, F(RvicCall.INFO), 2);
      },
      0,
      { trusted: 64, total: 256 },
    );
    expect(log[0]).toEqual({ x0: 0, x1: RVIC_VERSION });
    expect(RVIC_VERSION).toBe(0x3);
    expect(log[1]).toEqual({ x0: 0, x1: 64 });
    expect(log[2]).toEqual({ x0: 0, x1: 192 });
    expect(st(log[3])).toEqual([S.ERROR_PARAMETER, 0]);
  });

  it('unknown function ids in both windows return NOT_SUPPORTED', () => {
    const { log } = runOn(1, (a, log) => {
      callLog(a, log, RVIC_FN_BASE + 11);
      callLog(a, log, RVIC_FN_BASE + 0xff);
      callLog(a, log, RVID_FN_BASE + 3);
      callLog(a, log, RVID_FN_BASE + 0x80);
    });
    expect(log.map((r) => r.x0)).toEqual([-1, -1, -1, -1]);
  });

  it('per-interrupt calls validate MPIDR (INVALID_CPU, index 0) then intid (ERROR_PARAMETER, index 1)', () => {
    const calls = [RvicCall.SET_MASKED, RvicCall.CLEAR_MASKED, RvicCall.IS_PENDING, RvicCall.SIGNAL, RvicCall.CLEAR_PENDING];
    const { log } = runOn(2, (a, log) => {
      for (const c of calls) {
        callLog(a, log, F(c), 0x7, 1); // no vCPU with Aff0 = 7
        callLog(a, log, F(c), 0x1_0000_0000, 1); // Aff3 != 0
        callLog(a, log, F(c), 1, 128); // intid == nr_total
        callLog(a, log, F(c), 1, 0x1_0000_0005); // upper bits set
      }
    });
    for (let i = 0; i < calls.length; i++) {
      expect(st(log[4 * i])).toEqual([S.INVALID_CPU, 0]);
      expect(st(log[4 * i + 1])).toEqual([S.INVALID_CPU, 0]);
      expect(st(log[4 * i + 2])).toEqual([S.ERROR_PARAMETER, 1]);
      expect(st(log[4 * i + 3])).toEqual([S.ERROR_PARAMETER, 1]);
    }
  });

  it('ACKNOWLEDGE: DISABLED when disabled, NO_INTERRUPTS when nothing; RESAMPLE validates its intid (index 0)', () => {
    const { log } = runOn(1, (a, log) => {
      callLog(a, log, F(RvicCall.ACKNOWLEDGE));
      callLog(a, log, F(RvicCall.ENABLE));
      callLog(a, log, F(RvicCall.ACKNOWLEDGE));
      callLog(a, log, F(RvicCall.RESAMPLE), 128);
      callLog(a, log, F(RvicCall.RESAMPLE), 20);
      callLog(a, log, F(RvicCall.DISABLE));
      callLog(a, log, F(RvicCall.ACKNOWLEDGE));
    });
    expect(st(log[0])).toEqual([S.DISABLED, 0]);
    expect(st(log[1])).toEqual([S.SUCCESS, 0]);
    expect(st(log[2])).toEqual([S.NO_INTERRUPTS, 0]);
    expect(st(log[3])).toEqual([S.ERROR_PARAMETER, 0]);
    expect(st(log[4])).toEqual([S.SUCCESS, 0]);
    expect(st(log[6])).toEqual([S.DISABLED, 0]);
  });

  it('SIGNAL to a disabled rVIC returns DISABLED and drops the interrupt', () => {
    const { log, vm } = runOn(2, (a, log) => {
      callLog(a, log, F(RvicCall.SIGNAL), 1, 3); // vCPU1 never enabled its rVIC
      callLog(a, log, F(RvicCall.IS_PENDING), 1, 3);
    });
    expect(st(log[0])).toEqual([S.DISABLED, 0]);
    expect(log[1]).toEqual({ x0: 0, x1: 0 });
    expect(vm.vcpus[1].stats.injected).toBe(0);
  });

  it('walks the state machine idle → pending → masked+pending → … and counts acked/completed', () => {
    const { log, vm } = runOn(1, (a, log) => {
      emitCpuBringUp(a, 128);
      callLog(a, log, F(RvicCall.SIGNAL), 0, 40); // masked+pending (reset: masked)
      callLog(a, log, F(RvicCall.IS_PENDING), 0, 40);
      callLog(a, log, F(RvicCall.ACKNOWLEDGE)); // masked: nothing to deliver
      callLog(a, log, F(RvicCall.CLEAR_MASKED), 0, 40); // → pending (queued)
      callLog(a, log, F(RvicCall.SET_MASKED), 0, 40); // → masked+pending
      callLog(a, log, F(RvicCall.ACKNOWLEDGE));
      callLog(a, log, F(RvicCall.CLEAR_MASKED), 0, 40); // → pending again
      callLog(a, log, F(RvicCall.ACKNOWLEDGE)); // → masked (acked)
      callLog(a, log, F(RvicCall.IS_PENDING), 0, 40);
      callLog(a, log, F(RvicCall.CLEAR_MASKED), 0, 40); // end of interrupt → idle
      callLog(a, log, F(RvicCall.SIGNAL), 0, 40); // → pending
      callLog(a, log, F(RvicCall.CLEAR_PENDING), 0, 40); // → idle
      callLog(a, log, F(RvicCall.ACKNOWLEDGE));
    });
    expect(log[1].x1).toBe(1);
    expect(st(log[2])[0]).toBe(S.NO_INTERRUPTS);
    expect(st(log[5])[0]).toBe(S.NO_INTERRUPTS);
    expect(log[7]).toEqual({ x0: 0, x1: 40 });
    expect(log[8].x1).toBe(0);
    expect(st(log[12])[0]).toBe(S.NO_INTERRUPTS);
    const s = vm.vcpus[0].stats;
    expect(s.acked).toBe(1);
    expect(s.completed).toBe(1);
    expect(s.injected).toBe(2);
  });

  it('delivers in FIFO order of becoming pending-and-unmasked, without priorities', () => {
    const { log } = runOn(1, (a, log) => {
      emitCpuBringUp(a, 128);
      for (const i of [3, 5, 9, 100]) callLog(a, log, F(RvicCall.CLEAR_MASKED), 0, i);
      for (const i of [9, 3, 100, 5]) callLog(a, log, F(RvicCall.SIGNAL), 0, i);
      callLog(a, log, F(RvicCall.SIGNAL), 0, 50); // masked: joins when unmasked
      callLog(a, log, F(RvicCall.SIGNAL), 0, 51);
      callLog(a, log, F(RvicCall.CLEAR_MASKED), 0, 51);
      callLog(a, log, F(RvicCall.CLEAR_MASKED), 0, 50);
      for (let i = 0; i < 7; i++) callLog(a, log, F(RvicCall.ACKNOWLEDGE));
    });
    expect(log.slice(-7).map((r) => (r.x0 === 0 ? r.x1 : -r.x0))).toEqual([9, 3, 100, 5, 51, 50, -4]);
  });

  it('ENABLE while interrupts are pending and unmasked asserts the line at the next entry', () => {
    const { vm, log } = runOn(1, (a, log) => {
      emitCpuBringUp(a, 128);
      callLog(a, log, F(RvicCall.CLEAR_MASKED), 0, 20);
      callLog(a, log, F(RvicCall.SIGNAL), 0, 20);
      callLog(a, log, F(RvicCall.DISABLE));
      a.call((cpu) => {
        log.push({ x0: cpu.virq ? 1 : 0, x1: cpu.vm.flow.vcpuPendingIrq(cpu) ? 1 : 0 });
      });
      callLog(a, log, F(RvicCall.ENABLE));
      a.call((cpu) => {
        log.push({ x0: cpu.virq ? 1 : 0, x1: 0 });
      });
    });
    expect(log[3]).toEqual({ x0: 0, x1: 0 });
    expect(log[5].x0).toBe(1);
    expect(vm.dump()).toContain('delivery: [20]');
  });
});
