/**
 * One emulated ITS: its registers' state, the translation state the commands build (devices with their ITTs,
 * collections) and the translation of (DeviceID, EventID) to an LPI, with a translation cache. Arm IHI 0069,
 * chapter 5.2 "The ITS" (5.2.2 "The interrupt translation process": device → ITE → collection → target; an
 * unmapped device, event or collection drops the interrupt) and 5.2.3 "ITS caching"; KVM's
 * vgic_its_resolve_lpi / vgic_its_cache_translation (references §3/§4 for the error answers).
 *
 * The translation cache (translation-cache.ts) is keyed by DeviceID × 2^16 + EventID (both are below 2^16:
 * Devbits = IDbits = 16) and holds the ITE, so a hit costs an array compare and no allocation. It is
 * invalidated exactly where a translation can change: MAPD (that device's events), MAPC (that collection),
 * MAPTI (that event), MOVI and DISCARD (that event), MOVALL, GITS_CTLR.Enable = 0, a BASER write dropping a
 * table, CTRL_RESET, restore, and GICR_CTLR.EnableLPIs = 0 on any redistributor (everything).
 *
 * @module
 */
import { Errno, TraceKind, type Vm } from '@irqflow/core';
import { BASER, COLLECTION_NOT_MAPPED, DTE_SIZE, CTE_SIZE, ITS_DEVBITS, SZ_64K } from './gits-regs';
import type { LpiHost } from './lpi-host';
import type { Lpi, LpiTable } from './lpi-table';
import { tableEntryAddr } from './its-tables';
import { v4HooksOf } from '../v4/v4-hooks';
import { TranslationCache } from './translation-cache';
import { Itt } from './itt';

/** An interrupt translation entry (EventID → LPI, collection): a view of an entry of an {@link Itt}. */
export interface Ite {
  /** EventID. */
  readonly event: number;
  /** Collection (ICID). */
  icid: number;
  /** The LPI. */
  readonly lpi: Lpi;
}

/** A mapped device (MAPD). */
export interface ItsDeviceEntry {
  /** DeviceID. */
  readonly id: number;
  /** ITT guest-physical address (256-byte aligned). */
  readonly ittAddr: number;
  /** Number of EventID bits (MAPD Size + 1). */
  readonly eventBits: number;
  /** Mapped events (struct-of-arrays storage, see itt.ts). */
  readonly ites: Itt;
}

/** A collection (MAPC), or one referenced by MAPTI before any MAPC (target {@link COLLECTION_NOT_MAPPED}). */
export interface ItsCollection {
  /** ICID. */
  readonly icid: number;
  /** Target vCPU index (RDbase with PTA = 0), or COLLECTION_NOT_MAPPED. */
  target: number;
}

/** Counters of one ITS (tests and benchmarks observe the cache through them). */
export interface ItsStats {
  /** Translations answered by the cache. */
  cacheHits: number;
  /** Translations that walked the tables. */
  cacheMisses: number;
  /** Commands executed. */
  commands: number;
  /** Commands that failed (skipped). */
  commandErrors: number;
  /** Commands not read because the queue entry was not RAM. */
  commandFaults: number;
}

/** Reset value of GITS_BASER0 (Device table: Type 1, Entry_Size 8, 64 KiB pages). */
export const BASER_DEVICE_RESET =
  (BASER.TYPE_DEVICE << BASER.TYPE_SHIFT) |
  (BigInt(DTE_SIZE - 1) << BASER.ENTRY_SIZE_SHIFT) |
  (BASER.PAGE_SIZE_64K << BASER.PAGE_SIZE_SHIFT);
/** Reset value of GITS_BASER1 (Collection table: Type 4, Entry_Size 8, 64 KiB pages). */
export const BASER_COLLECTION_RESET =
  (BASER.TYPE_COLLECTION << BASER.TYPE_SHIFT) |
  (BigInt(CTE_SIZE - 1) << BASER.ENTRY_SIZE_SHIFT) |
  (BASER.PAGE_SIZE_64K << BASER.PAGE_SIZE_SHIFT);

/** The state and translation of one ITS. */
export class VgicIts {
  /** Frame base (-1 until KVM_VGIC_ITS_ADDR_TYPE is set). */
  base = -1;
  /** GITS_CTLR.Enable. */
  enabled = false;
  /** GITS_CBASER. */
  cbaser = 0n;
  /** GITS_CREADR offset (bits [19:5]). */
  creadr = 0;
  /** GITS_CWRITER offset (bits [19:5]). */
  cwriter = 0;
  /** GITS_BASER0 (Device table). */
  baserDevice = BASER_DEVICE_RESET;
  /** GITS_BASER1 (Collection table). */
  baserCollection = BASER_COLLECTION_RESET;
  /** Save/restore ABI revision (GITS_IIDR.Revision). */
  abiRev = 0;
  /** Mapped devices by DeviceID. */
  readonly devices = new Map<number, ItsDeviceEntry>();
  /** Collections by ICID. */
  readonly collections = new Map<number, ItsCollection>();
  /** The translation cache. */
  readonly cache = new TranslationCache();
  /** Counters. */
  readonly stats: ItsStats = { cacheHits: 0, cacheMisses: 0, commands: 0, commandErrors: 0, commandFaults: 0 };
  /**
   * DeviceID used for a write to GITS_TRANSLATER that arrives over the MMIO bus (a vCPU store or a bus master
   * with no ID of its own). Default 0. Devices that carry an ID use {@link inject} or KVM_SIGNAL_MSI.
   */
  busDeviceId = 0;

  /**
   * @param vm - the VM
   * @param host - the redistributor side
   * @param lpis - the VM's LPI table
   * @param index - this ITS's index in the VM (for names)
   */
  constructor(
    readonly vm: Vm,
    readonly host: LpiHost,
    readonly lpis: LpiTable,
    readonly index: number,
  ) {}

  /** Whether the guest-physical `addr` lies in this ITS's frame. */
  contains(addr: number): boolean {
    return this.base >= 0 && addr >= this.base && addr < this.base + 0x20000;
  }

  /**
   * Translates (DeviceID, EventID) and makes the LPI pending: 1 delivered, 0 dropped by the guest's
   * translation (unmapped device, event or collection), -EBUSY when the ITS is disabled or the target
   * redistributor has LPIs disabled. A cache hit allocates nothing.
   */
  inject(devid: number, eventid: number): number {
    if (!this.enabled) return -Errno.EBUSY;
    // integers in 0..65535 only: the cache's keys (and its front's 32-bit ones) hold a 16-bit DeviceID and EventID,
    // and a DeviceID that is not an integer (no u32) would otherwise alias a mapped event's key
    if ((devid & 0xffff) === devid && (eventid & 0xffff) === eventid) {
      const hit = this.cache.get(devid * 65536 + eventid);
      if (hit !== undefined) {
        this.stats.cacheHits++;
        if (this.vm.trace.on) this.traceTranslate(devid, eventid, hit.lpi);
        this.lpis.setPending(hit.lpi);
        return 1;
      }
    }
    return this.translate(devid, eventid);
  }

  /** {@link inject} past a cache miss (out of line, so that the hit path stays small enough to inline). */
  private translate(devid: number, eventid: number): number {
    const inRange = (devid & 0xffff) === devid && (eventid & 0xffff) === eventid;
    const key = devid * 65536 + eventid;
    this.stats.cacheMisses++;
    const itt = this.devices.get(devid)?.ites;
    if (itt === undefined) return 0;
    const i = itt.indexOf(eventid);
    if (i < 0) return 0;
    const coll = this.collections.get(itt.icidAt(i));
    if (coll === undefined || coll.target === COLLECTION_NOT_MAPPED) return 0;
    if (!this.host.lpisEnabled(coll.target)) return -Errno.EBUSY;
    const lpi = itt.lpiAt(i);
    if (inRange) this.cache.set(key, itt.iteAt(i));
    if (this.vm.trace.on) this.traceTranslate(devid, eventid, lpi);
    this.lpis.setPending(lpi);
    return 1;
  }

  /** Trace: (DeviceID, EventID) translated to `lpi`, on its target vCPU's track. */
  private traceTranslate(devid: number, eventid: number, lpi: Lpi): void {
    const vm = this.vm;
    vm.trace.emit(TraceKind.MsiTranslate, vm.id, lpi.vcpu, vm.now, devid, eventid, lpi.intid);
  }

  /** The translation-cache-only path (irqfd fast path): true if a cached translation delivered the MSI. */
  injectCached(devid: number, eventid: number): boolean {
    if (!this.enabled || (devid & 0xffff) !== devid || (eventid & 0xffff) !== eventid) return false; // as inject
    const hit = this.cache.get(devid * 65536 + eventid);
    if (hit === undefined) return false;
    this.stats.cacheHits++;
    if (this.vm.trace.on) this.traceTranslate(devid, eventid, hit.lpi);
    this.lpis.setPending(hit.lpi);
    return true;
  }

  /** The ITE of (devid, eventid), if mapped. */
  findIte(devid: number, eventid: number): Ite | undefined {
    return this.devices.get(devid)?.ites.get(eventid);
  }

  /** Whether a collection exists and is mapped to a vCPU. */
  collectionMapped(icid: number): boolean {
    const c = this.collections.get(icid);
    return c !== undefined && c.target !== COLLECTION_NOT_MAPPED;
  }

  /** Address of DTE `devid`, or -1 if the Device table cannot hold it. */
  deviceEntryAddr(devid: number): number {
    return tableEntryAddr(this.vm.memory, this.baserDevice, devid, 2 ** ITS_DEVBITS);
  }

  /** Whether the Collection table can hold `icid` (16-bit ICIDs, CIL = 0). */
  collectionFits(icid: number): boolean {
    return tableEntryAddr(this.vm.memory, this.baserCollection, icid, SZ_64K) >= 0;
  }

  // ---- cache invalidation --------------------------------------------------------------------------------

  /** Drops every cached translation. */
  invalidateCache(): void {
    this.cache.clear();
  }

  /** Drops the cached translation of one event. */
  invalidateEvent(devid: number, eventid: number): void {
    if (devid < 65536 && eventid < 65536) this.cache.delete(devid * 65536 + eventid);
  }

  /** Drops the cached translations of one device. */
  invalidateDevice(dev: ItsDeviceEntry): void {
    if (this.cache.size === 0) return;
    for (const ev of dev.ites.keys()) this.invalidateEvent(dev.id, ev);
  }

  /** Drops the cached translations through one collection. */
  invalidateCollection(icid: number): void {
    this.cache.deleteWhere((ite) => ite.icid === icid);
  }

  // ---- state changes shared by commands, registers and restore -------------------------------------------------

  /** Creates the entry of a device MAPD (or a restore) maps, with an empty ITT. */
  newDevice(id: number, ittAddr: number, eventBits: number): ItsDeviceEntry {
    return { id, ittAddr, eventBits, ites: new Itt(this.lpis) };
  }

  /** Removes one ITE (its LPI reference is dropped). */
  removeIte(dev: ItsDeviceEntry, ite: Ite): void {
    const i = dev.ites.indexOf(ite.event);
    if (i < 0) return;
    const lpi = dev.ites.lpiAt(i);
    v4HooksOf(this.vm)?.translationGone(lpi.intid);
    this.invalidateEvent(dev.id, ite.event);
    dev.ites.removeAt(i);
    this.lpis.release(lpi);
  }

  /** Unmaps a device and frees its ITT. */
  removeDevice(dev: ItsDeviceEntry): void {
    this.invalidateDevice(dev);
    const v4 = v4HooksOf(this.vm);
    const itt = dev.ites;
    for (let i = 0; i < itt.size; i++) {
      const lpi = itt.lpiAt(i);
      v4?.translationGone(lpi.intid);
      this.lpis.release(lpi);
    }
    itt.clear();
    this.devices.delete(dev.id);
  }

  /** Unmaps every device (BASER0 Valid = 0, reset). */
  removeAllDevices(): void {
    for (const d of [...this.devices.values()]) this.removeDevice(d);
    this.invalidateCache();
  }

  /** Drops every collection (BASER1 Valid = 0, reset). */
  removeAllCollections(): void {
    this.collections.clear();
    this.invalidateCache();
  }

  /**
   * GITS_BASER1 now describes a different table (newest mainline: its collections are dropped). Every mapping
   * goes; an ICID that an ITE still names and the new table can hold stays known as not mapped, as after MAPC
   * V=0, so its ITEs are saved with it and a later MAPC reconnects them.
   */
  collectionTableChanged(): void {
    const v4 = v4HooksOf(this.vm);
    const kept = new Set<number>();
    for (const d of this.devices.values())
      for (let i = 0; i < d.ites.size; i++) {
        const icid = d.ites.icidAt(i);
        if (this.collectionMapped(icid)) v4?.collectionUnmapped(d.ites.intidAt(i));
        if (this.collectionFits(icid)) kept.add(icid);
      }
    this.removeAllCollections();
    for (const icid of kept) this.collections.set(icid, { icid, target: COLLECTION_NOT_MAPPED });
  }

  /** Whether any ITE references collection `icid`. */
  collectionReferenced(icid: number): boolean {
    for (const d of this.devices.values()) for (let i = 0; i < d.ites.size; i++) if (d.ites.icidAt(i) === icid) return true;
    return false;
  }

  /** Retargets the LPIs of every ITE in collection `icid` to `vcpu` (MAPC of an existing collection). */
  retargetCollection(icid: number, vcpu: number): void {
    for (const d of this.devices.values()) {
      for (let i = 0; i < d.ites.size; i++) if (d.ites.icidAt(i) === icid) this.lpis.moveTo(d.ites.lpiAt(i), vcpu);
    }
  }

  /**
   * MAPC V=0 of collection `icid`: every forwarded vLPI of an ITE in it is unmapped (KVM: the collection's
   * LPIs return to software injection). No-op without GICv4.
   */
  collectionUnmappedV4(icid: number): void {
    const v4 = v4HooksOf(this.vm);
    if (v4 === undefined) return;
    for (const d of this.devices.values())
      for (let i = 0; i < d.ites.size; i++) if (d.ites.icidAt(i) === icid) v4.collectionUnmapped(d.ites.intidAt(i));
  }

  /** Number of ITEs (bounds checks in tests). */
  get iteCount(): number {
    let n = 0;
    for (const d of this.devices.values()) n += d.ites.size;
    return n;
  }

  /** A debugfs-style dump. */
  dump(): string {
    const lines = [
      `ITS${this.index} base=${this.base < 0 ? 'unset' : '0x' + this.base.toString(16)} enabled=${this.enabled} ` +
        `creadr=0x${this.creadr.toString(16)} cwriter=0x${this.cwriter.toString(16)} devices=${this.devices.size} ` +
        `collections=${this.collections.size} ites=${this.iteCount} cache=${this.cache.size}`,
    ];
    for (const c of [...this.collections.values()].sort((a, b) => a.icid - b.icid))
      lines.push(`  collection ${c.icid} -> ${c.target === COLLECTION_NOT_MAPPED ? 'unmapped' : 'vcpu' + c.target}`);
    for (const d of [...this.devices.values()].sort((a, b) => a.id - b.id)) {
      lines.push(`  device ${d.id} itt=0x${d.ittAddr.toString(16)} eventBits=${d.eventBits}`);
      for (const ite of d.ites.values())
        lines.push(`    event ${ite.event} -> LPI ${ite.lpi.intid} icid ${ite.icid}${ite.lpi.pending ? ' pending' : ''}`);
    }
    return lines.join('\n');
  }
}
