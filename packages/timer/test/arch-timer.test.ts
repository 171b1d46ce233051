/**
 * The EL1 virtual and physical timers as the guest sees them (Arm DDI 0487 D11.2.4), on every controller:
 * one interrupt per programming, counter ≥ CVAL and ISTATUS in the handler, past and far deadlines, the counter
 * moved under a timer, masked and disabled timers, the controller's pending state following IMASK, WFI wake-up.
 */
import { SMCCC_VERSION, type Vcpu } from '@irqflow/core';
import {
  KVM_ARM_VCPU_TIMER_CTRL,
  KVM_ARM_VCPU_TIMER_IRQ_PTIMER,
  KVM_ARM_VCPU_TIMER_IRQ_VTIMER,
  KVM_REG_ARM_PTIMER_CNT,
  KVM_REG_ARM_TIMER_CNT,
  KVM_REG_ARM_TIMER_CTL,
} from '@irqflow/timer';
import { CONTROLLERS, makeHarness, type Harness } from './support/controllers';
import { PREGS, TimerGuest, VREGS, type TimerRegs } from './support/timer-guest';

const MS = 1_000_000;
/** Upper bound on expiry-to-handler latency (exits, wake-up, exception entry), in ticks (= ns). */
const LATENCY = 5_000;

function intidsOf(v: Vcpu): { virt: number; phys: number } {
  return {
    virt: Number(v.getAttr(KVM_ARM_VCPU_TIMER_CTRL, BigInt(KVM_ARM_VCPU_TIMER_IRQ_VTIMER))),
    phys: Number(v.getAttr(KVM_ARM_VCPU_TIMER_CTRL, BigInt(KVM_ARM_VCPU_TIMER_IRQ_PTIMER))),
  };
}

function setup(
  c: (typeof CONTROLLERS)[number],
  onIrq: 'disable' | 'mask' | 'nothing' = 'disable',
): { h: Harness; g: TimerGuest; v: Vcpu; ids: { virt: number; phys: number } } {
  const h = makeHarness(c);
  const v = h.vcpus[0];
  const ids = intidsOf(v);
  return { h, g: new TimerGuest(h.driver, ids, onIrq), v, ids };
}

const TIMERS: readonly [string, TimerRegs, 'virt' | 'phys'][] = [
  ['virtual', VREGS, 'virt'],
  ['physical', PREGS, 'phys'],
];

describe.each(CONTROLLERS.map((c) => [c.name, c] as const))('arch timer on %s', (_name, c) => {
  describe.each(TIMERS)('%s timer', (_t, regs, which) => {
    const cntReg = which === 'virt' ? KVM_REG_ARM_TIMER_CNT : KVM_REG_ARM_PTIMER_CNT;

    it.each(['cval', 'tval'] as const)('raises exactly one interrupt per %s programming, with counter >= CVAL and ISTATUS set', (mode) => {
      const { h, g, v, ids } = setup(c);
      g.unmask();
      const deltas = [10_000, 250_000, 1 * MS];
      deltas.forEach((d, k) =>
        g
          .program(regs, mode, d)
          .capture(regs.cval)
          .waitIrqs(k + 1),
      );
      g.load(v);
      h.vm.run({ until: 20 * MS });
      expect(g.irqs).toHaveLength(3);
      g.irqs.forEach((r, k) => {
        expect(r.intid).toBe(ids[which]);
        expect(r.cval).toBe(g.captured[k]);
        expect(r.cnt >= r.cval).toBe(true);
        expect(r.cnt - r.cval < BigInt(LATENCY)).toBe(true);
        expect(r.ctl).toBe(1 | 4);
      });
      // successive deadlines are the programmed distances apart (each from the counter at its programming)
      expect(Number(g.captured[2] - g.captured[1])).toBeGreaterThanOrEqual(1 * MS);
    });

    it.each(['cval', 'tval'] as const)('a %s deadline in the past fires at once', (mode) => {
      const { h, g, v, ids } = setup(c);
      g.unmask().work(30_000).capture(regs.cnt).program(regs, mode, -5_000).waitIrqs(1);
      g.load(v);
      h.vm.run({ until: 1 * MS });
      expect(g.irqs).toHaveLength(1);
      expect(g.irqs[0].intid).toBe(ids[which]);
      expect(g.irqs[0].cnt - g.captured[0] < BigInt(LATENCY)).toBe(true);
      expect(g.irqs[0].cval < g.captured[0]).toBe(true);
    });

    it('a deadline beyond the TVAL range (> 2^31 ticks) does not fire early', () => {
      const { h, g, v } = setup(c);
      const far = 3_000_000_000;
      g.unmask().program(regs, 'cval', far).capture(regs.cval).capture(regs.tval).waitIrqs(1);
      g.load(v);
      h.vm.run({ until: 2_999_000_000 });
      expect(g.irqs).toHaveLength(0);
      // TVAL only shows the low 32 bits: as a signed value the deadline looks past, but nothing fired
      const tval = Number(g.captured[1]);
      expect(tval).toBeLessThanOrEqual(far);
      expect(tval).toBeGreaterThan(far - LATENCY);
      expect(tval | 0).toBeLessThan(0);
      h.vm.run({ until: 3_001_000_000 });
      expect(g.irqs).toHaveLength(1);
      expect(g.irqs[0].cnt >= g.captured[0]).toBe(true);
      expect(g.irqs[0].cnt - g.captured[0] < BigInt(LATENCY)).toBe(true);
    });

    it('fires when userspace moves the counter ahead past CVAL', () => {
      const { h, g, v } = setup(c);
      g.unmask()
        .program(regs, 'cval', 10 * MS)
        .capture(regs.cval)
        .waitIrqs(1);
      g.load(v);
      h.vm.at(1 * MS, () => v.setOneReg(cntReg, v.getOneReg(cntReg) + BigInt(20 * MS)));
      h.vm.run({ until: 5 * MS });
      expect(g.irqs).toHaveLength(1);
      expect(g.irqs[0].t - 1 * MS).toBeLessThan(LATENCY);
      expect(g.irqs[0].t).toBeGreaterThanOrEqual(1 * MS);
      expect(g.irqs[0].cnt >= g.irqs[0].cval).toBe(true);
    });

    it('drops the line when the counter moves back behind CVAL, and fires again when it gets there', () => {
      const { h, g, v, ids } = setup(c);
      let moved = false;
      // after the move the guest exits once (as a vCPU does for userspace to set a register), so the
      // controller folds any state it had loaded for the guest
      g.mask()
        .program(regs, 'cval', 1 * MS)
        .capture(regs.cval)
        .waitUntil(() => moved);
      g.a.movi(0, SMCCC_VERSION).hvc();
      g.unmask().waitUntil(() => g.timerIrqs.length >= 1);
      g.load(v);
      let before: boolean | undefined;
      let after: boolean | undefined;
      h.vm.at(1.9 * MS, () => {
        before = h.pending?.(v, ids[which]);
      });
      h.vm.at(2 * MS, () => {
        v.setOneReg(cntReg, v.getOneReg(cntReg) - BigInt(1.5 * MS));
        after = h.pending?.(v, ids[which]);
        moved = true;
      });
      h.vm.run({ until: 10 * MS });
      if (h.pending) {
        expect(before).toBe(true);
        expect(after).toBe(false);
      }
      // a controller that latches level interrupts may still deliver the stale one (ISTATUS clear)
      const stale = g.irqs.filter((r) => (r.ctl & 4) === 0);
      expect(stale.length).toBeLessThanOrEqual(c.latchesLevel ? 1 : 0);
      const real = g.timerIrqs;
      expect(real).toHaveLength(1);
      // the counter reached CVAL again 0.5 ms after it was moved back 1.5 ms at t = 2 ms
      expect(real[0].t).toBeGreaterThanOrEqual(2.5 * MS - 20_000);
      expect(real[0].cnt >= real[0].cval).toBe(true);
      expect(real[0].cval).toBe(g.captured[0]);
    });

    it('a masked or disabled expired timer raises nothing; ISTATUS shows the condition only while enabled', () => {
      const { h, g, v } = setup(c);
      g.unmask().work(30_000).program(regs, 'cval', -1000, 3).work(300_000).capture(regs.ctl);
      g.ctl(regs, 0).work(300_000).capture(regs.ctl);
      g.hook(() => {
        expect(g.irqs).toHaveLength(0);
      });
      g.ctl(regs, 1).waitIrqs(1);
      g.load(v);
      h.vm.run({ until: 2 * MS });
      expect(g.captured).toEqual([7n, 0n]);
      expect(g.irqs).toHaveLength(1);
      expect(g.irqs[0].ctl).toBe(5);
    });

    it("the controller's pending state follows IMASK", () => {
      const { h, g, v, ids } = setup(c);
      const exit = (): void => {
        g.a.movi(0, SMCCC_VERSION).hvc();
      };
      const pend: (boolean | undefined)[] = [];
      const probe = (): void => {
        exit();
        g.hook((vc) => {
          pend.push(h.pending?.(vc, ids[which]));
        });
      };
      const ackInto = (r: number): void => {
        h.driver.emitAck(g.a, r);
        g.a.call((vc) => {
          g.captured.push(vc.xBig(r));
        });
      };
      g.mask().work(30_000).program(regs, 'cval', -1000, 3);
      probe();
      ackInto(20); // masked: nothing to acknowledge
      g.ctl(regs, 1);
      probe();
      ackInto(20); // unmasked: the timer interrupt
      g.ctl(regs, 3);
      h.driver.emitEoi(g.a, 20, { level: true });
      probe();
      ackInto(21); // masked again: gone
      g.ctl(regs, 1).unmask().waitIrqs(1);
      g.load(v);
      h.vm.run({ until: 2 * MS });
      const spurious = BigInt(h.driver.spurious);
      expect(g.captured).toEqual([spurious, BigInt(ids[which]), spurious]);
      if (h.pending) expect(pend).toEqual([false, true, false]);
      expect(g.irqs).toHaveLength(1);
    });

    it('interrupts a computation at expiry, not at the end of the run slice', () => {
      const { h, g, v } = setup(c);
      g.unmask().program(regs, 'tval', 10_000).capture(regs.cval).spin(1000, 3_000).waitIrqs(1);
      g.load(v);
      h.vm.run({ until: 4 * MS });
      expect(g.irqs).toHaveLength(1);
      expect(g.irqs[0].cnt - g.captured[0] < BigInt(LATENCY)).toBe(true);
    });

    it('wakes a vCPU blocked in WFI at expiry', () => {
      const { h, g, v } = setup(c);
      g.unmask()
        .program(regs, 'tval', 2 * MS)
        .capture(regs.cval)
        .waitIrqs(1);
      g.load(v);
      h.vm.run({ until: 1 * MS });
      expect(v.blocked).toBe(true);
      expect(g.irqs).toHaveLength(0);
      h.vm.run({ until: 4 * MS });
      expect(g.irqs).toHaveLength(1);
      expect(g.irqs[0].cnt - g.captured[0] < BigInt(LATENCY)).toBe(true);
      expect(v.stats.blocks).toBeGreaterThanOrEqual(1);
      expect(v.stats.blockedNs).toBeGreaterThan(1.9 * MS);
    });
  });

  it('delivers each vCPU its own timers', () => {
    const h = makeHarness(c, { vcpus: 2 });
    const ids = intidsOf(h.vcpus[0]);
    const guests = h.vcpus.map((v, i) => {
      const g = new TimerGuest(h.driver, ids);
      g.unmask()
        .program(VREGS, 'tval', (i + 1) * 100_000)
        .program(PREGS, 'tval', (i + 1) * 150_000)
        .waitIrqs(2);
      g.load(v);
      return g;
    });
    h.vm.run({ until: 2 * MS });
    guests.forEach((g, i) => {
      expect(g.irqs.map((r) => r.intid)).toEqual([ids.virt, ids.phys]);
      expect(g.irqs.every((r) => r.vcpu === i && r.cnt >= r.cval)).toBe(true);
    });
  });

  it('keeps raising a level interrupt the guest completes without quietening the timer', () => {
    const { h, g, v } = setup(c, 'nothing');
    g.unmask().program(VREGS, 'cval', 10_000);
    g.load(v);
    // the guest never quietens the timer: a storm, until userspace disables it
    h.vm.at(1 * MS, () => v.setOneReg(KVM_REG_ARM_TIMER_CTL, 0n));
    h.vm.run({ until: 1 * MS });
    expect(g.irqs.length).toBeGreaterThanOrEqual(3);
    // at most the interrupt already on its way is still taken
    h.vm.run({ until: 2 * MS });
    const n = g.irqs.length;
    h.vm.run({ until: 3 * MS });
    expect(g.irqs).toHaveLength(n);
    expect(g.irqs.filter((r) => r.t > 1 * MS + 10_000)).toHaveLength(0);
  });
});
