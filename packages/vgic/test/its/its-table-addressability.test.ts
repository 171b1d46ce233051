/**
 * An ID is only in range when its table entry lies in guest memory (newest mainline vgic_its_check_id, which
 * also checks the entry's guest frame is visible): MAPD, MAPC and MAPTI fail otherwise, for flat and two-level
 * tables alike, and map nothing.
 */
import { GITS } from '../../src/its';
import { baser, CMDQ_BASE, L2_BASE, makeItsVm, msi, RAM_BASE, RAM_SIZE } from './support/its-harness';

const LAST_PAGE = RAM_BASE + RAM_SIZE - 0x10000; // a 2-page table here has its second page outside RAM

function itsWith(dt: bigint, ct: bigint) {
  const t = makeItsVm({ vcpus: 1 });
  t.g.write(GITS.BASER, dt);
  t.g.write(GITS.BASER + 8, ct);
  t.g.write(GITS.CBASER, (1n << 63n) | BigInt(CMDQ_BASE) | 15n);
  t.g.write(GITS.CTLR, 1, 4);
  t.g.prop(8192, 0xa0, true);
  t.g.prop(8193, 0xa0, true);
  return t;
}

describe('ITS table entries outside guest memory', () => {
  it('flat Device table: MAPD of a DeviceID whose DTE lies beyond RAM fails and maps nothing', () => {
    const t = itsWith(baser(LAST_PAGE, 2), baser(RAM_BASE + 0x300_0000));
    t.g.mapd(8191, 1); // last DTE in RAM
    t.g.mapd(8192, 1); // first DTE of the page outside RAM
    expect(t.its.stats.commandErrors).toBe(1);
    expect([...t.its.devices.keys()]).toEqual([8191]);
  });

  it('Collection table: MAPC, and MAPTI naming a new collection, fail for an ICID whose CTE lies beyond RAM', () => {
    const t = itsWith(baser(RAM_BASE + 0x200_0000), baser(LAST_PAGE, 2));
    t.g.mapd(0, 2);
    t.g.mapc(8191, 0);
    t.g.mapc(8192, 0);
    t.g.mapti(0, 0, 8192, 8193);
    t.g.mapti(0, 1, 8193, 8191);
    expect(t.its.stats.commandErrors).toBe(2);
    expect([...t.its.collections.keys()]).toEqual([8191]);
    expect(t.its.findIte(0, 0)).toBeUndefined();
    expect(msi(t.vm, 0, 1)).toBe(1);
  });

  it('two-level Device table: a level-1 entry naming a level-2 page outside RAM makes MAPD fail', () => {
    const t = itsWith(baser(L2_BASE - 0x10000, 1, true), baser(RAM_BASE + 0x300_0000));
    t.vm.memory.writeU64(L2_BASE - 0x10000, (1n << 63n) | BigInt(L2_BASE));
    t.vm.memory.writeU64(L2_BASE - 0x10000 + 8, (1n << 63n) | BigInt(RAM_BASE + RAM_SIZE)); // beyond RAM
    t.g.mapd(5, 1);
    t.g.mapd(8192 + 5, 1);
    expect(t.its.stats.commandErrors).toBe(1);
    expect([...t.its.devices.keys()]).toEqual([5]);
  });
});
