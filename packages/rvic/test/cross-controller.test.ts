/* The same guest workload, written against core's GuestIrqDriver, on rVIC and on vGICv3. */
import { Hypervisor } from '@irqflow/core';
import { VgicPlugin } from '@irqflow/vgic';
import { RvicPlugin } from '@irqflow/rvic';
import { deviceMsi, ipiPingPong } from '../src/workloads';

/** Whether the irqchip's guest driver offers MSIs (gic-v3 gains them with its ITS). */
function hasMsi(plugin: typeof RvicPlugin, name: string): boolean {
  const hv = new Hypervisor().use(plugin);
  const vm = hv.createVm();
  vm.createVcpu();
  const drv = hv.irqchip(name).setup(vm);
  return drv.emitMsiSetup !== undefined && drv.msiIrqs !== undefined;
}

describe('one workload, two controllers', () => {
  it.each([
    ['rvic', RvicPlugin],
    ['gic-v3', VgicPlugin],
  ] as const)('%s: the IPI ping-pong (and device MSIs where supported) completes every interrupt', (name, plugin) => {
    const ipi = ipiPingPong([plugin], name, 'gicv3-vhe', 50);
    expect(ipi.interrupts).toBe(100);
    expect(ipi.exitsPerIrq).toBeGreaterThan(0);
    if (name === 'rvic') expect(hasMsi(plugin, name)).toBe(true);
    if (hasMsi(plugin, name)) expect(deviceMsi([plugin], name, 'gicv3-vhe', 50).interrupts).toBe(50);
  });

  it('rVIC traps acknowledge and completion; GICv3 does not, so rVIC takes more exits per IPI', () => {
    const r = ipiPingPong([RvicPlugin], 'rvic', 'gicv3-vhe', 50);
    const g = ipiPingPong([VgicPlugin], 'gic-v3', 'gicv3-vhe', 50);
    expect(r.exitsPerIrq).toBeCloseTo(4, 1); // SIGNAL, WFI, ACKNOWLEDGE, CLEAR_MASKED
    expect(r.exitsPerIrq).toBeGreaterThan(g.exitsPerIrq);
    expect(r.simNsPerIrq).toBeGreaterThan(g.simNsPerIrq);
  });
});
