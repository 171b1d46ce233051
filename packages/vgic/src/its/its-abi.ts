/**
 * ITS table save/restore, ABI revision 0 (Documentation/virt/kvm/devices/arm-vgic-its.rst, "ITS Restore
 * Sequence" and "ITS Table ABI REV0"; references §4). All entries are 8-byte little-endian:
 *
 * - DTE = V[63] | next[62:49] | ITT_addr[48:5] (address bits 51:8) | Size[4:0] (EventID bits − 1), the Device
 *   table indexed by DeviceID, flat or two-level (level-1 entry V[63] | L2 address[51:16], 8192 DTEs per 64 KiB
 *   level-2 page). `next` = DeviceID delta to the next saved device (0 = last), capped at 2^14 − 1.
 * - ITE = next[63:48] (EventID delta, 0 = last) | pINTID[47:16] (0 = invalid) | ICID[15:0], the ITT indexed by EventID.
 * - CTE = V[63] | RDBase[51:16] (vCPU number; 0xffffffff for a collection not mapped yet) | ICID[15:0], packed
 *   from the table base in ICID order; an all-zero entry ends a table that is not full.
 *
 * Save also writes zero into every unused entry of the tables the ITS owns (unmapped DTEs in the flat table and
 * in valid level-2 pages, unmapped ITEs in each ITT), so the image is exactly the model's state even if the guest
 * scribbled over ITS-owned memory (seed 002: see README.md "Garbage in the guest's ITS tables").
 *
 * Restore reads the collection table until an invalid entry, then the devices following `next`, and per device
 * its ITEs following `next`. Every walk is bounded by the table's size (each step advances at least one entry),
 * so a crafted `next` can neither loop nor leave the table. Everything is staged first and committed only when
 * the whole image validated: an error leaves the ITS exactly as it was.
 *
 * Both directions skip the parts of a table whose guest pages were never written (GuestMemory.nextWrittenPage):
 * such entries read as zero, a zero entry is "invalid, step one" for every walk and needs no scrubbing, so the
 * results are the same as visiting every entry, but a hostile image (64k devices × 16 EventID bits over
 * unwritten ITTs) costs per written page instead of per entry.
 *
 * @module
 */
import { Errno, fail, GUEST_MEMORY_PAGE_SIZE, type GuestMemory } from '@irqflow/core';
import {
  COLLECTION_NOT_MAPPED,
  CTE_SIZE,
  DTE_MAX_NEXT,
  DTE_SIZE,
  ITE_MAX_NEXT,
  ITE_SIZE,
  ITS_IDBITS,
  L2_DTES_PER_PAGE,
  LPI_MIN_INTID,
  SZ_64K,
} from './gits-regs';
import { baserAddr, baserBytes, baserIndirect, baserValid } from './its-tables';
import { peToVcpuIndex, vcpuIndexToPe } from './lpi-host';
import type { ItsCollection, ItsDeviceEntry, VgicIts } from './vgic-its';
import { gicV4Of } from '../v4/gic-v4';

// ---- save ------------------------------------------------------------------------------------------------------

function writeEntry(its: VgicIts, addr: number, lo: number, hi: number): void {
  const mem = its.vm.memory;
  if (!mem.isRam(addr, 8)) fail(Errno.EFAULT, `table entry at 0x${addr.toString(16)} is not guest RAM`);
  mem.writeU32(addr, lo);
  mem.writeU32(addr + 4, hi);
}

/** Writes zero at `addr` unless it already reads as zero (never allocates backing store for a zero page). */
function scrub(its: VgicIts, addr: number): void {
  const mem = its.vm.memory;
  if (!mem.isRam(addr, 8)) return;
  if (mem.readU32(addr) !== 0 || mem.readU32(addr + 4) !== 0) {
    mem.writeU32(addr, 0);
    mem.writeU32(addr + 4, 0);
  }
}

/**
 * {@link scrub}s the 8-byte entries `i` in [0, count) at `base` for which `keep(i)` is false, in ascending order,
 * visiting only the entries that lie in written pages (the others already read as zero).
 */
function scrubEntries(its: VgicIts, base: number, count: number, keep: ((i: number) => boolean) | null): void {
  const mem = its.vm.memory;
  const end = base + count * 8;
  let i = 0;
  while (i < count) {
    const w = mem.nextWrittenPage(base + i * 8, end);
    if (w < 0) return;
    i += Math.floor((w - (base + i * 8)) / 8);
    const pageEnd = (Math.floor(w / GUEST_MEMORY_PAGE_SIZE) + 1) * GUEST_MEMORY_PAGE_SIZE;
    for (; i < count && base + i * 8 < pageEnd; i++) if (keep === null || !keep(i)) scrub(its, base + i * 8);
  }
}

function dteWords(dev: ItsDeviceEntry, next: number): [number, number] {
  const field = Math.floor(dev.ittAddr / 256); // address bits 51:8 → DTE bits 48:5
  const lo = ((field % 134217728) * 32 + (dev.eventBits - 1)) >>> 0; // low 27 bits of the field in [31:5]
  const hi = (0x80000000 | (next << 17) | Math.floor(field / 134217728)) >>> 0;
  return [lo, hi];
}

/** A device SAVE_TABLES writes: its DTE address and the indexes in its ITT of the ITEs saved (EventID order). */
interface SavedDevice {
  readonly dev: ItsDeviceEntry;
  readonly dteAddr: number;
  readonly events: readonly number[];
}

/**
 * KVM_DEV_ARM_ITS_SAVE_TABLES: writes the Device table, every ITT and the Collection table into guest memory.
 * Everything that can fail is checked before anything is written, so a failed save leaves guest memory as it was.
 * @throws KvmError EACCES when an ITE is backed by a forwarded vLPI on a GICv4 host without GICv4.1, EFAULT
 * when an ITE or a Collection table entry to write is not RAM
 */
export function saveTables(its: VgicIts): void {
  const devs = planDeviceTable(its);
  const cols = planCollectionTable(its);
  if (devs !== null) writeDeviceTable(its, devs);
  if (cols !== null) writeCollectionTable(its, cols);
}

/**
 * The devices and ITEs the save writes, in DeviceID / EventID order, checked as KVM's vgic_its_save_device_tables
 * checks them while it writes (per device, per ITE: EACCES, then EFAULT).
 *
 * - A device whose DTE the Device table can no longer address (BASER0 reprogrammed smaller, a level-1 entry the
 *   guest cleared, an entry outside RAM) is skipped, ITT included, and the `next` chain links the devices around
 *   it. Newest mainline (the vgic_its_save selftest); older KVM failed the whole save with EINVAL, which let a
 *   guest make its VM unmigratable.
 * - An ITE whose collection is gone (GITS_BASER1 dropped it and the new table cannot hold its ICID) is skipped
 *   the same way: saving it would write an image RESTORE_TABLES refuses (unknown collection).
 * - An ITE whose LPI is forwarded as a vLPI on a GICv4 host without GICv4.1 is EACCES: its pending state is in
 *   the physical redistributor and cannot be read back (KVM: `ite->irq->hw && !has_gicv4_1`).
 */
function planDeviceTable(its: VgicIts): SavedDevice[] | null {
  if (!baserValid(its.baserDevice)) return null;
  const mem = its.vm.memory;
  const v4 = gicV4Of(its.vm);
  const opaqueVlpis = v4 !== undefined && v4.version !== '4.1';
  const out: SavedDevice[] = [];
  for (const dev of [...its.devices.values()].sort((a, b) => a.id - b.id)) {
    const dteAddr = its.deviceEntryAddr(dev.id);
    if (dteAddr < 0) continue;
    const events: number[] = [];
    const itt = dev.ites;
    for (let i = 0; i < itt.size; i++) {
      const ev = itt.eventAt(i);
      if (!its.collections.has(itt.icidAt(i))) continue;
      if (opaqueVlpis && v4.mappingOfVlpi(itt.intidAt(i)) !== undefined)
        fail(Errno.EACCES, `device ${dev.id} event ${ev}: LPI ${itt.intidAt(i)} is a forwarded vLPI and the host has no GICv4.1`);
      const a = dev.ittAddr + ev * ITE_SIZE;
      if (!mem.isRam(a, ITE_SIZE)) fail(Errno.EFAULT, `device ${dev.id} event ${ev}: ITT entry 0x${a.toString(16)} is not guest RAM`);
      events.push(i);
    }
    out.push({ dev, dteAddr, events });
  }
  return out;
}

function writeDeviceTable(its: VgicIts, devs: readonly SavedDevice[]): void {
  scrubItts(its, devs);
  for (let i = 0; i < devs.length; i++) {
    const { dev, dteAddr, events } = devs[i];
    const itt = dev.ites;
    for (let k = 0; k < events.length; k++) {
      const i = events[k];
      const ev = itt.eventAt(i);
      const next = k + 1 < events.length ? Math.min(itt.eventAt(events[k + 1]) - ev, ITE_MAX_NEXT) : 0;
      const intid = itt.intidAt(i);
      writeEntry(its, dev.ittAddr + ev * ITE_SIZE, (((intid & 0xffff) << 16) | itt.icidAt(i)) >>> 0, ((next << 16) | (intid >>> 16)) >>> 0);
    }
    const next = i + 1 < devs.length ? Math.min(devs[i + 1].dev.id - dev.id, DTE_MAX_NEXT) : 0;
    const [lo, hi] = dteWords(dev, next);
    writeEntry(its, dteAddr, lo, hi);
  }
  // Scrub unused DTEs of the pages the ITS owns.
  const baser = its.baserDevice;
  const mem = its.vm.memory;
  const base = baserAddr(baser);
  const size = baserBytes(baser);
  if (!baserIndirect(baser)) {
    scrubEntries(its, base, size / DTE_SIZE, (id) => its.devices.has(id));
    return;
  }
  for (let l1 = 0; l1 < size / 8; l1++) {
    let a = base + l1 * 8;
    const w = mem.nextWrittenPage(a, base + size); // unwritten level-1 entries are invalid
    if (w < 0) break;
    if (w > a) {
      l1 += Math.floor((w - a) / 8);
      a = base + l1 * 8;
    }
    if (!mem.isRam(a, 8)) continue;
    const hi = mem.readU32(a + 4);
    if ((hi & 0x80000000) === 0) continue;
    const l2 = (hi & 0xfffff) * 4294967296 + ((mem.readU32(a) & 0xffff0000) >>> 0);
    const first = l1 * L2_DTES_PER_PAGE;
    scrubEntries(its, l2, L2_DTES_PER_PAGE, (j) => its.devices.has(first + j));
  }
}

/**
 * Zeroes every entry of the saved devices' ITTs that no saved ITE is written to, visiting each guest address once
 * however many devices share (alias) an ITT: the ITT spans are merged first, so the cost is the written pages of
 * their union plus the saved ITEs, never the sum of the spans (65 536 devices on 64 shared 16-bit ITTs used to
 * scrub 2^32 entries). For ITTs that do not overlap the bytes written are exactly those of scrubbing each ITT on
 * its own. Where ITTs overlap, the result is what KVM leaves (which writes only the mapped entries): every saved
 * ITE is written after the scrub, the last device in DeviceID order winning a shared entry.
 */
function scrubItts(its: VgicIts, devs: readonly SavedDevice[]): void {
  const mem = its.vm.memory;
  const n = devs.length;
  if (n === 0) return;
  let m = 0;
  for (const d of devs) m += d.events.length;
  const keep = new Float64Array(m);
  m = 0;
  for (const d of devs) for (const i of d.events) keep[m++] = d.dev.ittAddr + d.dev.ites.eventAt(i) * ITE_SIZE;
  keep.sort();
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => devs[a].dev.ittAddr - devs[b].dev.ittAddr);
  let ki = 0;
  let i = 0;
  while (i < n) {
    const lo = devs[order[i]].dev.ittAddr;
    let hi = lo + 2 ** devs[order[i]].dev.eventBits * ITE_SIZE;
    for (i++; i < n && devs[order[i]].dev.ittAddr <= hi; i++)
      hi = Math.max(hi, devs[order[i]].dev.ittAddr + 2 ** devs[order[i]].dev.eventBits * ITE_SIZE);
    for (let p = lo; p < hi;) {
      const w = mem.nextWrittenPage(p, hi);
      if (w < 0) break;
      const pageEnd = Math.min(hi, (Math.floor(w / GUEST_MEMORY_PAGE_SIZE) + 1) * GUEST_MEMORY_PAGE_SIZE);
      for (p = w; p < pageEnd; p += ITE_SIZE) {
        if (mem.readU32(p) === 0 && mem.readU32(p + 4) === 0) continue; // already zero (also: not RAM, never written)
        while (ki < keep.length && keep[ki] < p) ki++;
        if (ki < keep.length && keep[ki] === p) continue;
        if (!mem.isRam(p, ITE_SIZE)) continue;
        mem.writeU32(p, 0);
        mem.writeU32(p + 4, 0);
      }
    }
  }
}

/** The collections SAVE_TABLES writes (ICID order), checked before anything is written. */
function planCollectionTable(its: VgicIts): ItsCollection[] | null {
  const baser = its.baserCollection;
  if (!baserValid(baser)) return null;
  const base = baserAddr(baser);
  const size = baserBytes(baser);
  const cols = [...its.collections.values()].sort((a, b) => a.icid - b.icid);
  // Cannot happen since a BASER1 change drops the collections (each ICID fits the table); kept as KVM's bound.
  if (cols.length * CTE_SIZE > size) fail(Errno.EINVAL, `${cols.length} collections do not fit the Collection table`);
  const used = Math.min(size, (cols.length + 1) * CTE_SIZE); // the entries and the terminator
  for (let off = 0; off < used; off += CTE_SIZE)
    if (!its.vm.memory.isRam(base + off, CTE_SIZE))
      fail(Errno.EFAULT, `Collection table entry 0x${(base + off).toString(16)} is not guest RAM`);
  return cols;
}

function writeCollectionTable(its: VgicIts, cols: readonly ItsCollection[]): void {
  const base = baserAddr(its.baserCollection);
  const size = baserBytes(its.baserCollection);
  let off = 0;
  for (const c of cols) {
    const t = (c.target === COLLECTION_NOT_MAPPED ? c.target : vcpuIndexToPe(its.host, c.target)) >>> 0; // RDBase = PE number (vcpu_id)
    writeEntry(its, base + off, (((t & 0xffff) << 16) | c.icid) >>> 0, (0x80000000 | (t >>> 16)) >>> 0);
    off += CTE_SIZE;
  }
  if (off < size) writeEntry(its, base + off, 0, 0);
}

// ---- restore -----------------------------------------------------------------------------------------------------

interface StagedIte {
  event: number;
  icid: number;
  intid: number;
}
interface StagedDevice {
  id: number;
  ittAddr: number;
  eventBits: number;
  ites: StagedIte[];
}

/** Reads entry `addr` as (lo, hi) into `out`, or fails EFAULT. */
function readEntry(its: VgicIts, addr: number, out: Uint32Array): void {
  const mem = its.vm.memory;
  if (!mem.isRam(addr, 8)) fail(Errno.EFAULT, `table entry at 0x${addr.toString(16)} is not guest RAM`);
  out[0] = mem.readU32(addr);
  out[1] = mem.readU32(addr + 4);
}

const E = new Uint32Array(2);

/**
 * Walks a table from `base` (KVM's scan_its_table): `fn(id, addr)` returns the ID delta to the next entry
 * (0 = this was the last). Returns 0 when the last entry was found, 1 when the walk ran off the end.
 * Terminates: each step advances at least one entry and never past `len`. Entries in never-written RAM pages
 * are stepped over without calling `fn`: they read as zero, and every caller's `fn` answers 1 for a zero entry
 * (an unreadable entry is still handed to `fn`, which fails with EFAULT).
 */
function scan(mem: GuestMemory, base: number, len: number, esz: number, startId: number, fn: (id: number, addr: number) => number): number {
  let id = startId;
  let gpa = base;
  let remaining = len;
  for (;;) {
    const w = mem.nextWrittenPage(gpa, gpa + remaining);
    if (w !== gpa) {
      const skip = w < 0 ? remaining : Math.floor((w - gpa) / esz) * esz;
      if (skip > 0 && mem.isRam(gpa, skip)) {
        if (skip >= remaining) return 1;
        id += skip / esz;
        gpa += skip;
        remaining -= skip;
      }
    }
    const next = fn(id, gpa);
    if (next <= 0) return 0;
    const bytes = next * esz;
    if (bytes >= remaining) return 1;
    id += next;
    gpa += bytes;
    remaining -= bytes;
  }
}

/** First index `i` in [0, arr.length) with arr[i] >= x (arr ascending). */
function lowerBound(arr: readonly number[], x: number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** What the walks of one restore learnt about one 64 KiB page: disjoint scanned ranges and the stops in them. */
interface PageScan {
  /** Scanned ranges [start, end), ascending, never adjacent. */
  readonly start: number[];
  readonly end: number[];
  /** Entries in the scanned ranges a walk stops at, ascending. */
  readonly stops: number[];
}

/**
 * ITT walks for one RESTORE_TABLES (KVM's scan_its_table over each ITT: from EventID 0, an invalid entry steps
 * one entry, a valid one jumps by its `next`, 0 ends the walk; an entry that is not RAM is EFAULT), shared by all
 * devices so that devices sharing (aliasing) an ITT do not each step over the same entries. A walk reads the
 * entry it lands on, as before; when that entry is invalid it steps forward reading entries until the next one
 * that matters (a valid ITE or an entry that is not RAM), and records the range it scanned and what it found, per
 * 64 KiB page. A later walk landing in a scanned range jumps straight to its next stop. Unwritten RAM reads as
 * zero and is stepped over without reading. So every entry is read at most once per restore however many
 * devices share it — 8192 devices on one ITT used to step over the same entries 8192 times — distinct ITTs cost
 * what they cost before, and the result is the same as walking entry by entry.
 */
class IttWalker {
  private readonly pages = new Map<number, PageScan>();

  constructor(private readonly mem: GuestMemory) {}

  /** Whether a walk stops at entry `a`: not RAM, or pINTID ≠ 0. */
  private stops(a: number): boolean {
    const mem = this.mem;
    if (!mem.isRam(a, ITE_SIZE)) return true;
    return (mem.readU32(a + 4) & 0xffff) !== 0 || mem.readU32(a) >>> 16 !== 0;
  }

  /** Records the scanned range [s, e) of page `ps` (after the ranges at index < k, before those at ≥ k). */
  private static record(ps: PageScan, k: number, s: number, e: number): void {
    const joinsLeft = k > 0 && ps.end[k - 1] === s;
    const joinsRight = k < ps.start.length && ps.start[k] === e;
    if (joinsLeft && joinsRight) {
      ps.end[k - 1] = ps.end[k];
      ps.start.splice(k, 1);
      ps.end.splice(k, 1);
    } else if (joinsLeft) ps.end[k - 1] = e;
    else if (joinsRight) ps.start[k] = s;
    else {
      ps.start.splice(k, 0, s);
      ps.end.splice(k, 0, e);
    }
  }

  /** The first entry in [a, limit) of page `pn` a walk stops at, or -1 (`limit` ≤ the page's end). */
  private nextInPage(pn: number, a: number, limit: number): number {
    let ps = this.pages.get(pn);
    if (ps === undefined) this.pages.set(pn, (ps = { start: [], end: [], stops: [] }));
    for (let pos = a; pos < limit;) {
      const k = lowerBound(ps.start, pos + 1) - 1; // last range starting at or before pos
      if (k >= 0 && ps.end[k] > pos) {
        const j = lowerBound(ps.stops, pos);
        if (j < ps.stops.length && ps.stops[j] < ps.end[k]) return ps.stops[j] < limit ? ps.stops[j] : -1;
        pos = ps.end[k];
        continue;
      }
      const scanEnd = Math.min(k + 1 < ps.start.length ? ps.start[k + 1] : limit, limit);
      let found = -1;
      for (let p = pos; p < scanEnd; p += ITE_SIZE)
        if (this.stops(p)) {
          found = p;
          break;
        }
      IttWalker.record(ps, k + 1, pos, found >= 0 ? found + ITE_SIZE : scanEnd);
      if (found >= 0) {
        ps.stops.splice(lowerBound(ps.stops, found), 0, found);
        return found;
      }
      pos = scanEnd;
    }
    return -1;
  }

  /** The first entry in [p, end) a walk stops at, or -1. */
  private next(p: number, end: number): number {
    if (this.stops(p)) return p;
    const mem = this.mem;
    let a = p + ITE_SIZE;
    while (a < end) {
      const w = mem.nextWrittenPage(a, end);
      if (w !== a) {
        const stop = w < 0 ? end : w;
        if (mem.isRam(a, stop - a)) {
          a = stop; // unwritten RAM: zero entries
          continue;
        }
      }
      const pn = Math.floor(a / GUEST_MEMORY_PAGE_SIZE);
      const pageEnd = Math.min(end, (pn + 1) * GUEST_MEMORY_PAGE_SIZE);
      const q = this.nextInPage(pn, a, pageEnd);
      if (q >= 0) return q;
      a = pageEnd;
    }
    return -1;
  }

  /**
   * Walks `dev`'s ITT: `fn(event, lo, hi)` is called for each valid ITE the walk reaches and returns its `next`
   * (the caller has checked that the jump stays inside the event space).
   * @throws KvmError EFAULT when the walk reaches an entry that is not RAM
   */
  walk(dev: StagedDevice, fn: (event: number, lo: number, hi: number) => number): void {
    const mem = this.mem;
    const base = dev.ittAddr;
    const end = base + 2 ** dev.eventBits * ITE_SIZE;
    for (let p = base; ;) {
      const q = this.next(p, end);
      if (q < 0) return;
      if (!mem.isRam(q, ITE_SIZE)) fail(Errno.EFAULT, `device ${dev.id}: ITT entry 0x${q.toString(16)} is not guest RAM`);
      const next = fn((q - base) / ITE_SIZE, mem.readU32(q), mem.readU32(q + 4));
      if (next <= 0) return;
      p = q + next * ITE_SIZE;
    }
  }
}

/**
 * KVM_DEV_ARM_ITS_RESTORE_TABLES: rebuilds collections, devices and ITEs from the tables in guest memory.
 * @throws KvmError EINVAL for an entry the ABI forbids (bad target, pINTID below 8192 or beyond 16 ID bits,
 * `next` beyond the device's event space, unknown collection, a device the table cannot hold, EventID bits above
 * 16), EEXIST for a duplicate collection or a device/collection already present, EFAULT for a table that is not
 * RAM. On error nothing is restored.
 */
export function restoreTables(its: VgicIts): void {
  const mem = its.vm.memory;
  const nrVcpus = its.host.nrVcpus();
  // Collections.
  const cols = new Map<number, ItsCollection>();
  if (baserValid(its.baserCollection)) {
    const base = baserAddr(its.baserCollection);
    const size = baserBytes(its.baserCollection);
    for (let off = 0; off < size; off += CTE_SIZE) {
      readEntry(its, base + off, E);
      if ((E[1] & 0x80000000) === 0) break;
      const pe = ((E[1] & 0xffff) * 65536 + (E[0] >>> 16)) >>> 0;
      const icid = E[0] & 0xffff;
      // RDBase is a PE number (vcpu_id), as KVM's vgic_its_restore_cte (kvm_get_vcpu_by_id); kept as a vCPU index
      const target = pe === COLLECTION_NOT_MAPPED ? pe : peToVcpuIndex(its.host, pe);
      if (target < 0) fail(Errno.EINVAL, `collection ${icid} targets PE ${pe}: no vCPU has that id (${nrVcpus} vCPUs)`);
      if (cols.has(icid) || its.collections.has(icid)) fail(Errno.EEXIST, `collection ${icid} appears twice`);
      if (!its.collectionFits(icid)) fail(Errno.EINVAL, `collection ${icid} does not fit the Collection table`);
      cols.set(icid, { icid, target });
    }
  }
  // Devices: the Device table walk stages the DTEs; each staged device's ITT is then walked (IttWalker), sharing what
  // one walk learnt about an ITT with every device that aliases it. The first DTE error
  // is held back until the ITTs of the devices before it are restored: an ITT error of an earlier device wins, as
  // in KVM's device-by-device restore.
  const devs: StagedDevice[] = [];
  let dteFailed = false;
  let dteError: unknown;
  const restoreDte = (id: number, addr: number): number => {
    readEntry(its, addr, E);
    if ((E[1] & 0x80000000) === 0) return 1;
    const next = (E[1] >>> 17) & 0x3fff;
    const field = (E[1] & 0x1ffff) * 134217728 + (E[0] >>> 5); // bits 48:5
    const eventBits = (E[0] & 0x1f) + 1;
    if (eventBits > ITS_IDBITS) fail(Errno.EINVAL, `device ${id}: ${eventBits} EventID bits exceed ${ITS_IDBITS}`);
    if (its.deviceEntryAddr(id) < 0) fail(Errno.EINVAL, `device ${id} does not fit the Device table`);
    if (its.devices.has(id)) fail(Errno.EEXIST, `device ${id} is already mapped`);
    devs.push({ id, ittAddr: field * 256, eventBits, ites: [] });
    return next;
  };
  if (baserValid(its.baserDevice)) {
    const base = baserAddr(its.baserDevice);
    const size = baserBytes(its.baserDevice);
    try {
      if (!baserIndirect(its.baserDevice)) scan(mem, base, size, DTE_SIZE, 0, restoreDte);
      else
        scan(mem, base, size, 8, 0, (l1, addr) => {
          readEntry(its, addr, E);
          if ((E[1] & 0x80000000) === 0) return 1;
          const l2 = (E[1] & 0xfffff) * 4294967296 + ((E[0] & 0xffff0000) >>> 0);
          return scan(mem, l2, SZ_64K, DTE_SIZE, l1 * L2_DTES_PER_PAGE, restoreDte) === 0 ? 0 : 1;
        });
    } catch (e) {
      dteFailed = true;
      dteError = e;
    }
  }
  const propBase = Number(its.host.propBaser() & 0x000ffffffffff000n);
  const walker = new IttWalker(mem);
  for (const dev of devs) {
    walker.walk(dev, (event, lo, hi) => {
      const intid = ((hi & 0xffff) * 65536 + (lo >>> 16)) >>> 0;
      if (intid < LPI_MIN_INTID || intid >= 2 ** ITS_IDBITS)
        fail(Errno.EINVAL, `device ${dev.id} event ${event}: pINTID ${intid} is not an LPI`);
      const next = hi >>> 16;
      if (event + next >= 2 ** dev.eventBits) fail(Errno.EINVAL, `device ${dev.id} event ${event}: next ${next} leaves the event space`);
      const icid = lo & 0xffff;
      if (!cols.has(icid) && !its.collections.has(icid)) fail(Errno.EINVAL, `device ${dev.id} event ${event}: unknown collection ${icid}`);
      if (!mem.isRam(propBase + intid - LPI_MIN_INTID, 1)) fail(Errno.EFAULT, `LPI ${intid}: its configuration byte is not RAM`);
      dev.ites.push({ event, icid, intid });
      return next;
    });
  }
  if (dteFailed) throw dteError;
  // Commit (cannot fail: every check is done).
  for (const c of cols.values()) its.collections.set(c.icid, c);
  for (const d of devs) {
    const entry = its.newDevice(d.id, d.ittAddr, d.eventBits);
    for (const s of d.ites) {
      const c = its.collections.get(s.icid)!;
      const lpi = its.lpis.acquire(s.intid, c.target === COLLECTION_NOT_MAPPED ? -1 : c.target)!;
      entry.ites.insert(s.event, s.intid, s.icid);
      if (lpi.refs === 1) its.lpis.loadPending(lpi); // once per LPI (KVM: vgic_v3_lpi_sync_pending_status)
    }
    its.devices.set(d.id, entry);
  }
  its.invalidateCache();
}
