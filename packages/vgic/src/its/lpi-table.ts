/**
 * The LPIs of one VM: each LPI's configuration (enable + priority, read from the LPI configuration table in guest
 * memory), its pending state, its target vCPU and whether it is queued on that vCPU's delivery path. Arm IHI
 * 0069, chapter 5.1.1 "LPI configuration tables" (property byte = priority[7:2] | enable[0], INTID − 8192 indexes
 * the table), 5.1.2 "LPI pending tables" (bit per INTID, the first 1 KiB covers INTIDs below 8192 and is left
 * alone) and 5.1.3 "LPI caching" (INV / INVALL re-read the configuration; software must invalidate after a change).
 *
 * The table is shared by every ITS of the VM. An LPI exists while at least one ITE maps it (reference counted,
 * as KVM's vgic_add_lpi / vgic_put_irq).
 *
 * @module
 */
import { Errno, fail } from '@irqflow/core';
import { ITS_IDBITS, LPI_MIN_INTID } from './gits-regs';
import type { LpiHost } from './lpi-host';

/** One LPI. */
export class Lpi {
  /** Property byte bit 0. */
  enabled = false;
  /** Property byte bits [7:2] (as a priority value, low two bits zero). */
  priority = 0;
  /** Pending latch. */
  pending = false;
  /** Whether the LPI is on {@link queuedOn}'s delivery path (told via deliverLpi, not yet acked or retracted). */
  queued = false;
  /** The vCPU the LPI was queued on. */
  queuedOn = -1;
  /** ITEs mapping this LPI. */
  refs = 0;

  /**
   * @param intid - the LPI INTID (>= 8192)
   * @param vcpu - target vCPU index, or -1 while its collection is unmapped
   */
  constructor(
    readonly intid: number,
    public vcpu: number,
  ) {}
}

/** PROPBASER.PA [51:12]. */
function propAddr(propbaser: bigint): number {
  return Number(propbaser & 0x000ffffffffff000n);
}

/** PENDBASER.PA [51:16]. */
function pendAddr(pendbaser: bigint): number {
  return Number(pendbaser & 0x000fffffffff0000n);
}

/** PENDBASER.PTZ. */
const PTZ = 1n << 62n;

/** The LPI table of one VM. */
export class LpiTable {
  private readonly lpis = new Map<number, Lpi>();

  /** @param host - the redistributor side */
  constructor(readonly host: LpiHost) {}

  /** Number of LPIs that exist (mapped by at least one ITE). */
  get size(): number {
    return this.lpis.size;
  }

  /** The LPI `intid`, if mapped. */
  get(intid: number): Lpi | undefined {
    return this.lpis.get(intid);
  }

  /** Every LPI (diagnostics and tests). */
  all(): IterableIterator<Lpi> {
    return this.lpis.values();
  }

  /**
   * One past the largest LPI INTID GICR_PROPBASER allows: 2^min(IDbits + 1, 16) (KVM's max_lpis_propbaser).
   */
  maxIntid(): number {
    const idbits = Number(this.host.propBaser() & 0x1fn) + 1;
    return 2 ** Math.min(idbits, ITS_IDBITS);
  }

  /**
   * Takes a reference on LPI `intid`, creating it (target `vcpu`, configuration read from guest memory) if it
   * does not exist. Returns null when the configuration byte cannot be read (the caller's command fails).
   */
  acquire(intid: number, vcpu: number): Lpi | null {
    const old = this.lpis.get(intid);
    if (old !== undefined) {
      old.refs++;
      return old;
    }
    const lpi = new Lpi(intid, vcpu);
    if (!this.readConfigInto(lpi)) return null;
    lpi.refs = 1;
    this.lpis.set(intid, lpi);
    return lpi;
  }

  /** Drops a reference; the last one removes the LPI (and takes it off the delivery path). */
  release(lpi: Lpi): void {
    if (--lpi.refs > 0) return;
    this.unqueue(lpi);
    lpi.pending = false;
    this.lpis.delete(lpi.intid);
  }

  private readConfigInto(lpi: Lpi): boolean {
    const addr = propAddr(this.host.propBaser()) + lpi.intid - LPI_MIN_INTID;
    const mem = this.host.vm.memory;
    if (!mem.isRam(addr, 1)) return false;
    const b = mem.readU8(addr);
    lpi.enabled = (b & 1) !== 0;
    lpi.priority = b & 0xfc;
    return true;
  }

  /** Re-reads the LPI's property byte (INV) and updates its delivery. Returns false if unreadable. */
  readConfig(lpi: Lpi): boolean {
    if (!this.readConfigInto(lpi)) return false;
    this.sync(lpi, true);
    return true;
  }

  /** INVALL / GICR_INVALLR: re-reads the configuration of every LPI targeting `vcpuIndex`. */
  invalidateAll(vcpuIndex: number): void {
    for (const lpi of this.lpis.values()) if (lpi.vcpu === vcpuIndex) this.readConfig(lpi);
  }

  /** Brings the delivery path in line with the LPI's state. `refresh` re-delivers a queued LPI (priority change). */
  private sync(lpi: Lpi, refresh: boolean): void {
    const v = lpi.vcpu;
    const want = lpi.pending && lpi.enabled && v >= 0 && this.host.lpisEnabled(v);
    if (!want) {
      this.unqueue(lpi);
      return;
    }
    if (lpi.queued && lpi.queuedOn !== v) this.unqueue(lpi);
    if (!lpi.queued || refresh) {
      lpi.queued = true;
      lpi.queuedOn = v;
      this.host.deliverLpi(v, lpi.intid, lpi.priority);
    }
  }

  private unqueue(lpi: Lpi): void {
    if (!lpi.queued) return;
    lpi.queued = false;
    this.host.retractLpi(lpi.queuedOn, lpi.intid);
  }

  /** Sets the pending latch (an MSI or INT) and queues the LPI if it is deliverable. O(1), no allocation. */
  setPending(lpi: Lpi): void {
    if (lpi.queued) return;
    lpi.pending = true;
    const v = lpi.vcpu;
    if (lpi.enabled && v >= 0 && this.host.lpisEnabled(v)) {
      lpi.queued = true;
      lpi.queuedOn = v;
      this.host.deliverLpi(v, lpi.intid, lpi.priority);
    }
  }

  /** Clears the pending latch (CLEAR, DISCARD) and takes the LPI off the delivery path. */
  clearPending(lpi: Lpi): void {
    lpi.pending = false;
    this.unqueue(lpi);
  }

  /** Retargets the LPI (MOVI, MAPC remap, MOVALL); a pending LPI follows. */
  moveTo(lpi: Lpi, vcpuIndex: number): void {
    if (lpi.vcpu === vcpuIndex) return;
    lpi.vcpu = vcpuIndex;
    this.sync(lpi, false);
  }

  /**
   * The guest acknowledged LPI `intid` (the vgic calls this when the LPI leaves the pending state in a list
   * register): the pending latch is consumed and the LPI is no longer queued.
   */
  acked(intid: number): void {
    const lpi = this.lpis.get(intid);
    if (lpi === undefined) return;
    lpi.pending = false;
    lpi.queued = false;
  }

  /** Reads the LPI's bit of its target's pending table (KVM's vgic_v3_lpi_sync_pending_status). */
  loadPending(lpi: Lpi): void {
    const v = lpi.vcpu;
    if (v < 0) return;
    const pb = this.host.pendBaser(v);
    let bit = false;
    if ((pb & PTZ) === 0n) {
      const addr = pendAddr(pb) + (lpi.intid >>> 3);
      const mem = this.host.vm.memory;
      bit = mem.isRam(addr, 1) && (mem.readU8(addr) & (1 << (lpi.intid & 7))) !== 0;
    }
    lpi.pending = bit;
    this.sync(lpi, false);
  }

  /**
   * GICR_CTLR.EnableLPIs changed on `vcpuIndex`. Enabling loads the pending state of every LPI targeting it
   * from its pending table (all clear when PENDBASER.PTZ = 1); disabling drops their pending state.
   */
  lpisEnabledChanged(vcpuIndex: number, enabled: boolean): void {
    for (const lpi of this.lpis.values()) {
      if (lpi.vcpu !== vcpuIndex) continue;
      if (enabled) this.loadPending(lpi);
      else this.clearPending(lpi);
    }
  }

  /**
   * KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES: writes every LPI's pending bit into its target vCPU's pending table
   * (read-modify-write of one byte; INTIDs below 8192, i.e. the first 1 KiB, are never touched).
   * @throws KvmError EFAULT when a pending table byte is not guest RAM
   */
  savePendingTables(): void {
    const mem = this.host.vm.memory;
    for (const lpi of this.lpis.values()) {
      if (lpi.vcpu < 0) continue;
      const addr = pendAddr(this.host.pendBaser(lpi.vcpu)) + (lpi.intid >>> 3);
      if (!mem.isRam(addr, 1)) fail(Errno.EFAULT, `pending table byte 0x${addr.toString(16)} of LPI ${lpi.intid} is not RAM`);
      const mask = 1 << (lpi.intid & 7);
      const b = mem.readU8(addr);
      const nb = lpi.pending ? b | mask : b & ~mask;
      if (nb !== b) mem.writeU8(addr, nb);
    }
  }
}
