import { GIC_BOARD } from '@irqflow/vgic';
import { ItsGuest, PEND_BASE, PROP_BASE, RAM_BASE, RAM_SIZE } from './its/support/its-harness';
import { gicVm, loggingGuest } from './helpers';

const ITS = GIC_BOARD.ITS; // the gic-v3 board's ITS (created by the descriptor)

describe('LPIs through the ITS on the vGICv3 (end to end)', () => {
  it('an MSI translated by the ITS reaches the guest as an LPI on the list-register path, every time', () => {
    const { vm, drv, dev } = gicVm('gic-v3', 2);
    vm.setUserMemoryRegion({ slot: 0, guestPhysAddr: RAM_BASE, size: RAM_SIZE });
    const logs: number[][] = [[], []];
    vm.vcpus.forEach((v, i) => v.setProgram(loggingGuest(drv, [], logs[i]).build()));
    // redistributors: PROPBASER (16 ID bits), PENDBASER, EnableLPIs through REDIST_REGS
    for (const v of vm.vcpus) {
      const k = BigInt(v.mpidr) << 32n;
      dev.setAttr({ group: 5, attr: k | 0x70n }, BigInt(PROP_BASE | 15));
      dev.setAttr({ group: 5, attr: k | 0x78n }, BigInt(PEND_BASE + v.index * 0x10000));
      dev.setAttr({ group: 5, attr: k | 0x0n }, 1n);
      expect(dev.getAttr({ group: 5, attr: k | 0x0n })).toBe(7n); // EnableLPIs | CES | IR
      expect(dev.getAttr({ group: 5, attr: k | 0x8n }) & 1n).toBe(1n); // GICR_TYPER.PLPIS
    }
    expect((dev.getAttr({ group: 1, attr: 0x4n }) >> 17n) & 1n).toBe(1n); // GICD_TYPER.LPIS
    const g = new ItsGuest(vm, ITS);
    g.prop(8200, 0xa0, true);
    g.prop(8201, 0xa0, true);
    g.setup();
    g.mapd(7, 4);
    g.mapc(0, 0);
    g.mapc(1, 1);
    g.mapti(7, 1, 8200, 0);
    g.mapti(7, 2, 8201, 1);
    vm.run({ until: 20_000 });
    const msi = (ev: number) => vm.signalMsi({ address: ITS + 0x10040, data: ev, devid: 7, flags: 1 });
    expect(msi(1)).toBe(1);
    vm.run({ until: 40_000 });
    expect(msi(1)).toBe(1);
    expect(msi(2)).toBe(1);
    vm.run({ until: 60_000 });
    expect(logs).toEqual([[8200, 8200], [8201]]);
    expect(vm.stats().completed).toBe(0); // LPIs have no active state: nothing is deactivated
  });

  it('an MSI for an LPI the guest has acknowledged (before the next exit) makes it pending again: two deliveries', () => {
    const { vm, drv, dev } = gicVm('gic-v3', 1);
    vm.setUserMemoryRegion({ slot: 0, guestPhysAddr: RAM_BASE, size: RAM_SIZE });
    const log: number[] = [];
    const msi = () => vm.signalMsi({ address: ITS + 0x10040, data: 3, devid: 5, flags: 1 });
    let again = 0;
    const guest = loggingGuest(drv, [], log, {
      // Runs in the guest between the untrapped ICC_IAR1 read and ICC_EOIR1: the LR no longer holds the LPI
      // pending, the vCPU has not exited. The device fires the same MSI again right now.
      handler: (a) =>
        a.call(() => {
          if (again++ === 0) expect(msi()).toBe(1);
        }),
    });
    vm.vcpus[0].setProgram(guest.build());
    const k = BigInt(vm.vcpus[0].mpidr) << 32n;
    dev.setAttr({ group: 5, attr: k | 0x70n }, BigInt(PROP_BASE | 15));
    dev.setAttr({ group: 5, attr: k | 0x78n }, BigInt(PEND_BASE));
    dev.setAttr({ group: 5, attr: k | 0x0n }, 1n);
    const g = new ItsGuest(vm, ITS);
    g.prop(8300, 0xa0, true);
    g.setup();
    g.mapd(5, 4);
    g.mapc(0, 0);
    g.mapti(5, 3, 8300, 0);
    vm.run({ until: 20_000 });
    expect(msi()).toBe(1);
    vm.run({ until: 60_000 });
    expect(log).toEqual([8300, 8300]);
    expect(vm.vcpus[0].stats.acked).toBe(2);
    expect(msi()).toBe(1); // and the LPI keeps working afterwards
    vm.run({ until: 80_000 });
    expect(log).toEqual([8300, 8300, 8300]);
  });

  it('a pending LPI follows MOVI to its new vCPU, keeps its latch while disabled, and is dropped by DISCARD', () => {
    const { vm, drv, dev } = gicVm('gic-v3', 2);
    vm.setUserMemoryRegion({ slot: 0, guestPhysAddr: RAM_BASE, size: RAM_SIZE });
    const logs: number[][] = [[], []];
    vm.vcpus.forEach((v, i) => v.setProgram(loggingGuest(drv, [], logs[i]).build()));
    for (const v of vm.vcpus) {
      const k = BigInt(v.mpidr) << 32n;
      dev.setAttr({ group: 5, attr: k | 0x70n }, BigInt(PROP_BASE | 15));
      dev.setAttr({ group: 5, attr: k | 0x78n }, BigInt(PEND_BASE + v.index * 0x10000));
      dev.setAttr({ group: 5, attr: k | 0x0n }, 1n);
    }
    const g = new ItsGuest(vm, ITS);
    g.prop(8400, 0xa0, false);
    g.prop(8401, 0xa0, true);
    g.setup();
    g.mapd(2, 4);
    g.mapc(0, 0);
    g.mapc(1, 1);
    g.mapti(2, 0, 8400, 0);
    g.mapti(2, 1, 8401, 0);
    vm.run({ until: 20_000 });
    const msi = (ev: number) => vm.signalMsi({ address: ITS + 0x10040, data: ev, devid: 2, flags: 1 });
    expect(msi(0)).toBe(1); // disabled: latched only
    vm.run({ until: 30_000 });
    g.movi(2, 0, 1);
    g.prop(8400, 0xa0, true);
    g.inv(2, 0);
    vm.run({ until: 50_000 });
    expect(logs).toEqual([[], [8400]]);
    expect(msi(1)).toBe(1);
    g.discard(2, 1); // before vCPU 0 ran: the pending LPI goes with its ITE
    vm.run({ until: 70_000 });
    expect(logs).toEqual([[], [8400]]);
    expect(msi(1)).toBe(0);
  });

  it('a GICv2 VM has no MSI path (ENODEV) and cannot host an ITS', () => {
    const { vm } = gicVm('gic-v2', 1);
    expect(() => vm.signalMsi({ address: ITS + 0x10040, data: 1, devid: 7, flags: 1 })).toThrow(/ENODEV/);
    expect(() => vm.createDevice(8)).toThrow(/ENODEV/);
  });
});

describe('GICR_INVLPIR / GICR_INVALLR (GICv3.1 direct LPI invalidation)', () => {
  const REDIST = 0x080a0000;
  function setup() {
    const { vm, drv, dev } = gicVm('gic-v3', 2);
    vm.setUserMemoryRegion({ slot: 0, guestPhysAddr: RAM_BASE, size: RAM_SIZE });
    const logs: number[][] = [[], []];
    vm.vcpus.forEach((v, i) => v.setProgram(loggingGuest(drv, [], logs[i]).build()));
    for (const v of vm.vcpus) {
      const k = BigInt(v.mpidr) << 32n;
      dev.setAttr({ group: 5, attr: k | 0x70n }, BigInt(PROP_BASE | 15));
      dev.setAttr({ group: 5, attr: k | 0x78n }, BigInt(PEND_BASE + v.index * 0x10000));
      dev.setAttr({ group: 5, attr: k | 0x0n }, 1n);
    }
    const g = new ItsGuest(vm, ITS);
    for (const id of [8200, 8201, 8202]) g.prop(id, 0xa0, false);
    g.setup();
    g.mapd(7, 4);
    g.mapc(0, 0);
    g.mapc(1, 1);
    g.mapti(7, 0, 8200, 0);
    g.mapti(7, 1, 8201, 0);
    g.mapti(7, 2, 8202, 1);
    vm.run({ until: 20_000 });
    // The guest enables the three LPIs in the property table but has not invalidated yet: MSIs latch pending only.
    for (const id of [8200, 8201, 8202]) g.prop(id, 0xa0, true);
    for (const ev of [0, 1, 2]) expect(vm.signalMsi({ address: ITS + 0x10040, data: ev, devid: 7, flags: 1 })).toBe(1);
    vm.run({ until: 40_000 });
    expect(logs).toEqual([[], []]);
    /** A guest store to redistributor `rd`'s RD_base at `off`. */
    const gicr = (rd: number, off: number, lo: number, len: 4 | 8 = 8): void => {
      const r = vm.mmio.find(REDIST + rd * 0x20000)!;
      expect(r.dev.write(vm.vcpus[rd], REDIST + rd * 0x20000 + off - r.base, len, { lo, hi: 0 })).toBe(true);
    };
    const gicrRead = (rd: number, off: number): number => {
      const r = vm.mmio.find(REDIST + rd * 0x20000)!;
      const v = { lo: -1, hi: -1 };
      r.dev.read(vm.vcpus[rd], REDIST + rd * 0x20000 + off - r.base, 4, v);
      return v.lo >>> 0;
    };
    return { vm, logs, gicr, gicrRead, g, dev };
  }

  it("INVLPIR re-reads one LPI's property byte; INVALLR every LPI targeting that redistributor", () => {
    const { vm, logs, gicr, gicrRead } = setup();
    expect(gicrRead(0, 0x0) & 6).toBe(6); // GICR_CTLR.IR | CES advertise the registers
    gicr(0, 0xa0, 8200);
    vm.run({ until: 60_000 });
    expect(logs).toEqual([[8200], []]);
    gicr(1, 0xb0, 0); // INVALLR of redistributor 1: only 8202 targets it
    vm.run({ until: 80_000 });
    expect(logs).toEqual([[8200], [8202]]);
    gicr(0, 0xb0, 0, 4);
    vm.run({ until: 100_000 });
    expect(logs).toEqual([[8200, 8201], [8202]]);
    expect(gicrRead(0, 0xc0)).toBe(0); // GICR_SYNCR.Busy = 0: invalidation is synchronous
    expect(gicrRead(0, 0xa0)).toBe(0);
  });

  it('INVLPIR of a non-LPI INTID, an unmapped LPI, or on a redistributor with LPIs disabled does nothing', () => {
    const { vm, logs, gicr, dev } = setup();
    gicr(0, 0xa0, 40);
    gicr(0, 0xa0, 9999);
    const k0 = BigInt(vm.vcpus[0].mpidr) << 32n;
    dev.setAttr({ group: 5, attr: k0 | 0xa0n }, 8200n); // userspace (REDIST_REGS): WI, as KVM
    dev.setAttr({ group: 5, attr: k0 | 0xb0n }, 0n);
    gicr(1, 0x0, 0, 4); // redistributor 1: EnableLPIs = 0
    gicr(1, 0xb0, 0);
    gicr(1, 0xa0, 8202);
    vm.run({ until: 60_000 });
    expect(logs).toEqual([[], []]);
    gicr(0, 0xa0, 8201); // and a real one still works
    vm.run({ until: 80_000 });
    expect(logs).toEqual([[8201], []]);
  });

  it('INVLPIR after the guest disables an LPI stops it from being delivered; it stays pending', () => {
    const { vm, logs, gicr, g } = setup();
    g.prop(8200, 0xa0, false);
    gicr(0, 0xa0, 8200);
    gicr(0, 0xb0, 0);
    vm.run({ until: 60_000 });
    expect(logs).toEqual([[8201], []]);
    g.prop(8200, 0xa0, true);
    gicr(0, 0xa0, 8200);
    vm.run({ until: 80_000 });
    expect(logs).toEqual([[8201, 8200], []]);
  });
});
