import { ITS_GRP, KVM_VGIC_ITS_ADDR_TYPE } from '@irqflow/vgic';
import { ItsGuest, PEND_BASE, PROP_BASE, RAM_BASE, RAM_SIZE } from './its/support/its-harness';
import { gicVm, loggingGuest } from './helpers';

const ITS = 0x08080000;

describe('LPIs through the ITS on the vGICv3 (end to end)', () => {
  it('an MSI translated by the ITS reaches the guest as an LPI on the list-register path, every time', () => {
    const { vm, drv, dev } = gicVm('gic-v3', 2);
    vm.setUserMemoryRegion({ slot: 0, guestPhysAddr: RAM_BASE, size: RAM_SIZE });
    const logs: number[][] = [[], []];
    vm.vcpus.forEach((v, i) => v.setProgram(loggingGuest(drv, [], logs[i]).build()));
    const its = vm.createDevice(8);
    its.setAttr({ group: ITS_GRP.ADDR, attr: BigInt(KVM_VGIC_ITS_ADDR_TYPE) }, BigInt(ITS));
    its.setAttr({ group: ITS_GRP.CTRL ?? 4, attr: 0n });
    // redistributors: PROPBASER (16 ID bits), PENDBASER, EnableLPIs through REDIST_REGS
    for (const v of vm.vcpus) {
      const k = BigInt(v.mpidr) << 32n;
      dev.setAttr({ group: 5, attr: k | 0x70n }, BigInt(PROP_BASE | 15));
      dev.setAttr({ group: 5, attr: k | 0x78n }, BigInt(PEND_BASE + v.index * 0x10000));
      dev.setAttr({ group: 5, attr: k | 0x0n }, 1n);
      expect(dev.getAttr({ group: 5, attr: k | 0x0n })).toBe(1n);
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

  it('a GICv2 VM has no MSI path (ENODEV) and cannot host an ITS', () => {
    const { vm } = gicVm('gic-v2', 1);
    expect(() => vm.signalMsi({ address: ITS + 0x10040, data: 1, devid: 7, flags: 1 })).toThrow(/ENODEV/);
    expect(() => vm.createDevice(8)).toThrow(/ENODEV/);
  });
});
