import { EventFd, type GuestAsm } from '@irqflow/core';
import { gicVm, loggingGuest, ppiLine, spiLine } from './helpers';

describe.each(['gic-v3', 'gic-v2'] as const)('%s injection methods', (name) => {
  const eoiModes = [0, 1];
  /** Adds EOImode 1 setup to the guest and the matching DIR after EOIR. */
  function guest(log: number[], intids: number[], level: boolean, eoimode: number, extra: { handler?: (a: GuestAsm) => void } = {}) {
    const { vm, drv, dev } = gicVm(name, 1);
    const v2 = name === 'gic-v2';
    const a = loggingGuest(drv, intids, log, {
      level,
      eoi: 'none',
      before: (g) => {
        if (eoimode) {
          if (v2) g.movi(0, 0x201).stra(0, 0x08010000);
          else g.movi(0, 2).msr('ICC_CTLR_EL1', 0);
        }
      },
      handler: (g) => {
        extra.handler?.(g);
        if (v2) {
          g.pop(7).stra(7, 0x08010010);
          if (eoimode) g.stra(7, 0x08011000);
        } else {
          g.msr('ICC_EOIR1_EL1', 9);
          if (eoimode) g.msr('ICC_DIR_EL1', 9);
        }
      },
    });
    vm.vcpus[0].setProgram(a.build());
    vm.run({ until: 20_000 });
    return { vm, dev };
  }

  for (const eoimode of eoiModes) {
    it(`IRQ_LINE edge SPI, EOImode ${eoimode}`, () => {
      const log: number[] = [];
      const { vm } = guest(log, [40], false, eoimode);
      vm.irqLine(spiLine(40), 1);
      vm.irqLine(spiLine(40), 0);
      vm.run({ until: 40_000 });
      vm.irqLine(spiLine(40), 1);
      vm.irqLine(spiLine(40), 0);
      vm.run({ until: 60_000 });
      expect(log).toEqual([40, 40]);
      expect(vm.stats().completed).toBe(2);
    });

    it(`IRQ_LINE level SPI re-delivers while high, stops when lowered, EOImode ${eoimode}`, () => {
      const log: number[] = [];
      let lowerAfter = 3;
      const { vm } = guest(log, [41], true, eoimode, {
        handler: (g) =>
          g.call(() => {
            if (--lowerAfter === 0) vm.irqLine(spiLine(41), 0);
          }),
      });
      vm.irqLine(spiLine(41), 1);
      vm.run({ until: 80_000 });
      expect(log).toEqual([41, 41, 41]);
    });

    it(`irqfd edge and level with resamplefd, EOImode ${eoimode}`, () => {
      const log: number[] = [];
      const { vm, dev } = guest(log, [42, 43], true, eoimode);
      // SPI 42 back to edge through userspace ICFGR2 (bit 2*(42-32)+1)
      const cfg = dev.getAttr({ group: 1, attr: 0xc08n });
      dev.setAttr({ group: 1, attr: 0xc08n }, cfg | (1n << 21n));
      const fd = new EventFd('edge');
      const lfd = new EventFd('level');
      const rfd = new EventFd('resample');
      vm.irqfd({ fd, gsi: 10 });
      vm.irqfd({ fd: lfd, gsi: 11, resamplefd: rfd });
      lfd.signal();
      vm.run({ until: 40_000 });
      expect(log).toEqual([43]);
      expect(rfd.signals).toBe(1);
      fd.signal();
      vm.run({ until: 60_000 });
      expect(log).toEqual([43, 42]);
    });

    for (const level of [false, true]) {
      it(`ISPENDR from the guest and from userspace, ${level ? 'level' : 'edge'}, EOImode ${eoimode}`, () => {
        const log: number[] = [];
        const { vm, dev } = guest(log, [44, 45], level, eoimode, {
          // the guest's handler of 44 makes 45 pending itself through GICD_ISPENDR1 (bit 13)
          handler: (g) => {
            const skip = g.fresh('s');
            g.bnei(9, 44, skip)
              .movi(0, 1 << 13)
              .stra(0, 0x08000204)
              .label(skip);
          },
        });
        // userspace: DIST_REGS ISPENDR1 (SPI 44 = bit 12 of word 1) reaches the latch
        dev.setAttr({ group: 1, attr: 0x204n }, 1n << 12n);
        vm.run({ until: 40_000 });
        // a pending latch is consumed once, edge or level (the lines stay low)
        expect(log).toEqual([44, 45]);
      });

      it(`ISACTIVER restore: an active ${level ? 'level' : 'edge'} SPI, then pending, is delivered after ICACTIVER, EOImode ${eoimode}`, () => {
        const log: number[] = [];
        const { vm, dev } = guest(log, [46], level, eoimode, { handler: (g) => g.call(() => vm.irqLine(spiLine(46), 0)) });
        dev.setAttr({ group: 1, attr: 0x304n }, 1n << 14n); // ISACTIVER1: SPI 46 active
        expect(dev.getAttr({ group: 1, attr: 0x304n }) & (1n << 14n)).toBe(1n << 14n);
        vm.irqLine(spiLine(46), 1); // pending while active: not delivered until deactivated
        vm.run({ until: 40_000 });
        expect(log).toEqual([]);
        dev.setAttr({ group: 1, attr: 0x384n }, 1n << 14n); // ICACTIVER1
        vm.irqLine(spiLine(46), 0);
        vm.irqLine(spiLine(46), 1);
        vm.run({ until: 60_000 });
        expect(log).toEqual([46]);
      });
    }
  }

  it('PPI via IRQ_LINE reaches the named vCPU; bad PPI/SPI numbers are EINVAL', () => {
    const log: number[] = [];
    const { vm } = guest(log, [23], true, 0, { handler: (g) => g.call(() => vm.irqLine(ppiLine(0, 23), 0)) });
    vm.irqLine(ppiLine(0, 23), 1);
    vm.run({ until: 40_000 });
    expect(log).toEqual([23]);
    expect(() => vm.irqLine(ppiLine(0, 32), 1)).toThrow(/EINVAL/);
    expect(() => vm.irqLine(ppiLine(0, 15), 1)).toThrow(/EINVAL/);
    expect(() => vm.irqLine(spiLine(31), 1)).toThrow(/EINVAL/);
    expect(() => vm.irqLine(spiLine(256), 1)).toThrow(/EINVAL/);
    expect(() => vm.irqLine(ppiLine(5, 20), 1)).toThrow(/EINVAL/);
  });

  it('a disabled interrupt stays pending and is delivered once enabled', () => {
    const log: number[] = [];
    const { vm, dev } = guest(log, [], false, 0);
    if (name === 'gic-v2') dev.setAttr({ group: 1, attr: 0x828n }, 0x01n); // ITARGETSR: SPI 40 → CPU0
    vm.irqLine(spiLine(50), 1);
    vm.irqLine(spiLine(50), 0);
    vm.run({ until: 40_000 });
    expect(log).toEqual([]);
    expect(dev.getAttr({ group: 1, attr: 0x204n }) & (1n << 18n)).toBe(1n << 18n);
    dev.setAttr({ group: 1, attr: 0x104n }, 1n << 18n); // ISENABLER1: SPI 50
    vm.run({ until: 60_000 });
    expect(log).toEqual([50]);
  });
});

describe('per-vCPU state across VMs', () => {
  it('a vCPU of the hundredth VM has as many state slots as one of the first', () => {
    const first = gicVm('gic-v3', 1).vm.vcpus[0].slots.length;
    let last = 0;
    for (let i = 0; i < 99; i++) last = gicVm(i % 2 ? 'gic-v3' : 'gic-v2', 1).vm.vcpus[0].slots.length;
    expect(last).toBe(first);
  });
});
