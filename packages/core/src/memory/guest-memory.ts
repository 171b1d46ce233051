/**
 * Sparse guest physical memory, organised in KVM-style memory slots. Pages (64 KiB) are allocated lazily on
 * first write; unwritten RAM reads as zero. Total allocation is bounded by the slots' sizes, never by what a
 * guest or a table in guest memory claims. ITS tables, LPI configuration/pending tables and the ITS command
 * queue live here, read and written by the in-kernel devices exactly as KVM reads guest memory.
 *
 * @module
 */
import { Lifecycle, scoped } from 'tsyringe';
import { Errno, fail } from '../errno';

const PAGE_SHIFT = 16;
const PAGE_SIZE = 1 << PAGE_SHIFT;

/** A KVM memory slot (KVM_SET_USER_MEMORY_REGION). */
export interface MemorySlot {
  /** Slot number. */
  readonly slot: number;
  /** Guest physical base address (page aligned). */
  readonly guestPhysAddr: number;
  /** Size in bytes. */
  readonly size: number;
}

/** Guest physical memory of one VM. */
@scoped(Lifecycle.ContainerScoped)
export class GuestMemory {
  private slots: MemorySlot[] = [];
  private readonly pages = new Map<number, Uint8Array>();
  private readonly views = new Map<number, DataView>();
  private last: MemorySlot | undefined;

  /**
   * Adds, replaces or (size 0) deletes a memory slot, like KVM_SET_USER_MEMORY_REGION.
   * @throws KvmError EINVAL for misaligned or out-of-range values, EEXIST when it overlaps another slot
   */
  setUserMemoryRegion(region: MemorySlot): void {
    const { slot, guestPhysAddr, size } = region;
    if (!Number.isInteger(slot) || slot < 0 || slot > 0x7fff) fail(Errno.EINVAL, `bad slot ${slot}`);
    if (!Number.isSafeInteger(guestPhysAddr) || guestPhysAddr < 0 || guestPhysAddr % 4096 !== 0)
      fail(Errno.EINVAL, `guest physical address ${guestPhysAddr} is not 4 KiB aligned`);
    if (!Number.isSafeInteger(size) || size < 0 || size % 4096 !== 0) fail(Errno.EINVAL, `size ${size} is not a multiple of 4 KiB`);
    if (guestPhysAddr + size > 2 ** 48) fail(Errno.EINVAL, 'slot extends beyond the 48-bit IPA space');
    const others = this.slots.filter((s) => s.slot !== slot);
    if (size === 0) {
      this.slots = others;
      this.last = undefined;
      return;
    }
    for (const s of others) {
      if (guestPhysAddr < s.guestPhysAddr + s.size && s.guestPhysAddr < guestPhysAddr + size)
        fail(Errno.EEXIST, `slot ${slot} overlaps slot ${s.slot}`);
    }
    others.push({ slot, guestPhysAddr, size });
    others.sort((a, b) => a.guestPhysAddr - b.guestPhysAddr);
    this.slots = others;
    this.last = undefined;
  }

  /** The slots, sorted by address. */
  get memorySlots(): readonly MemorySlot[] {
    return this.slots;
  }

  /** Whether [addr, addr+len) lies entirely in one memory slot. */
  isRam(addr: number, len: number): boolean {
    const l = this.last;
    if (l !== undefined && addr >= l.guestPhysAddr && addr + len <= l.guestPhysAddr + l.size) return true;
    for (const s of this.slots) {
      if (addr >= s.guestPhysAddr && addr + len <= s.guestPhysAddr + s.size) {
        this.last = s;
        return true;
      }
    }
    return false;
  }

  /** Bytes of backing store allocated so far. */
  get allocatedBytes(): number {
    return this.pages.size * PAGE_SIZE;
  }

  /**
   * The first address in [addr, end) that lies in a page of backing store allocated so far, or -1 when none
   * does: every byte of [addr, end) then reads as zero because nothing ever wrote it (a written page may hold
   * zeros too, so this is a sufficient test for zero, not a necessary one). The result is `addr` itself or the
   * start of a page. Costs O(min(pages in the range, pages allocated)) and never allocates backing store, so
   * in-kernel devices can skip the unwritten parts of a large table in guest memory.
   */
  nextWrittenPage(addr: number, end: number): number {
    if (!(end > addr) || addr < 0) return -1;
    const first = Math.floor(addr / PAGE_SIZE);
    const last = Math.floor((end - 1) / PAGE_SIZE);
    let best = -1;
    if (last - first < this.pages.size) {
      for (let pn = first; pn <= last; pn++) if (this.pages.has(pn)) return pn === first ? addr : pn * PAGE_SIZE;
      return -1;
    }
    for (const pn of this.pages.keys()) if (pn >= first && pn <= last && (best < 0 || pn < best)) best = pn;
    return best < 0 ? -1 : best === first ? addr : best * PAGE_SIZE;
  }

  /** Whether no byte of [addr, addr+len) was ever written (so all of them read as zero); see {@link nextWrittenPage}. */
  isUnwritten(addr: number, len: number): boolean {
    return this.nextWrittenPage(addr, addr + len) < 0;
  }

  private page(pn: number): Uint8Array | undefined {
    return this.pages.get(pn);
  }

  private pageW(pn: number): Uint8Array {
    let p = this.pages.get(pn);
    if (!p) {
      p = new Uint8Array(PAGE_SIZE);
      this.pages.set(pn, p);
      this.views.set(pn, new DataView(p.buffer));
    }
    return p;
  }

  /** Reads a byte (caller has checked {@link isRam}). */
  readU8(addr: number): number {
    const p = this.page(Math.floor(addr / PAGE_SIZE));
    return p ? p[addr % PAGE_SIZE] : 0;
  }

  /** Writes a byte (caller has checked {@link isRam}). */
  writeU8(addr: number, v: number): void {
    this.pageW(Math.floor(addr / PAGE_SIZE))[addr % PAGE_SIZE] = v;
  }

  /** Reads a little-endian 16-bit value. */
  readU16(addr: number): number {
    return this.readU8(addr) | (this.readU8(addr + 1) << 8);
  }

  /** Reads a little-endian 32-bit value. */
  readU32(addr: number): number {
    const off = addr % PAGE_SIZE;
    if (off <= PAGE_SIZE - 4) {
      const pn = Math.floor(addr / PAGE_SIZE);
      const v = this.views.get(pn);
      return v ? v.getUint32(off, true) : 0;
    }
    return (this.readU16(addr) | (this.readU16(addr + 2) << 16)) >>> 0;
  }

  /** Writes a little-endian 16-bit value. */
  writeU16(addr: number, v: number): void {
    this.writeU8(addr, v & 0xff);
    this.writeU8(addr + 1, (v >>> 8) & 0xff);
  }

  /** Writes a little-endian 32-bit value. */
  writeU32(addr: number, v: number): void {
    const off = addr % PAGE_SIZE;
    if (off <= PAGE_SIZE - 4) {
      const pn = Math.floor(addr / PAGE_SIZE);
      this.pageW(pn);
      this.views.get(pn)!.setUint32(off, v >>> 0, true);
      return;
    }
    this.writeU16(addr, v & 0xffff);
    this.writeU16(addr + 2, (v >>> 16) & 0xffff);
  }

  /** Reads a little-endian 64-bit value as a bigint. */
  readU64(addr: number): bigint {
    return (BigInt(this.readU32(addr + 4)) << 32n) | BigInt(this.readU32(addr));
  }

  /** Writes a little-endian 64-bit value. */
  writeU64(addr: number, v: bigint): void {
    this.writeU32(addr, Number(v & 0xffffffffn));
    this.writeU32(addr + 4, Number((v >> 32n) & 0xffffffffn));
  }

  /**
   * Reads `len` bytes, as a VMM or an in-kernel device would (kvm_read_guest).
   * @throws KvmError EFAULT if the range is not RAM
   */
  read(addr: number, len: number): Uint8Array {
    this.check(addr, len);
    const out = new Uint8Array(len);
    for (let i = 0; i < len; i++) out[i] = this.readU8(addr + i);
    return out;
  }

  /**
   * Writes bytes (kvm_write_guest).
   * @throws KvmError EFAULT if the range is not RAM
   */
  write(addr: number, data: Uint8Array): void {
    this.check(addr, data.length);
    for (let i = 0; i < data.length; i++) this.writeU8(addr + i, data[i]);
  }

  /**
   * Checks that [addr, addr+len) is RAM.
   * @throws KvmError EFAULT otherwise
   */
  check(addr: number, len: number): void {
    if (!Number.isSafeInteger(addr) || addr < 0 || !this.isRam(addr, len))
      fail(Errno.EFAULT, `guest physical range 0x${addr.toString(16)}+${len} is not backed by a memory slot`);
  }

  /** Drops all contents (slots stay). */
  clear(): void {
    this.pages.clear();
    this.views.clear();
  }
}

/** Page size of the sparse backing store (bytes). */
export const GUEST_MEMORY_PAGE_SIZE = PAGE_SIZE;
