/**
 * ITS table geometry: GITS_BASER<n> decoding (Arm IHI 0069, 12.19.1 "GITS_BASER<n>": Valid, Indirect, Type,
 * Entry_Size, Physical_Address, Page_Size, Size), GITS_CBASER decoding (12.19.2), and the lookup of a table
 * entry by ID for flat and two-level (Indirect) tables (5.2.1 "The ITS tables": a level-1 entry is Valid[63] |
 * level-2 page address, each level-2 page is one 64 KiB page). KVM implements 64 KiB pages only and makes the
 * Page_Size field read-only, so every table is (Size + 1) × 64 KiB.
 *
 * @module
 */
import type { GuestMemory } from '@irqflow/core';
import { BASER, SZ_64K } from './gits-regs';

/** Physical address of a 64 KiB-page table: PA[47:16] from bits [47:16], PA[51:48] from bits [15:12]. */
export function baserAddr(baser: bigint): number {
  const lo = baser & 0x0000ffffffff0000n;
  const hi = (baser >> 12n) & 0xfn;
  return Number(lo | (hi << 48n));
}

/** Table size in bytes ((Size + 1) × 64 KiB). */
export function baserBytes(baser: bigint): number {
  return (Number(baser & 0xffn) + 1) * SZ_64K;
}

/** Entry size in bytes (Entry_Size + 1). */
export function baserEntrySize(baser: bigint): number {
  return Number((baser >> BASER.ENTRY_SIZE_SHIFT) & 0x1fn) + 1;
}

/** Whether Valid is set. */
export function baserValid(baser: bigint): boolean {
  return (baser & BASER.VALID) !== 0n;
}

/** Whether Indirect is set. */
export function baserIndirect(baser: bigint): boolean {
  return (baser & BASER.INDIRECT) !== 0n;
}

/** CBASER.PA [51:16] (KVM keeps the queue 64 KiB aligned). */
export function cbaserAddr(cbaser: bigint): number {
  return Number(cbaser & 0x000fffffffff0000n);
}

/** Command queue size in bytes ((Size + 1) × 4 KiB). */
export function cbaserBytes(cbaser: bigint): number {
  return (Number(cbaser & 0xffn) + 1) * 4096;
}

/**
 * The guest-physical address of entry `id` of the table `baser` describes, or -1 when `id` is outside the
 * table (flat: beyond its size; two-level: beyond the level-1 table or its level-1 entry is not valid or
 * unreadable) or when the entry itself does not lie in guest RAM. `maxIds` bounds `id` by the ITS's ID width.
 * Mirrors KVM's vgic_its_check_id; the last rule follows newest mainline, which also requires the entry's
 * guest frame to be visible (in a memslot): MAPD, MAPC and MAPTI to an ID whose entry is outside guest memory
 * then fail (MAPD_DEVICE_OOR / MAPC_COLLECTION_OOR) for flat and two-level tables alike, and SAVE_TABLES
 * skips such a device (older KVM accepted the ID and failed the save with EFAULT).
 */
export function tableEntryAddr(mem: GuestMemory, baser: bigint, id: number, maxIds: number): number {
  if (!Number.isInteger(id) || id < 0 || id >= maxIds) return -1;
  const base = baserAddr(baser);
  const size = baserBytes(baser);
  const esz = baserEntrySize(baser);
  if (!baserIndirect(baser)) {
    if (id >= Math.floor(size / esz)) return -1;
    const a = base + id * esz;
    return mem.isRam(a, esz) ? a : -1;
  }
  const perPage = Math.floor(SZ_64K / esz);
  const l1 = Math.floor(id / perPage);
  if (l1 >= size / 8) return -1;
  const l1Addr = base + l1 * 8;
  if (!mem.isRam(l1Addr, 8)) return -1;
  const hi = mem.readU32(l1Addr + 4);
  if ((hi & 0x80000000) === 0) return -1;
  const l2 = (hi & 0x000fffff) * 4294967296 + ((mem.readU32(l1Addr) & 0xffff0000) >>> 0);
  const a = l2 + (id % perPage) * esz;
  return mem.isRam(a, esz) ? a : -1;
}
