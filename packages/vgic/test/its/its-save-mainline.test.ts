/**
 * SAVE_TABLES against tables the guest itself broke, as the newest mainline KVM selftest vgic_its_save asserts
 * (tools/testing/selftests/kvm/arm64/vgic_its_save.c): both saves must succeed, and a reset + restore of what
 * they wrote must succeed too (a guest must not be able to make its VM unmigratable).
 */
import { GITS, ITS_GRP } from '../../src/its';
import { baser, CT_BASE, ITT_BASE, L2_BASE, makeItsVm, msi, type ItsTestVm } from './support/its-harness';

const SAVE = { group: ITS_GRP.CTRL, attr: 1n };
const RESTORE = { group: ITS_GRP.CTRL, attr: 2n };
const RESET = { group: ITS_GRP.CTRL, attr: 4n };
const REG = (off: number) => ({ group: ITS_GRP.ITS_REGS, attr: BigInt(off) });
const POISON = 0xdeadbeefdeadbeefn;
const DTE_NEXT = (dte: bigint) => (dte >> 49n) & 0x3fffn;

function poison(t: ItsTestVm, base: number, bytes: number): void {
  for (let o = 0; o < bytes; o += 8) t.vm.memory.writeU64(base + o, POISON);
}

/** The selftest's migration target: BASERs (and CBASER) read back, CTRL_RESET, written back, RESTORE_TABLES. */
function resetAndRestore(t: ItsTestVm): void {
  const cbaser = t.dev.getAttr(REG(GITS.CBASER));
  const basers = Array.from({ length: 8 }, (_, i) => t.dev.getAttr(REG(GITS.BASER + i * 8)));
  t.dev.setAttr(RESET);
  t.dev.setAttr(REG(GITS.CBASER), cbaser);
  basers.forEach((v, i) => t.dev.setAttr(REG(GITS.BASER + i * 8), v));
  t.dev.setAttr(RESTORE);
}

describe('vgic_its_save (newest mainline): a GITS_BASER1 change drops the collections', () => {
  it('8193 collections in a 2-page table, the table shrunk to 1 page with Valid kept: SAVE writes only the terminator', () => {
    const t = makeItsVm({ vcpus: 1 });
    t.g.setup({ ctPages: 2 });
    for (let icid = 0; icid < 8193; icid++) t.g.mapc(icid, 0);
    expect(t.its.stats.commandErrors).toBe(0);
    expect(t.its.collections.size).toBe(8193);
    t.g.write(GITS.CTLR, 0, 4);
    t.g.write(GITS.BASER + 8, t.g.read(GITS.BASER + 8) & ~0xffn); // Size 0: one page, Valid kept
    expect(t.its.collections.size).toBe(0);
    poison(t, CT_BASE, 2 * 0x10000);
    t.dev.setAttr(SAVE);
    expect(t.vm.memory.readU64(CT_BASE)).toBe(0n);
    for (let o = 8; o < 2 * 0x10000; o += 8)
      if (t.vm.memory.readU64(CT_BASE + o) !== POISON) throw new Error(`CTE at +0x${o.toString(16)} was written`);
    resetAndRestore(t);
    expect(t.its.collections.size).toBe(0);
  });

  it('rewriting BASER1 with the same table keeps the collections; a different address drops them', () => {
    const t = makeItsVm({ vcpus: 1 });
    t.g.setup();
    t.g.mapc(3, 0);
    t.g.write(GITS.CTLR, 0, 4);
    t.g.write(GITS.BASER + 8, baser(CT_BASE)); // same table
    expect([...t.its.collections.keys()]).toEqual([3]);
    t.g.write(GITS.BASER + 8, baser(CT_BASE + 0x10000));
    expect(t.its.collections.size).toBe(0);
  });

  it('ITEs of a dropped collection stay restorable: the ICID is kept as not mapped, a later MAPC reconnects it', () => {
    const t = makeItsVm({ vcpus: 1 });
    t.g.setup();
    t.g.prop(8192, 0xa0, true);
    t.g.mapd(0, 2);
    t.g.mapc(1, 0);
    t.g.mapti(0, 0, 8192, 1);
    t.g.write(GITS.CTLR, 0, 4);
    t.g.write(GITS.BASER + 8, baser(CT_BASE + 0x10000));
    t.g.write(GITS.CTLR, 1, 4);
    expect(msi(t.vm, 0, 0)).toBe(0); // the collection is no longer mapped
    t.dev.setAttr(SAVE);
    resetAndRestore(t);
    t.g.write(GITS.CTLR, 1, 4);
    expect(t.its.findIte(0, 0)?.lpi.intid).toBe(8192);
    t.g.mapc(1, 0);
    expect(msi(t.vm, 0, 0)).toBe(1);
  });
});

describe('vgic_its_save (newest mainline): a device the Device table can no longer address is skipped', () => {
  it('two-level table, the level-1 entry of device 8192 cleared by the guest: SAVE succeeds, the chain ends at device 0', () => {
    const t = makeItsVm({ vcpus: 1 });
    t.g.setup({ indirect: true });
    t.g.mapL2(0);
    t.g.mapL2(1);
    t.g.mapd(0, 13, ITT_BASE);
    t.g.mapd(8192, 13, ITT_BASE + 8192 * 8);
    expect(t.its.stats.commandErrors).toBe(0);
    t.vm.memory.writeU64(L2_BASE - 0x10000 + 8, 0n); // no command, no BASER write: KVM is not told
    poison(t, L2_BASE, 0x10000);
    poison(t, L2_BASE + 0x10000, 0x10000);
    t.dev.setAttr(SAVE);
    const dte = t.vm.memory.readU64(L2_BASE);
    expect(dte >> 63n).toBe(1n);
    expect(DTE_NEXT(dte)).toBe(0n);
    expect(t.vm.memory.readU64(L2_BASE + 0x10000)).toBe(POISON);
    resetAndRestore(t);
    expect([...t.its.devices.keys()]).toEqual([0]);
  });

  it('flat table shrunk below a mapped device: that device is skipped, the others are saved and restore', () => {
    const t = makeItsVm({ vcpus: 1 });
    t.g.setup({ dtPages: 3 });
    t.g.prop(8192, 0xa0, true);
    t.g.mapc(0, 0);
    t.g.mapd(3, 1);
    t.g.mapd(20000, 1);
    t.g.mapti(3, 0, 8192, 0);
    t.g.write(GITS.CTLR, 0, 4);
    t.g.write(GITS.BASER, t.g.read(GITS.BASER) & ~0xffn); // one page: 8192 DTEs
    t.dev.setAttr(SAVE);
    expect(DTE_NEXT(t.vm.memory.readU64(t.its.deviceEntryAddr(3)))).toBe(0n);
    resetAndRestore(t);
    expect([...t.its.devices.keys()]).toEqual([3]);
    t.g.write(GITS.CTLR, 1, 4);
    expect(msi(t.vm, 3, 0)).toBe(1);
  });
});
