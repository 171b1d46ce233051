import { Hypervisor } from '@irqflow/core';
import { enableGicV4, gicV4Of, VGIC_GRP, VgicPlugin, vgicDeviceOf } from '@irqflow/vgic';

describe('the "gic-v4" and "gic-v4.1" irqchips', () => {
  it('are GICv3 flavours with the host capability set and direct injection advertised', () => {
    const hv = new Hypervisor().use(VgicPlugin);
    for (const [name, version, cap] of [
      ['gic-v4', '4', 0n],
      ['gic-v4.1', '4.1', 0x100n],
    ] as const) {
      const d = hv.irqchip(name);
      expect(d.features).toEqual(expect.arrayContaining(['direct-injection', 'passthrough', 'ipi', 'level', 'timer']));
      expect(d.maxVcpus).toBe(hv.irqchip('gic-v3').maxVcpus);
      const vm = hv.createVm();
      vm.createVcpu();
      vm.createVcpu();
      d.setup(vm, { msi: false });
      const v4 = gicV4Of(vm)!;
      expect(v4.version).toBe(version);
      expect(v4.vpes).toHaveLength(2);
      expect(vgicDeviceOf(vm)!.vgic.cpus[1].cpuif.vpe).toBe(v4.vpes[1]);
      expect(vgicDeviceOf(vm)!.getAttr({ group: VGIC_GRP.DIST_REGS, attr: 0x0cn })).toBe(cap);
      expect(() => enableGicV4(vm, '4')).toThrow(/EEXIST/);
    }
    expect(hv.irqchip('gic-v3').features).not.toContain('direct-injection');
    const vm3 = hv.createVm();
    vm3.createVcpu();
    hv.irqchip('gic-v3').setup(vm3, { msi: false });
    expect(gicV4Of(vm3)).toBeUndefined();
    expect(vgicDeviceOf(vm3)!.vgic.cpus[0].cpuif.vpe).toBeNull();
  });

  it("VM teardown drops the vPEs' virtual pending state", async () => {
    const hv = new Hypervisor().use(VgicPlugin);
    const vm = hv.createVm();
    vm.createVcpu();
    hv.irqchip('gic-v4').setup(vm, { msi: false });
    const v4 = gicV4Of(vm)!;
    v4.vpes[0].setVlpiPending(8192);
    await vm.destroy();
    expect(v4.vpes[0].pendingVlpis).toEqual([]);
  });
});
