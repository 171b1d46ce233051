import { IrqchipState } from '@irqflow/core';
import { boot, exits, passthrough, v4Vm } from './support';

/** One device (DeviceID 1) with `n` events → LPIs 8192 + e in collection 0 (vCPU 0) unless `coll` says otherwise. */
function mapEvents(t: ReturnType<typeof v4Vm>, n: number, coll: (e: number) => number = () => 0): void {
  for (let e = 0; e < n; e++) t.g.prop(8192 + e, 0xa0, true);
  t.g.mapd(1, 4);
  t.g.mapc(0, 0);
  if (t.vm.vcpus.length > 1) t.g.mapc(1, 1);
  for (let e = 0; e < n; e++) t.g.mapti(1, e, 8192 + e, coll(e));
}

describe('GICv4 vPEs: residency, direct delivery, doorbells', () => {
  it('a forwarded vLPI for a resident vPE reaches the guest with no exit and no irqfd signal', () => {
    const t = v4Vm('4', 1);
    const log: number[] = [];
    boot(t, [log], 20_000, { busy: true });
    mapEvents(t, 1);
    const { pt, fds } = passthrough(t, 1, [0]);
    const vpe = t.v4!.vpes[0];
    const v = t.vm.vcpus[0];
    expect(vpe.resident).toBe(true);
    expect(pt.vectors[0].hostIrq.forward).not.toBeNull();
    for (let k = 0; k < 5; k++) {
      const before = exits(v);
      pt.raise(0);
      t.vm.run({ until: 30_000 + k * 10_000 });
      expect(exits(v)).toBe(before); // zero exits per interrupt
    }
    expect(log).toEqual([8192, 8192, 8192, 8192, 8192]);
    expect(vpe.stats.direct).toBe(5);
    expect(vpe.stats.acked).toBe(5);
    expect(fds[0].signals).toBe(0);
    expect(pt.vectors[0].hostIrq.forwarded).toBe(5);
    expect(pt.vectors[0].hostIrq.fired).toBe(0); // the host handler never ran
    expect(t.v4!.stats.forwarded).toBe(5);
  });

  it('the same workload on a GICv3 host goes irqfd → ITS → list register, with an exit per interrupt', () => {
    const t = v4Vm(null, 1);
    const log: number[] = [];
    boot(t, [log], 20_000, { busy: true });
    mapEvents(t, 1);
    const { pt, fds } = passthrough(t, 1, [0]);
    const v = t.vm.vcpus[0];
    for (let k = 0; k < 5; k++) {
      const before = exits(v);
      pt.raise(0);
      t.vm.run({ until: 30_000 + k * 10_000 });
      expect(exits(v)).toBeGreaterThan(before);
    }
    expect(log).toEqual([8192, 8192, 8192, 8192, 8192]);
    expect(fds[0].signals).toBe(5);
    expect(pt.vectors[0].hostIrq.forward).toBeNull();
  });

  it('residency follows load/put and blocking/unblocking; a blocked vPE has its doorbell armed', () => {
    const t = v4Vm('4', 1);
    const log: number[] = [];
    boot(t, [log]); // WFI guest: blocked now
    const vpe = t.v4!.vpes[0];
    expect(t.vm.vcpus[0].blocked).toBe(true);
    expect(vpe.resident).toBe(false);
    expect(vpe.blocking).toBe(true);
    expect(vpe.doorbellArmed).toBe(true);
    mapEvents(t, 1);
    const { pt } = passthrough(t, 1, [0]);
    pt.raise(0);
    // the doorbell (a host interrupt) fired and kicked the vCPU out of WFI
    expect(vpe.stats.doorbells).toBe(1);
    expect(vpe.doorbell.fired).toBe(1);
    expect(t.vm.hv.hostIrqs.getIrqchipState(vpe.doorbell.irq, IrqchipState.Active)).toBe(false);
    expect(vpe.doorbellArmed).toBe(false);
    expect(t.vm.vcpus[0].blocked).toBe(false);
    t.vm.run({ until: 40_000 });
    expect(log).toEqual([8192]);
    expect(vpe.stats.deferred).toBe(1);
    expect(vpe.stats.direct).toBe(0);
    // blocked again: armed again
    expect(vpe.resident).toBe(false);
    expect(vpe.doorbellArmed).toBe(true);
  });

  it('WFI wake-up: the doorbell rings once per blocking; every vLPI pending meanwhile is delivered', () => {
    const t = v4Vm('4', 1);
    const log: number[] = [];
    boot(t, [log]);
    mapEvents(t, 3);
    const { pt } = passthrough(t, 1, [0, 1, 2]);
    const vpe = t.v4!.vpes[0];
    pt.raise(0);
    pt.raise(1);
    pt.raise(2);
    expect(vpe.stats.doorbells).toBe(1);
    expect(vpe.pendingVlpis).toEqual([8192, 8193, 8194]);
    t.vm.run({ until: 40_000 });
    expect(log).toEqual([8192, 8193, 8194]);
    expect(vpe.pendingVlpis).toEqual([]);
  });

  it('a vLPI that is disabled does not ring the doorbell; enabling it with INV does, and it is delivered', () => {
    const t = v4Vm('4', 1);
    const log: number[] = [];
    boot(t, [log]);
    mapEvents(t, 1);
    const { pt } = passthrough(t, 1, [0]);
    const vpe = t.v4!.vpes[0];
    t.g.prop(8192, 0xa0, false);
    t.g.inv(1, 0);
    pt.raise(0);
    expect(vpe.stats.doorbells).toBe(0);
    expect(t.vm.vcpus[0].blocked).toBe(true);
    t.vm.run({ until: 40_000 });
    expect(log).toEqual([]);
    t.g.prop(8192, 0xa0, true);
    t.g.inv(1, 0);
    expect(vpe.stats.doorbells).toBe(1);
    t.vm.run({ until: 60_000 });
    expect(log).toEqual([8192]);
    expect(pt.vectors[0].hostIrq.forward).not.toBeNull(); // INV keeps the mapping (its_prop_update_vlpi)
  });

  it('the CPU interface orders vLPIs by priority and honours PMR', () => {
    const t = v4Vm('4', 1);
    const log: number[] = [];
    boot(t, [log]);
    mapEvents(t, 2);
    t.g.prop(8193, 0x80, true);
    t.g.inv(1, 1);
    const { pt } = passthrough(t, 1, [0, 1]);
    pt.raise(0);
    pt.raise(1);
    t.vm.run({ until: 40_000 });
    expect(log).toEqual([8193, 8192]); // 0x80 beats 0xa0
    // PMR 0xf0 (set by the driver) masks priority 0xf0 and lower
    t.g.prop(8192, 0xf0, true);
    t.g.inv(1, 0);
    pt.raise(0);
    t.vm.run({ until: 60_000 });
    expect(log).toEqual([8193, 8192]);
    expect(t.v4!.vpes[0].pendingVlpis).toEqual([8192]);
    expect(t.vm.vcpus[0].blocked).toBe(true); // a masked vLPI does not keep WFI from blocking
  });

  it('KVM_SIGNAL_MSI to a forwarded vLPI lands in the virtual pending table (the physical LPI is made pending)', () => {
    const t = v4Vm('4', 1);
    const log: number[] = [];
    boot(t, [log], 20_000, { busy: true });
    mapEvents(t, 1);
    passthrough(t, 1, [0]);
    const v = t.vm.vcpus[0];
    const before = exits(v);
    expect(t.vm.signalMsi({ address: 0x08090040, data: 0, devid: 1, flags: 1 })).toBe(1);
    expect(t.v4!.vpes[0].pendingVlpis).toEqual([8192]);
    t.vm.run({ until: 40_000 });
    expect(log).toEqual([8192]);
    expect(exits(v)).toBe(before);
  });
});
