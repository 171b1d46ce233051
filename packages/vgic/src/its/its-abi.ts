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
import { COLLECTION_NOT_MAPPED, CTE_SIZE, DTE_MAX_NEXT, DTE_SIZE, ITE_MAX_NEXT, ITE_SIZE, ITS_IDBITS, L2_DTES_PER_PAGE, LPI_MIN_INTID, SZ_64K } from './gits-regs';
import { baserAddr, baserBytes, baserIndirect, baserValid } from './its-tables';
import { peToVcpuIndex, vcpuIndexToPe } from './lpi-host';
import type { ItsCollection, ItsDeviceEntry, VgicIts } from './vgic-its';

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

function saveItt(its: VgicIts, dev: ItsDeviceEntry): void {
  const events = [...dev.ites.keys()].sort((a, b) => a - b);
  const n = 2 ** dev.eventBits;
  let from = 0; // first event not handled yet
  for (let k = 0; k < events.length; k++) {
    const ev = events[k];
    scrubEntries(its, dev.ittAddr + from * ITE_SIZE, ev - from, null);
    const ite = dev.ites.get(ev)!;
    const next = k + 1 < events.length ? Math.min(events[k + 1] - ev, ITE_MAX_NEXT) : 0;
    const intid = ite.lpi.intid;
    writeEntry(its, dev.ittAddr + ev * ITE_SIZE, (((intid & 0xffff) << 16) | ite.icid) >>> 0, ((next << 16) | (intid >>> 16)) >>> 0);
    from = ev + 1;
  }
  scrubEntries(its, dev.ittAddr + from * ITE_SIZE, n - from, null);
}

function dteWords(dev: ItsDeviceEntry, next: number): [number, number] {
  const field = Math.floor(dev.ittAddr / 256); // address bits 51:8 → DTE bits 48:5
  const lo = ((field % 134217728) * 32 + (dev.eventBits - 1)) >>> 0; // low 27 bits of the field in [31:5]
  const hi = (0x80000000 | (next << 17) | Math.floor(field / 134217728)) >>> 0;
  return [lo, hi];
}

/**
 * KVM_DEV_ARM_ITS_SAVE_TABLES: writes the Device table, every ITT and the Collection table into guest memory.
 * @throws KvmError EFAULT when an entry to write is not RAM, EINVAL when a mapped device no longer fits the
 * Device table (BASER0 reprogrammed smaller) or the collections do not fit the Collection table
 */
export function saveTables(its: VgicIts): void {
  saveDeviceTable(its);
  saveCollectionTable(its);
}

function saveDeviceTable(its: VgicIts): void {
  const baser = its.baserDevice;
  if (!baserValid(baser)) return;
  const devs = [...its.devices.values()].sort((a, b) => a.id - b.id);
  const addrOf = new Map<number, number>();
  for (const d of devs) {
    const a = its.deviceEntryAddr(d.id);
    if (a < 0) fail(Errno.EINVAL, `device ${d.id} does not fit the Device table GITS_BASER0 describes`);
    addrOf.set(d.id, a);
  }
  for (let i = 0; i < devs.length; i++) {
    const d = devs[i];
    saveItt(its, d);
    const next = i + 1 < devs.length ? Math.min(devs[i + 1].id - d.id, DTE_MAX_NEXT) : 0;
    const [lo, hi] = dteWords(d, next);
    writeEntry(its, addrOf.get(d.id)!, lo, hi);
  }
  // Scrub unused DTEs of the pages the ITS owns.
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

function saveCollectionTable(its: VgicIts): void {
  const baser = its.baserCollection;
  if (!baserValid(baser)) return;
  const base = baserAddr(baser);
  const size = baserBytes(baser);
  const cols = [...its.collections.values()].sort((a, b) => a.icid - b.icid);
  if (cols.length * CTE_SIZE > size) fail(Errno.EINVAL, `${cols.length} collections do not fit the Collection table`);
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
  // Devices.
  const devs: StagedDevice[] = [];
  const propBase = Number(its.host.propBaser() & 0x000ffffffffff000n);
  const restoreIte = (dev: StagedDevice) => (event: number, addr: number): number => {
    readEntry(its, addr, E);
    const intid = ((E[1] & 0xffff) * 65536 + (E[0] >>> 16)) >>> 0;
    if (intid === 0) return 1;
    if (intid < LPI_MIN_INTID || intid >= 2 ** ITS_IDBITS) fail(Errno.EINVAL, `device ${dev.id} event ${event}: pINTID ${intid} is not an LPI`);
    const next = E[1] >>> 16;
    if (event + next >= 2 ** dev.eventBits) fail(Errno.EINVAL, `device ${dev.id} event ${event}: next ${next} leaves the event space`);
    const icid = E[0] & 0xffff;
    if (!cols.has(icid) && !its.collections.has(icid)) fail(Errno.EINVAL, `device ${dev.id} event ${event}: unknown collection ${icid}`);
    if (!mem.isRam(propBase + intid - LPI_MIN_INTID, 1)) fail(Errno.EFAULT, `LPI ${intid}: its configuration byte is not RAM`);
    dev.ites.push({ event, icid, intid });
    return next;
  };
  const restoreDte = (id: number, addr: number): number => {
    readEntry(its, addr, E);
    if ((E[1] & 0x80000000) === 0) return 1;
    const next = (E[1] >>> 17) & 0x3fff;
    const field = (E[1] & 0x1ffff) * 134217728 + (E[0] >>> 5); // bits 48:5
    const eventBits = (E[0] & 0x1f) + 1;
    if (eventBits > ITS_IDBITS) fail(Errno.EINVAL, `device ${id}: ${eventBits} EventID bits exceed ${ITS_IDBITS}`);
    if (its.deviceEntryAddr(id) < 0) fail(Errno.EINVAL, `device ${id} does not fit the Device table`);
    if (its.devices.has(id)) fail(Errno.EEXIST, `device ${id} is already mapped`);
    const dev: StagedDevice = { id, ittAddr: field * 256, eventBits, ites: [] };
    scan(mem, dev.ittAddr, 2 ** eventBits * ITE_SIZE, ITE_SIZE, 0, restoreIte(dev));
    devs.push(dev);
    return next;
  };
  if (baserValid(its.baserDevice)) {
    const base = baserAddr(its.baserDevice);
    const size = baserBytes(its.baserDevice);
    if (!baserIndirect(its.baserDevice)) scan(mem, base, size, DTE_SIZE, 0, restoreDte);
    else
      scan(mem, base, size, 8, 0, (l1, addr) => {
        readEntry(its, addr, E);
        if ((E[1] & 0x80000000) === 0) return 1;
        const l2 = (E[1] & 0xfffff) * 4294967296 + ((E[0] & 0xffff0000) >>> 0);
        return scan(mem, l2, SZ_64K, DTE_SIZE, l1 * L2_DTES_PER_PAGE, restoreDte) === 0 ? 0 : 1;
      });
  }
  // Commit (cannot fail: every check is done).
  for (const c of cols.values()) its.collections.set(c.icid, c);
  for (const d of devs) {
    const entry: ItsDeviceEntry = { id: d.id, ittAddr: d.ittAddr, eventBits: d.eventBits, ites: new Map() };
    for (const s of d.ites) {
      const c = its.collections.get(s.icid)!;
      const lpi = its.lpis.acquire(s.intid, c.target === COLLECTION_NOT_MAPPED ? -1 : c.target)!;
      entry.ites.set(s.event, { event: s.event, icid: s.icid, lpi });
      if (lpi.refs === 1) its.lpis.loadPending(lpi); // once per LPI (KVM: vgic_v3_lpi_sync_pending_status)
    }
    its.devices.set(d.id, entry);
  }
  its.invalidateCache();
}
