/**
 * The timer system registers (Arm DDI 0487 D12): CNTFRQ_EL0, the counters, CTL/CVAL/TVAL arithmetic with 64-bit
 * wrap-around, read-only registers, and which accesses trap.
 */
import { ExitReason, SYSREGS } from '@irqflow/core';
import { CNTFRQ_HZ, KVM_REG_ARM_TIMER_CNT, setCounterOffset } from '@irqflow/timer';
import { CONTROLLERS, makeHarness } from './support/controllers';
import { PREGS, TimerGuest, VREGS } from './support/timer-guest';

const MS = 1_000_000;
const TWO64 = 1n << 64n;

/** At 1 ms (after any controller bring-up), userspace sets the virtual counter `below` ticks under 2^64; the guest spins until then. */
function nearWrap(h: ReturnType<typeof makeHarness>, g: TimerGuest, below: bigint): void {
  let ready = false;
  h.vm.at(1 * MS, () => {
    h.vcpus[0].setOneReg(KVM_REG_ARM_TIMER_CNT, TWO64 - below);
    ready = true;
  });
  g.spinUntil(() => ready);
}

describe('the counter offset', () => {
  it('KVM_ARM_SET_COUNTER_OFFSET near 2^64 makes both counters wrap', () => {
    const h = makeHarness(CONTROLLERS[0]);
    setCounterOffset(h.vm, 1000n);
    const g = new TimerGuest(h.driver, { virt: 27, phys: 30 });
    g.capture('CNTVCT_EL0').work(6000).capture('CNTVCT_EL0').capture('CNTPCT_EL0');
    g.load(h.vcpus[0]);
    h.vm.run({ until: 1 * MS });
    expect(g.captured[0]).toBeGreaterThan(TWO64 - 1000n);
    expect(g.captured[1]).toBeLessThan(2000n);
    expect(g.captured[2]).toBeLessThan(2000n);
  });
});

describe.each(CONTROLLERS.map((c) => [c.name, c] as const))('timer system registers on %s', (_name, c) => {
  function guest(): { h: ReturnType<typeof makeHarness>; g: TimerGuest } {
    const h = makeHarness(c);
    return { h, g: new TimerGuest(h.driver, { virt: 27, phys: 30 }) };
  }

  it('CNTFRQ_EL0 reads the model frequency and the counters follow simulated time', () => {
    const { h, g } = guest();
    let t0 = 0;
    let t1 = 0;
    g.capture('CNTFRQ_EL0')
      .hook((v) => (t0 = v.clock))
      .capture('CNTVCT_EL0')
      .work(3_000_000);
    g.hook((v) => (t1 = v.clock)).capture('CNTPCT_EL0');
    g.load(h.vcpus[0]);
    h.vm.run({ until: 2 * MS });
    expect(g.captured[0]).toBe(BigInt(CNTFRQ_HZ));
    // the read happens after the access is charged: within a few ns of the hook
    expect(Number(g.captured[1]) - t0).toBeGreaterThanOrEqual(0);
    expect(Number(g.captured[1]) - t0).toBeLessThan(10);
    expect(Number(g.captured[2]) - t1).toBeGreaterThanOrEqual(0);
    expect(Number(g.captured[2]) - t1).toBeLessThan(1000);
    expect(Number(g.captured[2] - g.captured[1])).toBeGreaterThanOrEqual(1 * MS);
  });

  it('CNTP_* and CNTPCT_EL0 trap (emulated physical timer); CNTV_*, CNTVCT_EL0 and CNTFRQ_EL0 do not', () => {
    const { h, g } = guest();
    g.capture('CNTVCT_EL0').capture('CNTV_CTL_EL0').capture('CNTV_CVAL_EL0').capture('CNTV_TVAL_EL0').capture('CNTFRQ_EL0');
    g.program(VREGS, 'tval', 1 * MS, 0);
    g.hook((v) => {
      expect(v.stats.exits[ExitReason.Sysreg]).toBe(0);
    });
    g.capture('CNTPCT_EL0').capture('CNTP_CTL_EL0').capture('CNTP_CVAL_EL0').capture('CNTP_TVAL_EL0');
    g.program(PREGS, 'tval', 1 * MS, 0);
    g.load(h.vcpus[0]);
    h.vm.run({ until: 1 * MS });
    const v = h.vcpus[0];
    expect(v.stats.exits[ExitReason.Sysreg]).toBe(6);
    for (const r of ['CNTPCT_EL0', 'CNTP_CTL_EL0', 'CNTP_CVAL_EL0', 'CNTP_TVAL_EL0'] as const) {
      expect(v.stats.traps.get(SYSREGS[r])).toBeGreaterThanOrEqual(1);
    }
    expect(v.stats.traps.get(SYSREGS.CNTV_CTL_EL0)).toBeUndefined();
  });

  it('counters and CNTFRQ_EL0 are read-only: a write is UNDEFINED', () => {
    const { h, g } = guest();
    g.work(30_000).a.movi(9, 5).msr('CNTVCT_EL0', 9).msr('CNTPCT_EL0', 9).msr('CNTFRQ_EL0', 9);
    g.capture('CNTVCT_EL0');
    g.load(h.vcpus[0]);
    h.vm.run({ until: 1 * MS });
    expect(h.vcpus[0].stats.faults).toBe(3);
    expect(g.captured[0]).toBeGreaterThan(5n);
  });

  it('CTL keeps ENABLE and IMASK, ignores writes to ISTATUS and RES0 bits', () => {
    const { h, g } = guest();
    g.ctl(VREGS, 0xfff8).capture('CNTV_CTL_EL0').ctl(VREGS, 0x6).capture('CNTV_CTL_EL0');
    g.load(h.vcpus[0]);
    h.vm.run({ until: 1 * MS });
    expect(g.captured).toEqual([0n, 2n]);
  });

  it('TVAL reads bits [31:0] of CVAL - counter and writes sign-extend', () => {
    const { h, g } = guest();
    // at counter c: TVAL = -1 sets CVAL = c - 1; TVAL = 0x7fffffff sets CVAL = c + 2^31 - 1
    g.work(30_000).capture('CNTVCT_EL0').a.movi(9, 0xffffffff).msr('CNTV_TVAL_EL0', 9);
    g.capture('CNTV_CVAL_EL0').capture('CNTV_TVAL_EL0');
    g.capture('CNTVCT_EL0').a.movi(9, 0x7fffffff).msr('CNTV_TVAL_EL0', 9);
    g.capture('CNTV_CVAL_EL0');
    g.load(h.vcpus[0]);
    h.vm.run({ until: 1 * MS });
    const [c0, cval0, tval0, c1, cval1] = g.captured;
    // CVAL = (counter at the write, a few ticks after c0) - 1
    expect(cval0 - c0).toBeGreaterThanOrEqual(-1n);
    expect(cval0 - c0).toBeLessThan(10n);
    // elapsed time makes TVAL more negative: zero-extended 32-bit two's complement
    expect(tval0).toBeGreaterThan(0xffff0000n);
    expect(tval0).toBeLessThanOrEqual(0xffffffffn);
    expect(cval1 - c1).toBeGreaterThanOrEqual(0x7fffffffn);
    expect(cval1 - c1).toBeLessThan(0x7fffffffn + 20n);
  });

  it('CVAL and TVAL wrap around 2^64: a deadline past the wrap compares unsigned and meets at once', () => {
    const { h, g } = guest();
    // at 1 ms (after any controller bring-up) userspace puts the counter 50,000 ticks below 2^64
    nearWrap(h, g, 50_000n);
    g.capture('CNTVCT_EL0').program(VREGS, 'tval', 100_000).capture('CNTV_CVAL_EL0').capture('CNTV_TVAL_EL0');
    g.capture('CNTV_CTL_EL0').unmask().waitIrqs(1);
    g.load(h.vcpus[0]);
    h.vm.run({ until: 3 * MS });
    const [c0, cval, tval, ctl] = g.captured;
    expect(c0).toBeGreaterThan(TWO64 - 50_000n);
    // CVAL = counter + 100,000 mod 2^64: just past the wrap
    expect(cval).toBeGreaterThanOrEqual((c0 + 100_000n) % TWO64);
    expect(cval).toBeLessThan(((c0 + 100_000n) % TWO64) + 20n);
    // TVAL still shows the (positive) distance, but counter >= CVAL holds: ISTATUS and an interrupt at once
    // (taken between the reads: the IRQ exit with its host IRQ handling and the timer's host handler, ~1 µs)
    expect(tval).toBeGreaterThan(98_000n);
    expect(tval).toBeLessThanOrEqual(100_000n);
    expect(ctl).toBe(5n);
    expect(g.irqs).toHaveLength(1);
    expect(g.irqs[0].cnt > g.irqs[0].cval).toBe(true);
  });

  it('a timer met just below 2^64 drops its line when the counter wraps, and meets again at CVAL', () => {
    const { h, g } = guest();
    nearWrap(h, g, 100_000n); // counter = 2^64 - 100,000 at 1 ms
    // handler does nothing: IRQs stay masked, so observe ISTATUS and the controller's pending state
    g.a.movi(9, TWO64 - 40_000n).msr('CNTV_CVAL_EL0', 9);
    g.ctl(VREGS, 1);
    const samples: { t: number; ctl: bigint; pending?: boolean }[] = [];
    const sample = (): void => {
      g.capture('CNTV_CTL_EL0').hook((v) =>
        samples.push({ t: v.clock, ctl: g.captured[g.captured.length - 1], pending: h.pending?.(v, 27) }),
      );
    };
    g.work(80_000 * 3); // 80 µs later: counter 2^64 - 20,000 (met)
    sample();
    g.work(40_000 * 3); // 120 µs later: counter 20,000 (wrapped, not met)
    sample();
    g.load(h.vcpus[0]);
    h.vm.run({ until: 3 * MS });
    expect(samples[0].ctl).toBe(5n);
    expect(samples[1].ctl).toBe(1n);
    if (h.pending) {
      expect(samples[0].pending).toBe(true);
      expect(samples[1].pending).toBe(false);
    }
  });

  it('a negative TVAL at a counter below its magnitude wraps CVAL near 2^64: not met', () => {
    const { h, g } = guest();
    g.unmask().capture('CNTVCT_EL0').program(VREGS, 'tval', -1_000_000).capture('CNTV_CVAL_EL0').capture('CNTV_CTL_EL0');
    g.load(h.vcpus[0]);
    h.vm.run({ until: 2 * MS });
    const [c0, cval, ctl] = g.captured;
    expect(c0).toBeLessThan(1_000_000n);
    expect(cval).toBeGreaterThan(TWO64 - 1_000_000n);
    expect(ctl).toBe(1n);
    expect(g.irqs).toHaveLength(0);
  });
});
