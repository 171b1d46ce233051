/**
 * Enabling the timers at the first run (kvm_timer_enable) and the mapped virtual timer's host interrupt
 * (references §1): owner claims, host interrupt allocation, the fallback to injectIrq, and the host line not
 * firing again while the guest has not deactivated the virtual interrupt.
 */
import { Errno, IrqchipState, isKvmError, SMCCC_VERSION } from '@irqflow/core';
import { CONTROLLERS, makeHarness } from './support/controllers';
import { TestIrqchip } from './support/test-irqchip';
import { TimerGuest, VREGS } from './support/timer-guest';

const MS = 1_000_000;

describe('timer enable at the first run', () => {
  const c = CONTROLLERS[0];

  it('fails ENODEV while the irqchip is not initialised', () => {
    const hv = c.hypervisor();
    const vm = hv.createVm();
    const v = vm.createVcpu();
    vm.setIrqchip({}, 'uninitialised');
    new TimerGuest(new TestIrqchip(vm, true).driver(), { virt: 27, phys: 30 }).load(v);
    let errno: Errno | undefined;
    try {
      vm.run({ until: 1000 });
    } catch (e) {
      if (isKvmError(e)) errno = e.errno;
    }
    expect(errno).toBe(Errno.ENODEV);
  });

  it('propagates an owner conflict from the controller (EBUSY)', () => {
    const h = makeHarness(c);
    const v = h.vcpus[0];
    h.vm.flow.setOwner(v, 27, 'someone else');
    new TimerGuest(h.driver, { virt: 27, phys: 30 }).load(v);
    let errno: Errno | undefined;
    try {
      h.vm.run({ until: 1000 });
    } catch (e) {
      if (isKvmError(e)) errno = e.errno;
    }
    expect(errno).toBe(Errno.EBUSY);
  });

  it('without an in-kernel irqchip the timers count but deliver nothing', () => {
    const vm = c.hypervisor().createVm();
    const v = vm.createVcpu();
    const g = new TimerGuest(new TestIrqchip(vm, true).driver(), { virt: 27, phys: 30 });
    g.a.daifclr(2);
    g.program(VREGS, 'tval', 1000).work(30_000).capture('CNTV_CTL_EL0');
    g.a.movi(0, 0).hvc(); // no-op exit
    g.load(v);
    vm.run({ until: 1 * MS });
    expect(g.captured).toEqual([5n]);
    expect(v.stats.irqsTaken).toBe(0);
  });
});

describe.each(CONTROLLERS.map((c) => [c.name, c] as const))('timer connection on %s', (_name, c) => {
  it(c.mapped ? 'maps the virtual timer to a host interrupt' : 'falls back to injectIrq (no host interrupt)', () => {
    const h = makeHarness(c);
    const g = new TimerGuest(h.driver, { virt: 27, phys: 30 });
    // first expiry while the vCPU computes (loaded: the hardware timer's host interrupt), the second while it
    // is blocked in WFI (KVM's background timer updates the level directly)
    g.unmask().program(VREGS, 'tval', 10_000).spin(100, 300).waitIrqs(1);
    g.program(VREGS, 'tval', 10_000).waitIrqs(2);
    g.load(h.vcpus[0]);
    const before = h.hv.hostIrqs.all.length;
    h.vm.run({ until: 1 * MS });
    expect(g.irqs).toHaveLength(2);
    expect(h.vcpus[0].stats.blocks).toBeGreaterThanOrEqual(1);
    const vtimerIrqs = h.hv.hostIrqs.all.slice(before).filter((x) => x.name.startsWith('vtimer/'));
    expect(vtimerIrqs).toHaveLength(c.mapped ? 1 : 0);
    if (c.mapped) {
      expect(vtimerIrqs[0].fired).toBe(1);
      expect(vtimerIrqs[0].active).toBe(false); // the guest deactivated it
    }
  });
});

describe.each(CONTROLLERS.filter((c) => c.mapped).map((c) => [c.name, c] as const))('mapped virtual timer on %s', (_name, c) => {
  it('the host line does not fire again until the guest deactivates the virtual interrupt', () => {
    const h = makeHarness(c);
    const v = h.vcpus[0];
    const g = new TimerGuest(h.driver, { virt: 27, phys: 30 });
    const host: { fired: number; active: boolean; pending: boolean }[] = [];
    const snap = (): void => {
      g.hook(() => {
        const x = h.hv.hostIrqs.all.find((i) => i.name.startsWith(`vtimer/vm${h.vm.id}/`))!;
        host.push({ fired: x.fired, active: x.active, pending: x.pending });
      });
    };
    // IRQs masked at PSTATE: acknowledge by hand
    g.work(30_000).program(VREGS, 'cval', -100);
    snap(); // fired once, active
    h.driver.emitAck(g.a, 20);
    g.ctl(VREGS, 0).ctl(VREGS, 1); // line drops and rises again while active
    snap(); // still fired once; pending
    h.driver.emitEoi(g.a, 20, { level: true }); // guest deactivates: the pending host line fires again
    g.a.movi(0, SMCCC_VERSION).hvc();
    snap();
    g.ctl(VREGS, 0);
    g.load(v);
    h.vm.run({ until: 1 * MS });
    expect(host[0]).toEqual({ fired: 1, active: true, pending: true });
    expect(host[1]).toEqual({ fired: 1, active: true, pending: true });
    if (c.hostRefiresAfterEoi) {
      // GIC: deactivating the HW-mapped virtual interrupt deactivates the host one, which fires again
      expect(host[2].fired).toBe(2);
    } else {
      // rVIC: RESAMPLE found the line high, re-pended the interrupt and kept the host interrupt active
      expect(host[2].fired).toBe(1);
    }
    expect(host[2].active).toBe(true);
    // a drop with the host interrupt active clears its pending state
    const x = h.hv.hostIrqs.all.find((i) => i.name.startsWith(`vtimer/vm${h.vm.id}/`))!;
    expect(h.hv.hostIrqs.getIrqchipState(x.irq, IrqchipState.Pending)).toBe(false);
  });
});
