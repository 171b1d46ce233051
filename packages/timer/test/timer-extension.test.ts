/** The "arch-timer" extension: registration through TimerPlugin, per-VM isolation, and the VM dump. */
import { Hypervisor } from '@irqflow/core';
import { archTimerExtension, TimerPlugin } from '@irqflow/timer';
import { CONTROLLERS, makeHarness } from './support/controllers';
import { TimerGuest, VREGS } from './support/timer-guest';

describe('TimerPlugin', () => {
  it('registers the "arch-timer" extension once', () => {
    const hv = new Hypervisor().use(TimerPlugin).use(TimerPlugin);
    expect(hv.extensions.map((e) => e.name)).toEqual(['arch-timer']);
    expect(hv.extensions[0]).toBe(archTimerExtension);
  });

  it('gives every VM its own counter offset and timers', () => {
    const hv = CONTROLLERS[0].hypervisor();
    const a = makeHarness(CONTROLLERS[0], { hv });
    const b = makeHarness(CONTROLLERS[0], { hv });
    a.vcpus[0].setOneReg(0x603000000013df1an, 777n);
    expect(b.vcpus[0].getOneReg(0x603000000013df1an)).toBe(0n);
  });
});

describe.each(CONTROLLERS.map((c) => [c.name, c] as const))('arch-timer dump on %s', (_name, c) => {
  it('shows each timer with its interrupt, registers, line and connection', () => {
    const h = makeHarness(c);
    const g = new TimerGuest(h.driver, { virt: 27, phys: 30 }, 'nothing');
    g.program(VREGS, 'cval', 1000, 3).spin(3000, 300);
    g.load(h.vcpus[0]);
    h.vm.run({ until: 1_000_000 });
    const d = h.vm.dump();
    expect(d).toContain('arch-timer vcpu0:');
    expect(d).toMatch(/vtimer intid=27 ctl=0x7 cval=0x[0-9a-f]+ cnt=0x[0-9a-f]+ line=0 fired=0 /);
    expect(d).toMatch(/ptimer intid=30 ctl=0x0 .* emulated/);
    expect(d).toContain(c.mapped ? 'host ' : 'vtimer intid=27');
  });
});
