/**
 * Model-based check of one timer against a BigInt reference of Arm DDI 0487 D11.2.4: random sequences of
 * userspace counter sets (including near 2^64), CVAL and CTL writes and time steps; after each step the
 * guest-visible counter, ISTATUS and the controller's pending state must equal the reference
 * (counter = host − offset mod 2^64; condition = counter ≥ CVAL unsigned; line = ENABLE && !IMASK && condition).
 */
import fc from 'fast-check';
import {
  KVM_REG_ARM_PTIMER_CNT,
  KVM_REG_ARM_PTIMER_CTL,
  KVM_REG_ARM_PTIMER_CVAL,
  KVM_REG_ARM_TIMER_CNT,
  KVM_REG_ARM_TIMER_CTL,
  KVM_REG_ARM_TIMER_CVAL,
} from '@irqflow/timer';
import { CONTROLLERS, makeHarness } from './support/controllers';
import { TimerGuest } from './support/timer-guest';

const TWO64 = 1n << 64n;
const u64 = (v: bigint): bigint => ((v % TWO64) + TWO64) % TWO64;

type Op = { k: 'cnt'; v: bigint } | { k: 'cval'; rel: bigint } | { k: 'ctl'; v: number } | { k: 'run'; dt: number };

const near = fc.oneof(fc.bigInt(-300_000n, 300_000n), fc.bigInt(-(1n << 33n), 1n << 33n));
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    k: fc.constant('cnt' as const),
    v: fc.oneof(fc.bigInt(0n, TWO64 - 1n), fc.bigInt(TWO64 - 400_000n, TWO64 - 1n), fc.bigInt(0n, 400_000n)),
  }),
  fc.record({ k: fc.constant('cval' as const), rel: near }),
  fc.record({ k: fc.constant('ctl' as const), v: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ k: fc.constant('run' as const), dt: fc.integer({ min: 0, max: 200_000 }) }),
);

const KINDS = [
  { name: 'virtual', cnt: KVM_REG_ARM_TIMER_CNT, cval: KVM_REG_ARM_TIMER_CVAL, ctl: KVM_REG_ARM_TIMER_CTL, intid: 27 },
  { name: 'physical', cnt: KVM_REG_ARM_PTIMER_CNT, cval: KVM_REG_ARM_PTIMER_CVAL, ctl: KVM_REG_ARM_PTIMER_CTL, intid: 30 },
] as const;

describe.each(CONTROLLERS.filter((c) => c.name.startsWith('test-')).map((c) => [c.name, c] as const))('timer model on %s', (_n, c) => {
  it.each(KINDS.map((k) => [k.name, k] as const))('%s timer matches the reference', (_k, k) => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 12 }), (ops) => {
        const h = makeHarness(c);
        const v = h.vcpus[0];
        // a guest that never takes interrupts: pending state stays observable
        const g = new TimerGuest(h.driver, { virt: 27, phys: 30 });
        g.spinUntil(() => false);
        g.load(v);
        h.vm.run({ until: 1000 });
        let off = 0n;
        let cval = 0n;
        let ctl = 0;
        const cnt = (): bigint => u64(BigInt(Math.floor(h.vm.now)) - off);
        for (const o of ops) {
          if (o.k === 'cnt') {
            v.setOneReg(k.cnt, o.v);
            off = u64(BigInt(Math.floor(h.vm.now)) - o.v);
          } else if (o.k === 'cval') {
            cval = u64(cnt() + o.rel);
            v.setOneReg(k.cval, cval);
          } else if (o.k === 'ctl') {
            v.setOneReg(k.ctl, BigInt(o.v));
            ctl = o.v & 3;
          } else h.vm.run({ until: h.vm.now + o.dt });
          const met = cnt() >= cval;
          expect(v.getOneReg(k.cnt)).toBe(cnt());
          expect(v.getOneReg(k.cval)).toBe(cval);
          expect(v.getOneReg(k.ctl)).toBe(BigInt(ctl | ((ctl & 1) !== 0 && met ? 4 : 0)));
          expect(h.pending!(v, k.intid)).toBe(ctl === 1 && met);
        }
      }),
      { numRuns: 100, seed: 42 },
    );
  });
});
