/** The timed-event queue: (time, sequence) order, re-arming and cancelling, checked against a sorted model. */
import fc from 'fast-check';
import { EventQueue, HostEvent } from '../../src';

type Cmd = { op: 'sched'; ev: number; t: number } | { op: 'cancel'; ev: number } | { op: 'pop' };

describe('EventQueue', () => {
  it('pops in (time, scheduling order) order under random schedule / re-arm / cancel / pop sequences', () => {
    const cmd = fc.oneof(
      fc.record({ op: fc.constant('sched' as const), ev: fc.integer({ min: 0, max: 9 }), t: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ op: fc.constant('cancel' as const), ev: fc.integer({ min: 0, max: 9 }) }),
      fc.record({ op: fc.constant('pop' as const) }),
    );
    fc.assert(
      fc.property(fc.array(cmd, { maxLength: 200 }), (cmds: Cmd[]) => {
        const q = new EventQueue();
        const evs = Array.from({ length: 10 }, (_, i) => new HostEvent(() => undefined, `e${i}`));
        // model: armed events with (time, seq)
        const model = new Map<number, [number, number]>();
        let seq = 0;
        for (const c of cmds) {
          if (c.op === 'sched') {
            q.schedule(evs[c.ev], c.t);
            model.set(c.ev, [c.t, seq++]);
          } else if (c.op === 'cancel') {
            q.cancel(evs[c.ev]);
            model.delete(c.ev);
          } else {
            const sorted = [...model.entries()].sort((a, b) => a[1][0] - b[1][0] || a[1][1] - b[1][1]);
            const got = q.pop();
            if (sorted.length === 0) expect(got).toBeUndefined();
            else {
              expect(got).toBe(evs[sorted[0][0]]);
              model.delete(sorted[0][0]);
            }
          }
          expect(q.size).toBe(model.size);
          const min = Math.min(...[...model.values()].map((v) => v[0]));
          expect(q.peekTime()).toBe(model.size ? min : Infinity);
          evs.forEach((e, i) => expect(e.pending).toBe(model.has(i)));
        }
      }),
    );
  });

  it('clear disarms everything', () => {
    const q = new EventQueue();
    const e = new HostEvent(() => undefined);
    q.schedule(e, 5);
    q.clear();
    expect(e.pending).toBe(false);
    expect(q.peekTime()).toBe(Infinity);
    q.schedule(e, 1);
    expect(q.pop()).toBe(e);
  });
});
