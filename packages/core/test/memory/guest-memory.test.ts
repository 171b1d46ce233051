/** Sparse guest physical memory and memory slots. */
import { Errno, GUEST_MEMORY_PAGE_SIZE, Hypervisor, type GuestMemory } from '../../src';
import { errno } from '../support/errno';

function mem(): GuestMemory {
  return new Hypervisor({ traceCapacity: 1024 }).createVm().memory;
}

describe('GuestMemory', () => {
  it('slots: alignment and range checks (EINVAL), overlap (EEXIST), replace and delete', () => {
    const m = mem();
    expect(errno(() => m.setUserMemoryRegion({ slot: 0, guestPhysAddr: 0x1001, size: 0x1000 }))).toBe(Errno.EINVAL);
    expect(errno(() => m.setUserMemoryRegion({ slot: 0, guestPhysAddr: 0x1000, size: 0x100 }))).toBe(Errno.EINVAL);
    expect(errno(() => m.setUserMemoryRegion({ slot: -1, guestPhysAddr: 0, size: 0x1000 }))).toBe(Errno.EINVAL);
    expect(errno(() => m.setUserMemoryRegion({ slot: 0, guestPhysAddr: 2 ** 48, size: 0x1000 }))).toBe(Errno.EINVAL);
    m.setUserMemoryRegion({ slot: 0, guestPhysAddr: 0x10000, size: 0x10000 });
    expect(errno(() => m.setUserMemoryRegion({ slot: 1, guestPhysAddr: 0x1f000, size: 0x2000 }))).toBe(Errno.EEXIST);
    m.setUserMemoryRegion({ slot: 0, guestPhysAddr: 0x40000, size: 0x1000 }); // replace slot 0
    expect(m.isRam(0x10000, 4)).toBe(false);
    expect(m.isRam(0x40ffc, 4)).toBe(true);
    expect(m.isRam(0x40ffd, 4)).toBe(false);
    m.setUserMemoryRegion({ slot: 0, guestPhysAddr: 0, size: 0 }); // delete
    expect(m.memorySlots).toHaveLength(0);
  });

  it('reads zero until written, allocates lazily, and round-trips every width including across pages', () => {
    const m = mem();
    m.setUserMemoryRegion({ slot: 0, guestPhysAddr: 0, size: 4 * GUEST_MEMORY_PAGE_SIZE });
    expect(m.readU32(0x100)).toBe(0);
    expect(m.allocatedBytes).toBe(0);
    const edge = GUEST_MEMORY_PAGE_SIZE - 2;
    m.writeU32(edge, 0xdeadbeef);
    expect(m.readU32(edge)).toBe(0xdeadbeef);
    expect(m.readU16(edge)).toBe(0xbeef);
    expect(m.allocatedBytes).toBe(2 * GUEST_MEMORY_PAGE_SIZE);
    m.writeU64(0x200, 0x0102030405060708n);
    expect(m.readU64(0x200)).toBe(0x0102030405060708n);
    expect([...m.read(0x200, 3)]).toEqual([8, 7, 6]);
    m.write(0x300, new Uint8Array([1, 2]));
    expect(m.readU16(0x300)).toBe(0x0201);
  });

  it('nextWrittenPage / isUnwritten report the pages written so far, without allocating', () => {
    const m = mem();
    const P = GUEST_MEMORY_PAGE_SIZE;
    m.setUserMemoryRegion({ slot: 0, guestPhysAddr: 0, size: 64 * P });
    expect(m.nextWrittenPage(0, 64 * P)).toBe(-1);
    expect(m.isUnwritten(0, 64 * P)).toBe(true);
    m.writeU32(5 * P + 0x40, 7);
    m.writeU32(9 * P, 0); // a written page of zeros still counts as written
    expect(m.nextWrittenPage(0, 64 * P)).toBe(5 * P);
    expect(m.nextWrittenPage(5 * P + 0x100, 64 * P)).toBe(5 * P + 0x100); // inside a written page: addr itself
    expect(m.nextWrittenPage(6 * P, 64 * P)).toBe(9 * P);
    expect(m.nextWrittenPage(6 * P, 9 * P)).toBe(-1); // end is exclusive
    expect(m.nextWrittenPage(6 * P, 9 * P + 1)).toBe(9 * P);
    expect(m.nextWrittenPage(10 * P, 10 * P)).toBe(-1); // empty range
    expect(m.isUnwritten(5 * P - 4, 4)).toBe(true);
    expect(m.isUnwritten(5 * P - 4, 5)).toBe(false);
    // the scan over the allocated pages (range wider than the pages allocated) agrees with the page walk
    for (let i = 0; i < 3; i++) m.writeU8((40 + i) * P, 1);
    expect(m.nextWrittenPage(10 * P, 2 ** 40)).toBe(40 * P);
    expect(m.nextWrittenPage(10 * P + 1, 41 * P)).toBe(40 * P);
    expect(m.nextWrittenPage(43 * P, 2 ** 40)).toBe(-1);
    expect(m.allocatedBytes).toBe(5 * P);
    m.clear();
    expect(m.isUnwritten(0, 64 * P)).toBe(true);
  });

  it('bulk access outside RAM → EFAULT', () => {
    const m = mem();
    m.setUserMemoryRegion({ slot: 0, guestPhysAddr: 0, size: 0x1000 });
    expect(errno(() => m.read(0xffe, 4))).toBe(Errno.EFAULT);
    expect(errno(() => m.write(0x5000, new Uint8Array(1)))).toBe(Errno.EFAULT);
    expect(errno(() => m.check(-1, 1))).toBe(Errno.EFAULT);
  });
});
