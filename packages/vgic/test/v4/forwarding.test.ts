import { EventFd } from '@irqflow/core';
import { ITS_GRP } from '@irqflow/vgic';
import { PEND_BASE } from '../its/support/its-harness';
import { boot, msiRoute, passthrough, v4Vm, type V4TestVm } from './support';

/**
 * Reference expectation: after every change the forwarded set must equal exactly what the ITS translation
 * says — host IRQ of vector i ↔ (LPI of its event, target vCPU) — for the first producer of each vLPI, and
 * nothing else. `expected` lists [vector, intid, vcpu] triples.
 */
function expectForwarding(
  t: V4TestVm,
  pt: { vectors: { hostIrq: { irq: number; forward: unknown } }[] },
  expected: [number, number, number][],
): void {
  const got = pt.vectors
    .map((v, i) => [i, t.v4!.mappingOfHostIrq(v.hostIrq.irq)] as const)
    .filter(([, m]) => m !== undefined)
    .map(([i, m]) => [i, m!.intid, m!.vcpu]);
  expect(got).toEqual(expected);
  pt.vectors.forEach((v, i) => expect(v.hostIrq.forward !== null).toBe(expected.some(([k]) => k === i)));
}

/** 2 vCPUs in WFI, device 1 with events 0..3 → LPIs 8192..8195, events 0,1 in collection 0 (vCPU 0), 2,3 in 1. */
function setup() {
  const t = v4Vm('4', 2);
  const logs: number[][] = [[], []];
  boot(t, logs);
  for (let e = 0; e < 4; e++) t.g.prop(8192 + e, 0xa0, true);
  t.g.mapd(1, 4);
  t.g.mapc(0, 0);
  t.g.mapc(1, 1);
  for (let e = 0; e < 4; e++) t.g.mapti(1, e, 8192 + e, e < 2 ? 0 : 1);
  const { pt, fds } = passthrough(t, 1, [0, 1, 2, 3]);
  let now = 20_000;
  const fire = (i: number) => {
    pt.raise(i);
    now += 10_000;
    t.vm.run({ until: now });
  };
  return { t, logs, pt, fds, fire };
}

describe('GICv4 forwarding stays consistent with the ITS translation and the GSI routing', () => {
  it('every MSI route that translates is forwarded to its own vLPI on its target vPE', () => {
    const { t, logs, pt, fds, fire } = setup();
    expectForwarding(t, pt, [
      [0, 8192, 0],
      [1, 8193, 0],
      [2, 8194, 1],
      [3, 8195, 1],
    ]);
    [0, 1, 2, 3].forEach(fire);
    expect(logs).toEqual([
      [8192, 8193],
      [8194, 8195],
    ]);
    expect(fds.map((f) => f.signals)).toEqual([0, 0, 0, 0]);
    expect(t.v4!.stats.mapped).toBe(4);
  });

  it('MOVI re-targets the vLPI to the new vPE (VMOVI) and keeps it forwarded', () => {
    const { t, logs, pt, fds, fire } = setup();
    t.g.movi(1, 0, 1);
    expectForwarding(t, pt, [
      [0, 8192, 1],
      [1, 8193, 0],
      [2, 8194, 1],
      [3, 8195, 1],
    ]);
    expect(pt.vectors[0].hostIrq.affinity).toBe(t.v4!.vpes[1]);
    fire(0);
    expect(logs).toEqual([[], [8192]]);
    expect(fds[0].signals).toBe(0);
    expect(t.v4!.stats.moved).toBe(1);
  });

  it('MOVI moves a pending vLPI with it', () => {
    const { t, logs, pt } = setup();
    t.g.prop(8192, 0xa0, false);
    t.g.inv(1, 0);
    pt.raise(0); // pending but disabled on vPE 0
    expect(t.v4!.vpes[0].pendingVlpis).toEqual([8192]);
    t.g.movi(1, 0, 1);
    expect(t.v4!.vpes[0].pendingVlpis).toEqual([]);
    expect(t.v4!.vpes[1].pendingVlpis).toEqual([8192]);
    t.g.prop(8192, 0xa0, true);
    t.g.inv(1, 0);
    t.vm.run({ until: 60_000 });
    expect(logs).toEqual([[], [8192]]);
  });

  it('DISCARD unmaps the vLPI first: the host interrupt goes back to software injection, which drops it', () => {
    const { t, logs, pt, fds, fire } = setup();
    t.g.discard(1, 1);
    expectForwarding(t, pt, [
      [0, 8192, 0],
      [2, 8194, 1],
      [3, 8195, 1],
    ]);
    fire(1);
    expect(fds[1].signals).toBe(1); // software path
    expect(logs).toEqual([[], []]); // no translation: dropped by the ITS
    expect(pt.vectors[1].hostIrq.forwarded).toBe(0);
  });

  it('DISCARD drops a pending vLPI', () => {
    const { t, logs, pt } = setup();
    t.g.prop(8193, 0xa0, false);
    t.g.inv(1, 1);
    pt.raise(1);
    t.g.discard(1, 1);
    expect(t.v4!.vpes[0].pendingVlpis).toEqual([]);
    t.g.prop(8193, 0xa0, true);
    t.vm.run({ until: 60_000 });
    expect(logs).toEqual([[], []]);
  });

  it('MAPD V=0 unmaps every vLPI of the device; MAPD remapping a device does too', () => {
    const a = setup();
    a.t.g.mapd(1, 4, undefined, false);
    expectForwarding(a.t, a.pt, []);
    [0, 1, 2, 3].forEach(a.fire);
    expect(a.logs).toEqual([[], []]);
    expect(a.fds.map((f) => f.signals)).toEqual([1, 1, 1, 1]);
    const b = setup();
    b.t.g.mapd(1, 4); // remap: the ITT is new and empty
    expectForwarding(b.t, b.pt, []);
  });

  it("MAPC retarget moves the collection's vLPIs; MAPC V=0 unmaps them and software injection then drops the MSIs", () => {
    const { t, logs, pt, fds, fire } = setup();
    t.g.mapc(0, 1);
    expectForwarding(t, pt, [
      [0, 8192, 1],
      [1, 8193, 1],
      [2, 8194, 1],
      [3, 8195, 1],
    ]);
    fire(0);
    expect(logs).toEqual([[], [8192]]);
    t.g.mapc(1, 1, false);
    expectForwarding(t, pt, [
      [0, 8192, 1],
      [1, 8193, 1],
    ]);
    fire(2);
    expect(fds[2].signals).toBe(1);
    expect(logs).toEqual([[], [8192]]); // collection unmapped: dropped
    t.g.mapc(1, 0); // mapped again: software injection delivers (no forwarding until the routing is set again)
    fire(2);
    expect(logs).toEqual([[8194], [8192]]);
    expect(fds[2].signals).toBe(2);
    // the VMM re-sets the routing (kvm_arch_update_irqfd_routing): forwarded again
    t.vm.setGsiRouting([0, 1, 2, 3].map((e) => msiRoute(100 + e, 1, e)));
    expectForwarding(t, pt, [
      [0, 8192, 1],
      [1, 8193, 1],
      [2, 8194, 0],
      [3, 8195, 0],
    ]);
    fire(2);
    expect(logs).toEqual([[8194, 8194], [8192]]);
    expect(fds[2].signals).toBe(2);
  });

  it('INV/INVALL keep the mapping and apply the new configuration; CLEAR drops the pending bit', () => {
    const { t, logs, pt, fire } = setup();
    t.g.prop(8194, 0xa0, false);
    t.g.invall(1);
    expectForwarding(t, pt, [
      [0, 8192, 0],
      [1, 8193, 0],
      [2, 8194, 1],
      [3, 8195, 1],
    ]);
    fire(2);
    expect(logs).toEqual([[], []]);
    expect(t.v4!.vpes[1].pendingVlpis).toEqual([8194]);
    t.g.clear(1, 2);
    expect(t.v4!.vpes[1].pendingVlpis).toEqual([]);
    t.g.prop(8194, 0xa0, true);
    t.g.invall(1);
    t.vm.run({ until: 80_000 });
    expect(logs).toEqual([[], []]);
    fire(2);
    expect(logs).toEqual([[], [8194]]);
  });

  it('a routing change unmaps the old vLPI before mapping the new one', () => {
    const { t, logs, pt, fds, fire } = setup();
    // vector 0 now signals event 3: its vLPI 8195 is already mapped by vector 3 → vector 0 stays on software
    t.vm.setGsiRouting([3, 1, 2, 3].map((e, i) => msiRoute(100 + i, 1, e)));
    expectForwarding(t, pt, [
      [1, 8193, 0],
      [2, 8194, 1],
      [3, 8195, 1],
    ]);
    expect(t.v4!.mappingOfVlpi(8192)).toBeUndefined();
    fire(0);
    expect(logs).toEqual([[], [8195]]);
    expect(fds[0].signals).toBe(1);
    // a route to an event with no translation: nothing forwarded
    t.vm.setGsiRouting([9, 1, 2, 3].map((e, i) => msiRoute(100 + i, 1, e)));
    expectForwarding(t, pt, [
      [1, 8193, 0],
      [2, 8194, 1],
      [3, 8195, 1],
    ]);
  });

  it("deassigning an irqfd or detaching a trigger undoes exactly that producer's mapping", () => {
    const { t, pt, fds } = setup();
    t.vm.irqfd({ fd: fds[1], gsi: 101, deassign: true });
    expectForwarding(t, pt, [
      [0, 8192, 0],
      [2, 8194, 1],
      [3, 8195, 1],
    ]);
    pt.setTrigger(2, null);
    expectForwarding(t, pt, [
      [0, 8192, 0],
      [3, 8195, 1],
    ]);
    pt.setTrigger(2, new EventFd());
    expectForwarding(t, pt, [
      [0, 8192, 0],
      [3, 8195, 1],
    ]); // a new eventfd has no irqfd: nothing to pair with
    pt.release();
    expectForwarding(t, pt, []);
    expect(t.v4!.stats.unmapped).toBe(4);
  });

  it('CTRL_RESET leaves nothing forwarded', () => {
    const { t, pt, fds, logs, fire } = setup();
    t.its.setAttr({ group: ITS_GRP.CTRL, attr: 4n });
    expectForwarding(t, pt, []);
    expect(t.v4!.mappings).toEqual([]);
    fire(0);
    expect(fds[0].signals).toBe(1);
    expect(logs).toEqual([[], []]);
  });

  it('a GICv3 host never forwards (everything stays on software injection)', () => {
    const t = v4Vm(null, 1);
    const log: number[] = [];
    boot(t, [log]);
    t.g.prop(8192, 0xa0, true);
    t.g.mapd(1, 4);
    t.g.mapc(0, 0);
    t.g.mapti(1, 0, 8192, 0);
    const { pt, fds } = passthrough(t, 1, [0]);
    pt.raise(0);
    t.vm.run({ until: 40_000 });
    expect(log).toEqual([8192]);
    expect(fds[0].signals).toBe(1);
    expect(pt.vectors[0].hostIrq.forward).toBeNull();
  });

  it("SAVE_PENDING_TABLES writes a forwarded vLPI's pending bit from the virtual pending table", () => {
    const { t, pt } = setup();
    t.g.prop(8194, 0xa0, false);
    t.g.inv(1, 2);
    pt.raise(2);
    t.dev.setAttr({ group: 4, attr: 3n }); // KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES
    const byte = t.vm.memory.readU8(PEND_BASE + 0x10000 + (8194 >>> 3));
    expect(byte & (1 << (8194 & 7))).not.toBe(0);
    expect(t.vm.memory.readU8(PEND_BASE + 0x10000 + (8195 >>> 3)) & (1 << (8195 & 7))).toBe(0);
  });
});
