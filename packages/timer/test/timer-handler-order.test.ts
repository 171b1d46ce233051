/**
 * The virtual timer keeps ticking whatever order the guest's handler uses (KVM arch_timer.c with the vgic's
 * resampling of mapped level interrupts, vgic.c vgic_irq_handle_resampling): Linux masks the timer and then
 * EOIs; kvm-unit-tests arm/micro-bench EOIs first and masks after it, so the host interrupt, deactivated by the
 * EOI, fires again before the line drops. And a line that rises and falls while the vCPU is out in userspace
 * (KVM_RUN returned: vcpu_put; the next KVM_RUN: vcpu_load) leaves no host interrupt stuck active.
 * Both with the guest spinning (the vCPU never blocks, so no vcpu_put/vcpu_load repairs anything) and in WFI.
 */
import { KvmExitReason } from '@irqflow/core';
import { KVM_REG_ARM_TIMER_CNT } from '@irqflow/timer';
import { CONTROLLERS, makeHarness } from './support/controllers';
import { TimerGuest, VREGS, type OnIrq } from './support/timer-guest';

const TICKS = 10;
const PERIOD = 20_000;

describe.each(CONTROLLERS.map((c) => [c.name, c] as const))('virtual timer handler order on %s', (_name, c) => {
  it.each([
    ['mask', 'spin'],
    ['mask', 'wfi'],
    ['disable', 'spin'],
    ['eoi-then-mask', 'spin'],
    ['eoi-then-mask', 'wfi'],
  ] as const)('handler %s, waiting by %s: every one of %d ticks arrives', (onIrq: OnIrq, wait) => {
    const h = makeHarness(c);
    const v = h.vcpus[0];
    const g = new TimerGuest(h.driver, { virt: 27, phys: 30 }, onIrq);
    // the deadline `k` was handled: an interrupt whose handler saw that CVAL reached
    const handled = (k: number): boolean => g.irqs.some((r) => r.cval === g.captured[k] && r.cnt >= r.cval);
    let finished = false;
    g.unmask();
    for (let k = 0; k < TICKS; k++) {
      g.program(VREGS, 'cval', PERIOD).capture(VREGS.cval);
      if (wait === 'spin') g.spinUntil(() => handled(k));
      else g.waitUntil(() => handled(k));
    }
    g.hook(() => void (finished = true));
    g.load(v);
    h.vm.run({ until: TICKS * PERIOD * 20 });
    expect(g.captured).toHaveLength(TICKS);
    expect(finished).toBe(true);
    // each deadline handled once (a stale re-delivery of the line's previous state may add records, as on KVM)
    expect(g.captured.filter((_, k) => handled(k))).toHaveLength(TICKS);
  });

  it('a line that rises and falls around a userspace exit does not silence the timer (guest polling)', () => {
    const h = makeHarness(c);
    const v = h.vcpus[0];
    const g = new TimerGuest(h.driver, { virt: 27, phys: 30 }, 'mask');
    // IRQs masked: the line rises (and the host interrupt fires) while the guest cannot take it
    g.mask().work(900_000).program(VREGS, 'cval', 5_000).work(30_000);
    // an MMIO access nobody claims: KVM_RUN returns to userspace, which moves the counter back under CVAL
    g.a.ldra(9, 0x7000_0000);
    g.unmask().spinUntil(() => g.timerIrqs.length >= 1);
    g.load(v);
    let exits = 0;
    h.vm.run({
      until: 2_000_000,
      onExit: (_cpu, run) => {
        expect(run.exitReason).toBe(KvmExitReason.Mmio);
        exits++;
        v.setOneReg(KVM_REG_ARM_TIMER_CNT, v.getOneReg(KVM_REG_ARM_TIMER_CNT) - 100_000n);
      },
    });
    expect(exits).toBe(1);
    // the counter reaches CVAL again ~100 µs later and the interrupt is delivered
    expect(g.timerIrqs).toHaveLength(1);
  });
});
