/** Every ITS command's architectural effect (Arm IHI 0069 6.3), driven through the command queue. */
import { makeItsVm, msi } from './support/its-harness';
import { restoreInto, saveItsRegs } from './support/migrate';

function ready(vcpus = 2) {
  const t = makeItsVm({ vcpus });
  t.g.setup();
  for (let i = 8192; i < 8192 + 64; i++) t.g.prop(i, 0xa0, true);
  return t;
}

describe('ITS commands', () => {
  it('MAPD + MAPC + MAPTI make an MSI pend the LPI on the collection target', () => {
    const { vm, host, g, its } = ready();
    g.mapd(1, 4);
    g.mapc(3, 1);
    g.mapti(1, 2, 8200, 3);
    expect(its.stats.commandErrors).toBe(0);
    expect(msi(vm, 1, 2)).toBe(1);
    expect(host.pendingOn(1)).toEqual([8200]);
    expect(host.queued.get(1)!.get(8200)).toBe(0xa0);
    expect(host.pendingOn(0)).toEqual([]);
  });

  it('MAPI uses the EventID as the pINTID; pINTIDs below 8192 or beyond PROPBASER.IDbits are refused', () => {
    const t = makeItsVm({ propIdBits: 14 });
    t.g.setup();
    t.g.prop(8195, 0x80, true);
    t.g.mapd(0, 16);
    t.g.mapc(0, 0);
    t.g.mapi(0, 8195, 0);
    t.g.mapti(0, 1, 8191, 0); // not an LPI
    t.g.mapti(0, 2, 1 << 14, 0); // beyond 2^IDbits
    expect(t.its.stats.commandErrors).toBe(2);
    expect(msi(t.vm, 0, 8195)).toBe(1);
    expect(t.host.pendingOn(0)).toEqual([8195]);
    expect(msi(t.vm, 0, 1)).toBe(0);
    expect(msi(t.vm, 0, 2)).toBe(0);
  });

  it('MAPTI of an EventID beyond the device size, or on an unmapped device, fails', () => {
    const { vm, g, its } = ready();
    g.mapd(0, 2); // 4 events
    g.mapc(0, 0);
    g.mapti(0, 4, 8192, 0);
    g.mapti(7, 0, 8193, 0);
    expect(its.stats.commandErrors).toBe(2);
    expect(msi(vm, 0, 4)).toBe(0);
    expect(msi(vm, 7, 0)).toBe(0);
  });

  it('remapping a mapped event is ignored (the first mapping stays)', () => {
    const { vm, host, g } = ready();
    g.mapd(0, 4);
    g.mapc(0, 0);
    g.mapti(0, 1, 8192, 0);
    g.mapti(0, 1, 8193, 0);
    msi(vm, 0, 1);
    expect(host.pendingOn(0)).toEqual([8192]);
  });

  it('a collection may be used before MAPC: MSIs are dropped until it is mapped, then delivered', () => {
    const { vm, host, g } = ready();
    g.mapd(0, 4);
    g.mapti(0, 0, 8192, 5);
    expect(msi(vm, 0, 0)).toBe(0);
    g.mapc(5, 1);
    expect(msi(vm, 0, 0)).toBe(1);
    expect(host.pendingOn(1)).toEqual([8192]);
  });

  it('MAPC V=0 unmaps: MSIs are dropped; a later MAPC reconnects the ITEs', () => {
    const { vm, host, g } = ready();
    g.mapd(0, 4);
    g.mapc(0, 0);
    g.mapti(0, 0, 8192, 0);
    g.mapc(0, 0, false);
    expect(msi(vm, 0, 0)).toBe(0);
    g.mapc(0, 1);
    expect(msi(vm, 0, 0)).toBe(1);
    expect(host.pendingOn(1)).toEqual([8192]);
  });

  it('MAPC with a target beyond the vCPUs fails; MAPC of a mapped collection retargets its LPIs (pending follows)', () => {
    const { vm, host, g, its } = ready(3);
    g.mapc(0, 3);
    expect(its.stats.commandErrors).toBe(1);
    expect(its.collections.size).toBe(0);
    g.mapd(0, 4);
    g.mapc(0, 0);
    g.mapti(0, 0, 8192, 0);
    msi(vm, 0, 0);
    expect(host.pendingOn(0)).toEqual([8192]);
    g.mapc(0, 2);
    expect(host.pendingOn(0)).toEqual([]);
    expect(host.pendingOn(2)).toEqual([8192]);
  });

  it('MAPD V=0 unmaps the device and frees its ITT; MAPD of a mapped device replaces it', () => {
    const { vm, host, g, its } = ready();
    g.mapd(0, 4);
    g.mapc(0, 0);
    g.mapti(0, 0, 8192, 0);
    g.mapti(0, 1, 8193, 0);
    msi(vm, 0, 0);
    g.mapd(0, 4, undefined, false);
    expect(its.devices.size).toBe(0);
    expect(its.lpis.size).toBe(0);
    expect(host.pendingOn(0)).toEqual([]); // the pending LPI went with its ITE
    expect(msi(vm, 0, 1)).toBe(0);
    g.mapd(1, 4);
    g.mapti(1, 3, 8194, 0);
    g.mapd(1, 8);
    expect(its.devices.get(1)!.eventBits).toBe(8);
    expect(its.devices.get(1)!.ites.size).toBe(0);
    expect(msi(vm, 1, 3)).toBe(0);
  });

  it('MAPD refuses DeviceIDs outside the Device table and more than 16 EventID bits', () => {
    const { g, its } = ready();
    g.mapd(8192, 4); // a 1-page flat table holds 8192 DTEs
    g.mapd(3, 17);
    expect(its.stats.commandErrors).toBe(2);
    expect(its.devices.size).toBe(0);
    g.mapd(8191, 16);
    expect(its.devices.size).toBe(1);
  });

  it('MOVI moves an event to another collection (pending state follows); unmapped collections refuse', () => {
    const { vm, host, g, its } = ready();
    g.mapd(0, 4);
    g.mapc(0, 0);
    g.mapc(1, 1);
    g.mapti(0, 0, 8192, 0);
    msi(vm, 0, 0);
    g.movi(0, 0, 1);
    expect(host.pendingOn(0)).toEqual([]);
    expect(host.pendingOn(1)).toEqual([8192]);
    host.ack(1, 8192);
    expect(msi(vm, 0, 0)).toBe(1);
    expect(host.pendingOn(1)).toEqual([8192]);
    const errs = its.stats.commandErrors;
    g.movi(0, 0, 9); // unknown collection
    g.movi(0, 5, 0); // unmapped event
    expect(its.stats.commandErrors).toBe(errs + 2);
  });

  it('DISCARD removes the translation and the pending state; needs a mapped collection', () => {
    const { vm, host, g, its } = ready();
    g.mapd(0, 4);
    g.mapc(0, 0);
    g.mapti(0, 0, 8192, 0);
    g.mapti(0, 1, 8193, 7); // collection 7 never mapped
    msi(vm, 0, 0);
    g.discard(0, 0);
    expect(host.pendingOn(0)).toEqual([]);
    expect(msi(vm, 0, 0)).toBe(0);
    const errs = its.stats.commandErrors;
    g.discard(0, 1);
    expect(its.stats.commandErrors).toBe(errs + 1);
    expect(its.findIte(0, 1)).toBeDefined();
  });

  it('CLEAR removes the pending state but keeps the translation', () => {
    const { vm, host, g } = ready();
    g.mapd(0, 4);
    g.mapc(0, 0);
    g.mapti(0, 0, 8192, 0);
    msi(vm, 0, 0);
    g.clear(0, 0);
    expect(host.pendingOn(0)).toEqual([]);
    expect(msi(vm, 0, 0)).toBe(1);
    expect(host.pendingOn(0)).toEqual([8192]);
  });

  it('INT makes the LPI pending; a disabled LPI latches without delivery; an unmapped collection drops it', () => {
    const { host, g, its } = ready();
    g.mapd(0, 4);
    g.mapc(0, 1);
    g.mapti(0, 0, 8192, 0);
    g.prop(8193, 0x40, false);
    g.mapti(0, 1, 8193, 0);
    g.mapti(0, 2, 8194, 4);
    g.int(0, 0);
    expect(host.pendingOn(1)).toEqual([8192]);
    g.int(0, 1);
    expect(host.pendingOn(1)).toEqual([8192]);
    expect(its.lpis.get(8193)!.pending).toBe(true);
    const errs = its.stats.commandErrors;
    g.int(0, 2);
    expect(its.stats.commandErrors).toBe(errs + 1);
    expect(its.lpis.get(8194)!.pending).toBe(false);
  });

  it('INV re-reads the property byte: enabling delivers a latched LPI, priority changes reach the delivery path, disabling retracts', () => {
    const { host, g } = ready();
    g.prop(8193, 0x40, false);
    g.mapd(0, 4);
    g.mapc(0, 0);
    g.mapti(0, 1, 8193, 0);
    g.int(0, 1);
    expect(host.pendingOn(0)).toEqual([]);
    g.prop(8193, 0x40, true);
    expect(host.pendingOn(0)).toEqual([]); // not re-read yet (cached configuration)
    g.inv(0, 1);
    expect(host.queued.get(0)!.get(8193)).toBe(0x40);
    g.prop(8193, 0x20, true);
    g.inv(0, 1);
    expect(host.queued.get(0)!.get(8193)).toBe(0x20);
    g.prop(8193, 0x20, false);
    g.inv(0, 1);
    expect(host.pendingOn(0)).toEqual([]);
  });

  it('INVALL re-reads every LPI of the collection target; needs a mapped collection', () => {
    const { host, g, its } = ready();
    g.mapd(0, 4);
    g.mapc(0, 0);
    g.mapc(1, 1);
    for (const [ev, intid, icid] of [
      [0, 8200, 0],
      [1, 8201, 0],
      [2, 8202, 1],
    ]) {
      g.prop(intid, 0x60, false);
      g.mapti(0, ev, intid, icid);
      g.int(0, ev);
    }
    for (const i of [8200, 8201, 8202]) g.prop(i, 0x60, true);
    g.invall(0);
    expect(host.pendingOn(0)).toEqual([8200, 8201]);
    expect(host.pendingOn(1)).toEqual([]);
    const errs = its.stats.commandErrors;
    g.invall(9);
    expect(its.stats.commandErrors).toBe(errs + 1);
  });

  it('MOVALL moves every LPI of one redistributor to another; bad targets fail', () => {
    const { vm, host, g, its } = ready(3);
    g.mapd(0, 4);
    g.mapc(0, 0);
    g.mapti(0, 0, 8192, 0);
    g.mapti(0, 1, 8193, 0);
    msi(vm, 0, 0);
    g.movall(0, 2);
    expect(host.pendingOn(2)).toEqual([8192]);
    expect(host.pendingOn(0)).toEqual([]);
    expect(msi(vm, 0, 1)).toBe(1);
    expect(host.pendingOn(2)).toEqual([8192, 8193]);
    const errs = its.stats.commandErrors;
    g.movall(0, 3);
    expect(its.stats.commandErrors).toBe(errs + 1);
  });

  it('SYNC succeeds for an existing redistributor; unknown commands are skipped and the queue goes on', () => {
    const { vm, host, g, its } = ready();
    g.sync(1);
    expect(its.stats.commandErrors).toBe(0);
    g.sync(2);
    g.cmd(0x42n);
    expect(its.stats.commandErrors).toBe(2);
    g.mapd(0, 4);
    g.mapc(0, 0);
    g.mapti(0, 0, 8192, 0);
    expect(msi(vm, 0, 0)).toBe(1);
    expect(host.pendingOn(0)).toEqual([8192]);
  });

  it('two events may share one LPI; it lives until the last ITE goes', () => {
    const { g, its } = ready();
    g.mapd(0, 4);
    g.mapc(0, 0);
    g.mapti(0, 0, 8192, 0);
    g.mapti(0, 1, 8192, 0);
    expect(its.lpis.size).toBe(1);
    g.discard(0, 0);
    expect(its.lpis.size).toBe(1);
    g.discard(0, 1);
    expect(its.lpis.size).toBe(0);
  });
});

describe('ITS commands: edge cases', () => {
  it('INT to a redistributor with LPIs disabled fails without latching', () => {
    const { host, g, its } = ready();
    g.mapd(0, 4);
    g.mapc(0, 1);
    g.mapti(0, 0, 8192, 0);
    host.setLpis(1, false);
    const errs = its.stats.commandErrors;
    g.int(0, 0);
    expect(its.stats.commandErrors).toBe(errs + 1);
    expect(its.lpis.get(8192)!.pending).toBe(false);
  });

  it('MAPTI fails when the LPI property byte is not RAM (KVM: vgic_add_lpi fails)', () => {
    const t = makeItsVm();
    t.g.setup();
    t.host.propbaser = 0x10000n | 15n; // not RAM
    t.g.mapd(0, 4);
    t.g.mapti(0, 0, 8192, 3);
    expect(t.its.stats.commandErrors).toBe(1);
    expect(t.its.findIte(0, 0)).toBeUndefined();
    expect(t.its.collections.size).toBe(0); // the collection MAPTI would have created is gone too
  });

  it('a command slot that is not RAM is skipped (CBASER pointing outside memory)', () => {
    const t = makeItsVm();
    t.g.setup();
    t.g.write(0, 0, 4);
    t.g.write(0x80, (1n << 63n) | 0x20000n); // queue outside RAM
    t.g.write(0, 1, 4);
    t.g.write(0x88, 0x40n);
    expect(t.g.read(0x90)).toBe(0x40n);
    expect(t.its.stats.commandFaults).toBe(2);
    expect(t.its.stats.commands).toBe(0);
  });

  it('DeviceIDs and EventIDs beyond 16 bits translate to nothing', () => {
    const { vm, g } = ready();
    g.mapd(0, 4);
    g.mapc(0, 0);
    g.mapti(0, 0, 8192, 0);
    expect(msi(vm, 65536, 0)).toBe(0);
    expect(msi(vm, 0, 65536)).toBe(0);
    expect(msi(vm, 0, 0x7fffffff)).toBe(0);
  });
});

describe('RDbase is a PE number: the vcpu_id (GICR_TYPER.Processor_Number), not the creation order', () => {
  // vCPUs created out of id order, as a restore may: ids 2, 0, 1 at creation indexes 0, 1, 2
  function outOfOrder() {
    const t = makeItsVm({ vcpuIds: [2, 0, 1] });
    t.g.setup();
    for (let i = 8192; i < 8192 + 64; i++) t.g.prop(i, 0xa0, true);
    return t;
  }

  it('MAPC / MOVALL / SYNC name vCPUs by id; an RDbase no vCPU has is refused', () => {
    const { vm, host, g, its } = outOfOrder();
    g.mapd(1, 4);
    g.mapc(0, 0); // the vCPU with id 0: creation index 1
    g.mapti(1, 0, 8200, 0);
    expect(its.stats.commandErrors).toBe(0);
    expect(msi(vm, 1, 0)).toBe(1);
    expect(host.pendingOn(1)).toEqual([8200]);
    g.mapc(1, 3); // no vCPU has id 3 (there are 3 vCPUs, but ids 0..2)
    expect(its.stats.commandErrors).toBe(1);
    g.mapc(1, 2); // id 2: creation index 0
    g.mapti(1, 1, 8201, 1);
    expect(msi(vm, 1, 1)).toBe(1);
    expect(host.pendingOn(0)).toEqual([8201]);
    g.movall(0, 1); // from id 0 (index 1) to id 1 (index 2)
    g.sync(1);
    expect(its.stats.commandErrors).toBe(1);
    expect(msi(vm, 1, 0)).toBe(1);
    expect(host.pendingOn(2)).toContain(8200);
  });

  it('SAVE/RESTORE_TABLES carry the PE number in the CTE RDBase field, whatever order the vCPUs are created in', () => {
    const src = outOfOrder();
    src.g.mapd(1, 4);
    src.g.mapc(0, 0); // id 0: creation index 1 here
    src.g.mapti(1, 0, 8200, 0);
    src.dev.setAttr({ group: 4, attr: 1n }); // ITS_SAVE_TABLES
    const ct = 0x4000_0000 + 0x300_0000; // CT_BASE
    expect((src.vm.memory.readU32(ct) >>> 16) + (src.vm.memory.readU32(ct + 4) & 0xffff) * 65536).toBe(0);
    // restored into vCPUs created in id order (id 0 at index 0): the collection still targets the vCPU with id 0
    const { t, error } = restoreInto(src, saveItsRegs(src), 3, [0, 1, 2]);
    expect(error).toBeUndefined();
    for (let i = 0; i < 3; i++) t.host.setLpis(i, true);
    expect(msi(t.vm, 1, 0)).toBe(1);
    expect(t.host.pendingOn(0)).toEqual([8200]);
    // a CTE naming a PE no vCPU has is refused
    const bad = restoreInto(src, saveItsRegs(src), 2, [1, 2]);
    expect((bad.error as { errno?: number } | undefined)?.errno).toBe(22);
  });
});
