/**
 * The LPIs of one VM: each LPI's configuration (enable + priority, read from the LPI configuration table in guest
 * memory) and its target vCPU; the pending state lives in the redistributor (the {@link LpiHost}), which alone
 * decides what is queued on a vCPU's delivery path (as KVM's vgic_irq.pending_latch). Arm IHI
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
import { v4HooksCell, v4HooksOf, type V4HooksCell } from '../v4/v4-hooks';

/** One LPI: the ITS side's view (configuration and target). Its pending state is owned by the redistributor. */
export class Lpi {
  /** Property byte bit 0. */
  enabled = false;
  /** Property byte bits [7:2] (as a priority value, low two bits zero). */
  priority = 0;
  /** ITEs mapping this LPI. */
  refs = 0;
  /** The redistributor's own object for this LPI (set and used by the {@link LpiHost} only). */
  hostRef: unknown = null;

  /**
   * @param intid - the LPI INTID (>= 8192)
   * @param vcpu - target vCPU index, or -1 while its collection is unmapped
   * @param host - the redistributor side that owns the pending state
   */
  constructor(
    readonly intid: number,
    public vcpu: number,
    readonly host: LpiHost,
  ) {}

  /** Pending state, as the redistributor holds it. */
  get pending(): boolean {
    return this.host.lpiPending(this);
  }
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

  /** The VM's GICv4 hooks cell, taken on the first MSI (host.vm may not be ready at construction). */
  private v4Cell: V4HooksCell | null = null;

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
    const lpi = new Lpi(intid, vcpu, this.host);
    if (!this.readConfigInto(lpi)) return null;
    lpi.refs = 1;
    this.lpis.set(intid, lpi);
    this.host.updateLpi(lpi);
    return lpi;
  }

  /** Drops a reference; the last one removes the LPI (and takes it off the delivery path). */
  release(lpi: Lpi): void {
    if (--lpi.refs > 0) return;
    this.host.removeLpi(lpi);
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
    this.host.updateLpi(lpi);
    v4HooksOf(this.host.vm)?.configChanged(lpi.intid);
    return true;
  }

  /** INVALL / GICR_INVALLR: re-reads the configuration of every LPI targeting `vcpuIndex`. */
  invalidateAll(vcpuIndex: number): void {
    for (const lpi of this.lpis.values()) if (lpi.vcpu === vcpuIndex) this.readConfig(lpi);
  }

  /** Latches the LPI pending (an MSI or INT) in the redistributor, which queues it if deliverable. O(1). */
  setPending(lpi: Lpi): void {
    const cell = this.v4Cell ?? (this.v4Cell = v4HooksCell(this.host.vm));
    const v4 = cell.hooks;
    if (v4 !== undefined && v4.redirectPending(lpi.intid, lpi.vcpu)) return; // a forwarded vLPI (GICv4)
    this.host.setLpiPending(lpi);
  }

  /** Clears the pending latch (CLEAR, DISCARD) and takes the LPI off the delivery path. */
  clearPending(lpi: Lpi): void {
    v4HooksOf(this.host.vm)?.clearPending(lpi.intid);
    this.host.clearLpiPending(lpi);
  }

  /** Retargets the LPI (MOVI, MAPC remap, MOVALL); a pending LPI follows. */
  moveTo(lpi: Lpi, vcpuIndex: number): void {
    if (lpi.vcpu === vcpuIndex) return;
    lpi.vcpu = vcpuIndex;
    this.host.updateLpi(lpi);
    v4HooksOf(this.host.vm)?.lpiMoved(lpi.intid, vcpuIndex);
  }

  /**
   * Reads the LPI's bit of its target's pending table (KVM's vgic_v3_lpi_sync_pending_status); a set bit of a
   * forwarded vLPI (GICv4) is made pending in its vPE's virtual pending table, not on the software path.
   */
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
    if (!bit) this.host.clearLpiPending(lpi);
    else if (v4HooksOf(this.host.vm)?.redirectPending(lpi.intid, v) !== true) this.host.setLpiPending(lpi); // GICv4: a forwarded vLPI's bit goes to its vPE
  }

  /**
   * GICR_CTLR.EnableLPIs changed on `vcpuIndex`. Enabling loads the pending state of every LPI targeting it
   * from its pending table (all clear when PENDBASER.PTZ = 1); disabling drops their pending state.
   */
  lpisEnabledChanged(vcpuIndex: number, enabled: boolean): void {
    for (const lpi of this.lpis.values()) {
      if (lpi.vcpu !== vcpuIndex) continue;
      this.host.updateLpi(lpi);
      if (enabled) this.loadPending(lpi);
      else this.host.clearLpiPending(lpi);
    }
  }

  /**
   * KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES: writes every LPI's pending bit into its target vCPU's pending table
   * (read-modify-write of one byte; INTIDs below 8192, i.e. the first 1 KiB, are never touched).
   * @throws KvmError EFAULT when a pending table byte is not guest RAM
   */
  savePendingTables(): void {
    const mem = this.host.vm.memory;
    const v4 = v4HooksOf(this.host.vm);
    for (const lpi of this.lpis.values()) {
      if (lpi.vcpu < 0) continue;
      const addr = pendAddr(this.host.pendBaser(lpi.vcpu)) + (lpi.intid >>> 3);
      if (!mem.isRam(addr, 1)) fail(Errno.EFAULT, `pending table byte 0x${addr.toString(16)} of LPI ${lpi.intid} is not RAM`);
      const mask = 1 << (lpi.intid & 7);
      const b = mem.readU8(addr);
      const pending = this.host.lpiPending(lpi) || (v4 !== undefined && v4.isPending(lpi.intid)); // GICv4: the VPT
      const nb = pending ? b | mask : b & ~mask;
      if (nb !== b) mem.writeU8(addr, nb);
    }
  }
}
