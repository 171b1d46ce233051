/** KVM_ARM_VCPU_TIMER_CTRL: the timer PPIs, KVM's errnos, VM-wide effect, and the PPIs actually used. */
import { Errno, isKvmError, type Vcpu } from '@irqflow/core';
import {
  DEFAULT_PTIMER_PPI,
  DEFAULT_VTIMER_PPI,
  KVM_ARM_VCPU_TIMER_CTRL as G,
  KVM_ARM_VCPU_TIMER_IRQ_HPTIMER,
  KVM_ARM_VCPU_TIMER_IRQ_HVTIMER,
  KVM_ARM_VCPU_TIMER_IRQ_PTIMER,
  KVM_ARM_VCPU_TIMER_IRQ_VTIMER,
} from '@irqflow/timer';
import { CONTROLLERS, makeHarness } from './support/controllers';
import { PREGS, TimerGuest, VREGS } from './support/timer-guest';

const VT = BigInt(KVM_ARM_VCPU_TIMER_IRQ_VTIMER);
const PT = BigInt(KVM_ARM_VCPU_TIMER_IRQ_PTIMER);

function errnoOf(fn: () => unknown): Errno | undefined {
  try {
    fn();
  } catch (e) {
    if (isKvmError(e)) return e.errno;
    throw e;
  }
  return undefined;
}

describe.each(CONTROLLERS.map((c) => [c.name, c] as const))('timer vCPU attributes on %s', (_name, c) => {
  it('reads the defaults 27 / 30 / 28 / 26 and has exactly attributes 0..3', () => {
    const { vcpus } = makeHarness(c);
    const v = vcpus[0];
    expect(v.getAttr(G, VT)).toBe(BigInt(DEFAULT_VTIMER_PPI));
    expect(v.getAttr(G, PT)).toBe(BigInt(DEFAULT_PTIMER_PPI));
    expect(v.getAttr(G, BigInt(KVM_ARM_VCPU_TIMER_IRQ_HVTIMER))).toBe(28n);
    expect(v.getAttr(G, BigInt(KVM_ARM_VCPU_TIMER_IRQ_HPTIMER))).toBe(26n);
    expect([0n, 1n, 2n, 3n, 4n].map((a) => v.hasAttr(G, a))).toEqual([true, true, true, true, false]);
    expect(errnoOf(() => v.getAttr(G, 4n))).toBe(Errno.ENXIO);
  });

  it('accepts PPIs 16..31 only (EINVAL), rejects unknown attributes (ENXIO), keeps the old value on error', () => {
    const { vcpus } = makeHarness(c);
    const v = vcpus[0];
    expect(errnoOf(() => v.setAttr(G, VT, 15n))).toBe(Errno.EINVAL);
    expect(errnoOf(() => v.setAttr(G, VT, 32n))).toBe(Errno.EINVAL);
    expect(errnoOf(() => v.setAttr(G, 7n, 20n))).toBe(Errno.ENXIO);
    expect(v.getAttr(G, VT)).toBe(27n);
    v.setAttr(G, VT, 16n);
    v.setAttr(G, PT, 31n);
    expect(v.getAttr(G, VT)).toBe(16n);
    expect(v.getAttr(G, PT)).toBe(31n);
    v.setAttr(G, BigInt(KVM_ARM_VCPU_TIMER_IRQ_HVTIMER), 20n);
    expect(v.getAttr(G, BigInt(KVM_ARM_VCPU_TIMER_IRQ_HVTIMER))).toBe(20n);
  });

  it('applies a changed number VM-wide', () => {
    const { vcpus } = makeHarness(c, { vcpus: 2 });
    vcpus[1].setAttr(G, VT, 21n);
    expect(vcpus[0].getAttr(G, VT)).toBe(21n);
  });

  it('fails EBUSY once a vCPU of the VM ran', () => {
    const h = makeHarness(c, { vcpus: 2 });
    const g = new TimerGuest(h.driver, { virt: 27, phys: 30 });
    g.load(h.vcpus[0]);
    h.vm.run({ until: 1000, only: h.vcpus[0] });
    expect(errnoOf(() => h.vcpus[1].setAttr(G, VT, 20n))).toBe(Errno.EBUSY);
    expect(h.vcpus[1].getAttr(G, VT)).toBe(27n);
  });

  it('delivers the timers on the configured PPIs', () => {
    const h = makeHarness(c);
    const v: Vcpu = h.vcpus[0];
    v.setAttr(G, VT, 20n);
    v.setAttr(G, PT, 22n);
    const g = new TimerGuest(h.driver, { virt: 20, phys: 22 });
    g.unmask().program(VREGS, 'tval', 1000).waitIrqs(1).program(PREGS, 'tval', 1000).waitIrqs(2);
    g.load(v);
    h.vm.run({ until: 1_000_000 });
    expect(g.irqs.map((r) => r.intid)).toEqual([20, 22]);
  });

  it('refuses to run with both timers on one PPI (EINVAL at the first run)', () => {
    const h = makeHarness(c);
    const v = h.vcpus[0];
    v.setAttr(G, PT, 27n);
    new TimerGuest(h.driver, { virt: 27, phys: 27 }).load(v);
    expect(errnoOf(() => h.vm.run({ until: 1000 }))).toBe(Errno.EINVAL);
  });
});

describe('timer vCPU attributes without an in-kernel irqchip', () => {
  it('setting a PPI fails EINVAL; reading works', () => {
    const c = CONTROLLERS[0];
    const vm = c.hypervisor().createVm();
    const v = vm.createVcpu();
    expect(errnoOf(() => v.setAttr(G, VT, 20n))).toBe(Errno.EINVAL);
    expect(v.getAttr(G, VT)).toBe(27n);
  });
});
