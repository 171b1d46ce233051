import { PEND_BASE } from '../its/support/its-harness';
import { ITS_GRP } from '@irqflow/vgic';
import { boot, msiRoute, passthrough, v4Vm } from './support';

/**
 * Pending-table loads of forwarded vLPIs (KVM's vgic_v3_lpi_sync_pending_status on an `irq->hw` LPI): the set bit
 * belongs in the vPE's virtual pending table, not on the software list-register path.
 */
describe('GICv4: loading a pending table routes forwarded vLPIs to their vPE', () => {
  it('GICR_CTLR.EnableLPIs 0 → 1 puts a forwarded vLPI pending in the pending table into the VPT (doorbell)', () => {
    const t = v4Vm('4', 2);
    const logs: number[][] = [[], []];
    boot(t, logs); // both vCPUs wait in WFI
    t.g.prop(8192, 0xa0, true);
    t.g.mapd(1, 2);
    t.g.mapc(0, 0);
    t.g.mapti(1, 0, 8192, 0);
    const { pt } = passthrough(t, 1, [0]);
    expect(t.v4!.mappingOfVlpi(8192)).toBeDefined();
    const ctlr0 = { group: 5, attr: BigInt(t.vm.vcpus[0].mpidr) << 32n };
    t.dev.setAttr(ctlr0, 0n); // EnableLPIs off on vCPU 0's redistributor
    t.vm.memory.writeU8(PEND_BASE + (8192 >>> 3), 1); // the guest's pending table says 8192 is pending
    const lrPath = t.vm.vcpus[0].stats.injected;
    t.dev.setAttr(ctlr0, 1n); // EnableLPIs on: the table is loaded
    expect(t.v4!.vpes[0].isVlpiPending(8192)).toBe(true);
    expect(t.v4!.isPending(8192)).toBe(true);
    t.vm.run({ until: 40_000 });
    expect(logs).toEqual([[8192], []]); // exactly once
    expect(t.v4!.vpes[0].stats.doorbells).toBe(1); // the vPE's doorbell woke the blocked vCPU
    expect(t.v4!.vpes[0].isVlpiPending(8192)).toBe(false);
    expect(t.vm.vcpus[0].stats.injected - lrPath).toBe(1);
    expect(pt.vectors[0].hostIrq.forward).not.toBeNull(); // still forwarded
  });

  it('ITS save → restore: the pending bit of a vLPI comes back into the VPT once the producer is forwarded again', () => {
    const t = v4Vm('4.1', 1); // GICv4.1: without it KVM refuses ITS_SAVE_TABLES while a vLPI is forwarded (EACCES)
    const logs: number[][] = [[]];
    boot(t, logs);
    t.g.prop(8192, 0xa0, false); // disabled: the vLPI stays pending in the VPT
    t.g.mapd(1, 2);
    t.g.mapc(0, 0);
    t.g.mapti(1, 0, 8192, 0);
    const { pt } = passthrough(t, 1, [0]);
    pt.raise(0);
    expect(t.v4!.isPending(8192)).toBe(true);
    t.dev.setAttr({ group: 4, attr: 3n }); // SAVE_PENDING_TABLES (the VPT bit goes to the guest's table)
    t.its.setAttr({ group: ITS_GRP.CTRL, attr: 1n }); // ITS_SAVE_TABLES
    t.g.mapd(1, 2, undefined, false); // the device goes (the mapping and VPT bit with it), the tables stay in RAM
    t.g.mapc(0, 0, false);
    expect(t.v4!.mappings).toEqual([]);
    t.its.setAttr({ group: ITS_GRP.CTRL, attr: 2n }); // ITS_RESTORE_TABLES: the LPI and its pending bit are back
    t.vm.setGsiRouting([msiRoute(100, 1, 0)]); // the VMM commits the route again: the producer is re-forwarded
    expect(t.v4!.mappingOfVlpi(8192)).toBeDefined();
    expect(t.v4!.isPending(8192)).toBe(true);
    t.g.prop(8192, 0xa0, true);
    t.g.inv(1, 0);
    t.vm.run({ until: 60_000 });
    expect(logs).toEqual([[8192]]); // exactly once
    expect(t.v4!.isPending(8192)).toBe(false);
  });
});
