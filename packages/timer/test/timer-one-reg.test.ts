/**
 * Userspace access: the timer ONE_REGs (ids as KVM numbers them), setting the guest-visible counter, the
 * VM-wide counter offset, and save/restore of running timers into a fresh VM.
 */
import { Errno, Hypervisor, isKvmError, type Vcpu } from '@irqflow/core';
import {
  arm64SysReg,
  KVM_REG_ARM_PTIMER_CNT,
  KVM_REG_ARM_PTIMER_CTL,
  KVM_REG_ARM_PTIMER_CVAL,
  KVM_REG_ARM_TIMER_CNT,
  KVM_REG_ARM_TIMER_CTL,
  KVM_REG_ARM_TIMER_CVAL,
  setCounterOffset,
} from '@irqflow/timer';
import { CONTROLLERS, makeHarness } from './support/controllers';
import { PREGS, TimerGuest, VREGS } from './support/timer-guest';

const MS = 1_000_000;

function errnoOf(fn: () => unknown): Errno | undefined {
  try {
    fn();
  } catch (e) {
    if (isKvmError(e)) return e.errno;
    throw e;
  }
  return undefined;
}

describe('timer ONE_REG ids', () => {
  it('are ARM64_SYS_REG encodings, with CNT and CVAL swapped as in KVM', () => {
    expect(KVM_REG_ARM_TIMER_CTL).toBe(0x603000000013df19n);
    expect(KVM_REG_ARM_TIMER_CNT).toBe(0x603000000013df1an);
    expect(KVM_REG_ARM_TIMER_CVAL).toBe(0x603000000013df02n);
    expect(KVM_REG_ARM_PTIMER_CTL).toBe(arm64SysReg(3, 3, 14, 2, 1));
    expect(KVM_REG_ARM_PTIMER_CNT).toBe(0x603000000013df01n);
    expect(KVM_REG_ARM_PTIMER_CVAL).toBe(0x603000000013df12n);
  });
});

describe.each(CONTROLLERS.map((c) => [c.name, c] as const))('timer ONE_REGs on %s', (_name, c) => {
  it('CTL and CVAL read back what the guest wrote; CNT reads the counter', () => {
    const h = makeHarness(c);
    const v = h.vcpus[0];
    const g = new TimerGuest(h.driver, { virt: 27, phys: 30 });
    g.a.movi(9, 0x123456789an).msr('CNTV_CVAL_EL0', 9).movi(9, 0xabcd).msr('CNTP_CVAL_EL0', 9);
    g.ctl(VREGS, 3).ctl(PREGS, 1);
    g.load(v);
    h.vm.run({ until: 1 * MS });
    expect(v.getOneReg(KVM_REG_ARM_TIMER_CVAL)).toBe(0x123456789an);
    expect(v.getOneReg(KVM_REG_ARM_PTIMER_CVAL)).toBe(0xabcdn);
    expect(v.getOneReg(KVM_REG_ARM_TIMER_CTL)).toBe(3n);
    expect(v.getOneReg(KVM_REG_ARM_PTIMER_CTL)).toBe(1n | 4n);
    expect(v.getOneReg(KVM_REG_ARM_TIMER_CNT)).toBe(BigInt(Math.floor(h.vm.now)));
    expect(v.getOneReg(KVM_REG_ARM_PTIMER_CNT)).toBe(BigInt(Math.floor(h.vm.now)));
  });

  it('setting TIMER_CNT sets the guest-visible virtual counter of every vCPU, not the physical one', () => {
    const h = makeHarness(c, { vcpus: 2 });
    const [a, b] = h.vcpus;
    a.setOneReg(KVM_REG_ARM_TIMER_CNT, 1_000_000_000n);
    expect(a.getOneReg(KVM_REG_ARM_TIMER_CNT)).toBe(1_000_000_000n);
    expect(b.getOneReg(KVM_REG_ARM_TIMER_CNT)).toBe(1_000_000_000n);
    expect(b.getOneReg(KVM_REG_ARM_PTIMER_CNT)).toBe(0n);
    const g = new TimerGuest(h.driver, { virt: 27, phys: 30 });
    let t0 = 0;
    g.hook((x) => (t0 = x.clock))
      .capture('CNTVCT_EL0')
      .capture('CNTPCT_EL0');
    g.load(b);
    h.vm.run({ until: 1 * MS, only: b });
    const t = BigInt(Math.floor(t0));
    expect(g.captured[0] - t - 1_000_000_000n).toBeGreaterThanOrEqual(0n);
    expect(g.captured[0] - t - 1_000_000_000n).toBeLessThan(1000n);
    expect(g.captured[1] - t).toBeGreaterThanOrEqual(0n);
    expect(g.captured[1] - t).toBeLessThan(1000n);
  });

  it('KVM_ARM_SET_COUNTER_OFFSET offsets both counters, then CNT writes are ignored; EBUSY after a vCPU ran', () => {
    const h = makeHarness(c);
    const v = h.vcpus[0];
    setCounterOffset(h.vm, -5000n);
    expect(v.getOneReg(KVM_REG_ARM_TIMER_CNT)).toBe(5000n);
    expect(v.getOneReg(KVM_REG_ARM_PTIMER_CNT)).toBe(5000n);
    v.setOneReg(KVM_REG_ARM_TIMER_CNT, 1n);
    expect(v.getOneReg(KVM_REG_ARM_TIMER_CNT)).toBe(5000n);
    new TimerGuest(h.driver, { virt: 27, phys: 30 }).load(v);
    h.vm.run({ until: 1000 });
    expect(errnoOf(() => setCounterOffset(h.vm, 0n))).toBe(Errno.EBUSY);
    expect(v.getOneReg(KVM_REG_ARM_TIMER_CNT)).toBe(5000n + BigInt(Math.floor(h.vm.now)));
  });

  it('a VM without the timer plugin has no counter offset (ENXIO)', () => {
    const vm = c.hypervisor().createVm();
    expect(errnoOf(() => setCounterOffset(vm, 0n))).toBeUndefined();
    const bare = new Hypervisor().createVm();
    expect(errnoOf(() => setCounterOffset(bare, 0n))).toBe(Errno.ENXIO);
  });

  it('save/restore: a running VM and its restored copy fire their timers at identical simulated times', () => {
    const T = 3 * MS;
    const regs = [
      KVM_REG_ARM_TIMER_CNT,
      KVM_REG_ARM_TIMER_CVAL,
      KVM_REG_ARM_TIMER_CTL,
      KVM_REG_ARM_PTIMER_CNT,
      KVM_REG_ARM_PTIMER_CVAL,
      KVM_REG_ARM_PTIMER_CTL,
    ];
    // source: programs both timers, then only waits; one extra programming after the first two interrupts
    const src = makeHarness(c);
    const sv = src.vcpus[0];
    sv.setOneReg(KVM_REG_ARM_TIMER_CNT, 123_456_789n);
    const gs = new TimerGuest(src.driver, { virt: 27, phys: 30 });
    gs.program(VREGS, 'tval', 5 * MS)
      .program(PREGS, 'cval', 7 * MS)
      .unmask()
      .waitIrqs(2);
    gs.load(sv);
    src.vm.run({ until: T });
    expect(gs.irqs).toHaveLength(0);
    const saved = regs.map((id) => sv.getOneReg(id));

    // destination: created at the same simulated time, state restored, a guest that only waits
    const dst = makeHarness(c, { startAt: T });
    const dv: Vcpu = dst.vcpus[0];
    expect(dst.vm.now).toBe(T);
    regs.forEach((id, i) => dv.setOneReg(id, saved[i]));
    const gd = new TimerGuest(dst.driver, { virt: 27, phys: 30 });
    gd.unmask().waitIrqs(2);
    gd.load(dv);
    dst.vm.run({ until: 20 * MS });
    src.vm.run({ until: 20 * MS });

    expect(gs.irqs).toHaveLength(2);
    expect(gd.irqs).toHaveLength(2);
    gs.irqs.forEach((r, i) => {
      const d = gd.irqs[i];
      expect(d.intid).toBe(r.intid);
      expect(d.cval).toBe(r.cval);
      expect(d.cnt).toBe(r.cnt);
      expect(d.t).toBeCloseTo(r.t, 6);
    });
    expect(gs.irqs[0].cval - 123_456_789n).toBeGreaterThanOrEqual(5_000_000n);
    // the restored counters read what the source's read at the same moment
    expect(dv.getOneReg(KVM_REG_ARM_TIMER_CNT)).toBe(sv.getOneReg(KVM_REG_ARM_TIMER_CNT));
    expect(dv.getOneReg(KVM_REG_ARM_PTIMER_CNT)).toBe(sv.getOneReg(KVM_REG_ARM_PTIMER_CNT));
  });
});
