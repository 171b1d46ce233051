/* Model-based test: random rVIC call sequences from a guest against a reference model of the state machine. */
import fc from 'fast-check';
import { RvicCall, RvicStatus, rvicFid } from '@irqflow/rvic';
import { callLog, GuestAsm, makeVm, off, type Ret } from './helpers';

type Cmd = { call: RvicCall; intid: number };

/** The reference model: sets and an array, the obvious way. */
function model(cmds: readonly Cmd[]): Ret[] {
  let enabled = false;
  const pending = new Set<number>();
  const masked = new Set<number>(Array.from({ length: 128 }, (_, i) => i));
  let fifo: number[] = [];
  const out: Ret[] = [];
  const ok = (x1 = 0) => out.push({ x0: 0, x1 });
  for (const { call, intid } of cmds) {
    const perIrq = [RvicCall.SET_MASKED, RvicCall.CLEAR_MASKED, RvicCall.IS_PENDING, RvicCall.SIGNAL, RvicCall.CLEAR_PENDING];
    if (perIrq.includes(call) && intid >= 128) {
      out.push({ x0: RvicStatus.ERROR_PARAMETER | (1 << 8), x1: 0 });
      continue;
    }
    switch (call) {
      case RvicCall.ENABLE:
        if (!enabled) {
          enabled = true;
          for (let i = 0; i < 128; i++) if (pending.has(i) && !masked.has(i) && !fifo.includes(i)) fifo.push(i);
        }
        ok();
        break;
      case RvicCall.DISABLE:
        enabled = false;
        fifo = [];
        ok();
        break;
      case RvicCall.SIGNAL:
        if (!enabled) {
          out.push({ x0: RvicStatus.DISABLED, x1: 0 });
          break;
        }
        pending.add(intid);
        if (!masked.has(intid) && !fifo.includes(intid)) fifo.push(intid);
        ok();
        break;
      case RvicCall.CLEAR_PENDING:
        pending.delete(intid);
        fifo = fifo.filter((i) => i !== intid);
        ok();
        break;
      case RvicCall.SET_MASKED:
        masked.add(intid);
        fifo = fifo.filter((i) => i !== intid);
        ok();
        break;
      case RvicCall.CLEAR_MASKED:
        masked.delete(intid);
        if (enabled && pending.has(intid) && !fifo.includes(intid)) fifo.push(intid);
        ok();
        break;
      case RvicCall.IS_PENDING:
        ok(pending.has(intid) ? 1 : 0);
        break;
      case RvicCall.ACKNOWLEDGE: {
        if (!enabled) {
          out.push({ x0: RvicStatus.DISABLED, x1: 0 });
          break;
        }
        const i = fifo.shift();
        if (i === undefined) {
          out.push({ x0: RvicStatus.NO_INTERRUPTS, x1: 0 });
          break;
        }
        masked.add(i);
        pending.delete(i);
        ok(i);
        break;
      }
    }
  }
  return out;
}

const cmdArb: fc.Arbitrary<Cmd> = fc.record({
  call: fc.constantFrom(
    RvicCall.ENABLE,
    RvicCall.DISABLE,
    RvicCall.SIGNAL,
    RvicCall.SIGNAL,
    RvicCall.CLEAR_PENDING,
    RvicCall.SET_MASKED,
    RvicCall.CLEAR_MASKED,
    RvicCall.CLEAR_MASKED,
    RvicCall.IS_PENDING,
    RvicCall.ACKNOWLEDGE,
    RvicCall.ACKNOWLEDGE,
  ),
  intid: fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 0, max: 7 }) }, { weight: 1, arbitrary: fc.constant(128) }),
});

describe('rVIC state machine (model-based)', () => {
  it('matches the reference model on random call sequences', () => {
    fc.assert(
      fc.property(fc.array(cmdArb, { minLength: 1, maxLength: 60 }), (cmds) => {
        const { vm } = makeVm(1);
        const log: Ret[] = [];
        const a = new GuestAsm();
        a.label('main');
        for (const c of cmds) {
          if (c.call === RvicCall.ENABLE || c.call === RvicCall.DISABLE || c.call === RvicCall.ACKNOWLEDGE)
            callLog(a, log, rvicFid(c.call));
          else callLog(a, log, rvicFid(c.call), 0, c.intid);
        }
        off(a);
        vm.vcpus[0].setProgram(a.build());
        vm.run();
        expect(log).toEqual(model(cmds));
      }),
      { numRuns: 100, seed: 42 },
    );
  });
});
