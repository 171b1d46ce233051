/**
 * The virtual timer on the third-party "pic" controller keeps ticking whichever order the guest's handler masks
 * and completes in (Linux: mask, then EOI; kvm-unit-tests micro-bench: EOI, then mask), spinning or in WFI, and a
 * line that rises and falls around a userspace exit does not silence it — the timer package's handler-order
 * cases (packages/timer/test/timer-handler-order.test.ts) on a controller written against the public API only.
 */
import { KvmExitReason } from '@irqflow/core';
import { KVM_REG_ARM_TIMER_CNT } from '@irqflow/timer';
import { createHypervisor } from '@irqflow/examples';
import { TimerGuest, VREGS, type OnIrq } from '../../../timer/test/support/timer-guest';

const TICKS = 10;
const PERIOD = 20_000;

function picVm(): { vm: ReturnType<ReturnType<typeof createHypervisor>['hv']['createVm']>; g: (onIrq: OnIrq) => TimerGuest } {
  const { hv } = createHypervisor({ traceCapacity: 1 });
  const vm = hv.createVm();
  vm.createVcpu(0);
  const driver = hv.irqchip('pic').setup(vm, {});
  return { vm, g: (onIrq) => new TimerGuest(driver, { virt: driver.timerIntids!.virt, phys: driver.timerIntids!.phys }, onIrq) };
}

describe('virtual timer handler order on pic', () => {
  it.each([
    ['mask', 'spin'],
    ['mask', 'wfi'],
    ['eoi-then-mask', 'spin'],
    ['eoi-then-mask', 'wfi'],
  ] as const)('handler %s, waiting by %s: every tick arrives', (onIrq: OnIrq, wait) => {
    const { vm, g: make } = picVm();
    const g = make(onIrq);
    const handled = (k: number): boolean => g.irqs.some((r) => r.cval === g.captured[k] && r.cnt >= r.cval);
    let finished = false;
    g.unmask();
    for (let k = 0; k < TICKS; k++) {
      g.program(VREGS, 'cval', PERIOD).capture(VREGS.cval);
      if (wait === 'spin') g.spinUntil(() => handled(k));
      else g.waitUntil(() => handled(k));
    }
    g.hook(() => void (finished = true));
    g.load(vm.vcpus[0]);
    vm.run({ until: TICKS * PERIOD * 20 });
    expect(g.captured).toHaveLength(TICKS);
    expect(finished).toBe(true);
    expect(g.captured.filter((_, k) => handled(k))).toHaveLength(TICKS);
  });

  it('a line that rises and falls around a userspace exit does not silence the timer (guest polling)', () => {
    const { vm, g: make } = picVm();
    const v = vm.vcpus[0];
    const g = make('mask');
    g.mask().work(900_000).program(VREGS, 'cval', 5_000).work(30_000);
    g.a.ldra(9, 0x7000_0000);
    g.unmask().spinUntil(() => g.timerIrqs.length >= 1);
    g.load(v);
    let exits = 0;
    vm.run({
      until: 2_000_000,
      onExit: (_cpu, run) => {
        expect(run.exitReason).toBe(KvmExitReason.Mmio);
        exits++;
        v.setOneReg(KVM_REG_ARM_TIMER_CNT, v.getOneReg(KVM_REG_ARM_TIMER_CNT) - 100_000n);
      },
    });
    expect(exits).toBe(1);
    expect(g.timerIrqs).toHaveLength(1);
  });
});
