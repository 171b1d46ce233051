import { type GuestAsm, type Msi } from '@irqflow/core';
import { GIC_BOARD, GIC_ITS_RAM, type ItsKvmDevice } from '@irqflow/vgic';
import { gicVm, loggingGuest } from './helpers';

describe('gic-v3 irqchip: MSIs through the board ITS (emitMsiSetup)', () => {
  it('the guest driver maps (devid, event) → LPI → target vCPU through the command queue; MSIs arrive exactly once each', () => {
    const { vm, drv } = gicVm('gic-v3', 2);
    expect(drv.msiIrqs).toEqual({ first: 8192, count: 65536 - 8192 });
    const logs: number[][] = [[], []];
    const msis: Msi[] = [];
    vm.vcpus.forEach((v, i) =>
      v.setProgram(
        loggingGuest(drv, [], logs[i], {
          before: (a: GuestAsm) => {
            if (i !== 0) return;
            msis.push(drv.emitMsiSetup!(a, { devid: 3, event: 0, intid: 8192 + 48, target: 0 }));
            msis.push(drv.emitMsiSetup!(a, { devid: 3, event: 1, intid: 8192 + 49, target: 1 }));
            msis.push(drv.emitMsiSetup!(a, { devid: 9, event: 5, intid: 8192 + 50, target: 1 }));
          },
        }).build(),
      ),
    );
    expect(msis[0]).toEqual({ address: GIC_BOARD.ITS + 0x10040, data: 0, devid: 3, flags: 1 });
    expect(vm.memory.isRam(GIC_ITS_RAM.BASE, GIC_ITS_RAM.SIZE)).toBe(true); // the tables' RAM slot
    vm.run({ until: 50_000 });
    const its = (vm.devices.find((d) => d.type === 8) as ItsKvmDevice).its;
    expect(its.stats.commandErrors).toBe(0);
    expect(its.stats.commands).toBe(2 + 2 + 3 * 2); // MAPD ×2, MAPC ×2, (MAPTI + SYNC) ×3
    for (const m of msis) expect(vm.signalMsi(m)).toBe(1);
    expect(vm.signalMsi(msis[0])).toBe(1); // pending already: merged
    vm.run({ until: 100_000 });
    expect(logs).toEqual([[8240], [8241, 8242].sort()].map((l) => l.sort()));
    expect(vm.signalMsi({ ...msis[2], data: 6 })).toBe(0); // unmapped event
  });

  it('emitEnable of an LPI writes its property byte and invalidates it (GICR_INVLPIR), no GICD access', () => {
    const { vm, drv } = gicVm('gic-v3', 1);
    const log: number[] = [];
    let m!: Msi;
    vm.vcpus[0].setProgram(
      loggingGuest(drv, [], log, {
        before: (a: GuestAsm) => {
          m = drv.emitMsiSetup!(a, { devid: 1, event: 0, intid: 9000, target: 0 });
          drv.emitEnable(a, 9000, { priority: 0x80 });
        },
      }).build(),
    );
    vm.run({ until: 50_000 });
    expect(vm.memory.readU8(GIC_ITS_RAM.BASE + 9000 - 8192)).toBe(0x81);
    const irq = (vm.devices.find((d) => d.type === 7) as unknown as { vgic: { lpis: Map<number, { priority: number }> } }).vgic.lpis.get(
      9000,
    )!;
    expect(irq.priority).toBe(0x80); // re-read through GICR_INVLPIR
    expect(vm.signalMsi(m)).toBe(1);
    vm.run({ until: 100_000 });
    expect(log).toEqual([9000]);
  });

  it('with msi: false the board has no ITS and the driver offers no MSIs', () => {
    const { vm, drv } = gicVm('gic-v3', 1, { msi: false } as never);
    expect(typeof drv.emitMsiSetup).toBe('undefined');
    expect(vm.devices.some((d) => d.type === 8)).toBe(false);
  });
});
