/**
 * The per-VM MMIO bus (KVM_MMIO_BUS; seed 004): in-kernel devices register guest-physical address ranges and
 * see each guest access with the accessing vCPU, the width and the value; ioeventfds registered on the same bus
 * turn a matching guest write into an eventfd signal without an exit to userspace. Every vgic frame (the
 * distributor, each redistributor, each ITS) is its own device here, as upstream did in 2015.
 *
 * Values cross the bus in an {@link MmioValue} (two 32-bit halves) so 64-bit accesses need no BigInt.
 *
 * @module
 */
import { Lifecycle, scoped } from 'tsyringe';
import { costComponentOf } from '../cost/cost-component';
import type { CostPrimitives } from '../cost/cost-profile';
import { Errno, fail } from '../errno';
import type { EventFd } from '../irq/eventfd';
import type { Vcpu } from '../vm/vcpu';

/** A 64-bit access value as two unsigned 32-bit halves. */
export interface MmioValue {
  /** Bits [31:0]. */
  lo: number;
  /** Bits [63:32] (0 for accesses narrower than 8 bytes). */
  hi: number;
}

/**
 * An in-kernel MMIO device. Offsets are relative to the registered base. `len` is 1, 2, 4 or 8.
 * Return `true` when the access completed (including RAZ/WI), `false` to report an external abort to the guest.
 */
export interface MmioDevice {
  /** Display name (e.g. "GICD", "GICR0", "ITS0"). */
  readonly name: string;
  /** Handles a read: set `val.lo` / `val.hi`. `vcpu` is null for accesses not made by a vCPU. */
  read(vcpu: Vcpu | null, offset: number, len: number, val: MmioValue): boolean;
  /** Handles a write of `val`. */
  write(vcpu: Vcpu | null, offset: number, len: number, val: MmioValue): boolean;
  /**
   * Optional: the frame is served by hardware without a trap (GICv2's GICV frame mapped into the guest):
   * guest accesses do not exit; the vCPU is charged this cost primitive and counts an untrapped access.
   */
  readonly untrapped?: keyof CostPrimitives;
  /**
   * Optional, for untrapped frames: whether this guest access observes and changes nothing but the accessing
   * vCPU's own state, so it may execute while the vCPU runs ahead within the VM's lookahead (see
   * {@link SysregHandler.local}). Absent or `false`: the access happens in exact simulated-time order.
   */
  localAccess?(vcpu: Vcpu, offset: number, isWrite: boolean): boolean;
}

/** A registered range. */
export interface MmioRegion {
  /** Guest physical base. */
  readonly base: number;
  /** Size in bytes. */
  readonly size: number;
  /** The device. */
  readonly dev: MmioDevice;
  /** The cost component an untrapped access is charged to ({@link MmioDevice.untrapped}), -1 for a trapped frame. */
  readonly untrappedComponent: number;
}

/** An ioeventfd registration (KVM_IOEVENTFD). */
export interface IoEventFdSpec {
  /** Guest physical address. */
  addr: number;
  /** Access length to match: 1, 2, 4 or 8, or 0 for any length. */
  len: number;
  /** If set, only writes of this value signal. */
  datamatch?: number | bigint;
  /** The eventfd signalled. */
  fd: EventFd;
}

interface IoEventFdEntry {
  addr: number;
  len: number;
  match: boolean;
  lo: number;
  hi: number;
  fd: EventFd;
}

/** The MMIO bus of one VM. */
@scoped(Lifecycle.ContainerScoped)
export class MmioBus {
  private regions: MmioRegion[] = [];
  private ioeventfds: IoEventFdEntry[] = [];
  private lastHit: MmioRegion | undefined;

  /**
   * Registers a device on [base, base+size).
   * @throws KvmError EINVAL for a bad range, EEXIST when it overlaps a registered device or ioeventfd
   */
  register(base: number, size: number, dev: MmioDevice): MmioRegion {
    if (!Number.isSafeInteger(base) || base < 0 || !Number.isSafeInteger(size) || size <= 0)
      fail(Errno.EINVAL, `bad MMIO range base=${base} size=${size}`);
    for (const r of this.regions) {
      if (base < r.base + r.size && r.base < base + size)
        fail(
          Errno.EEXIST,
          `${dev.name} [0x${base.toString(16)}+0x${size.toString(16)}) overlaps ${r.dev.name} at 0x${r.base.toString(16)}`,
        );
    }
    for (const e of this.ioeventfds) {
      if (e.addr < base + size && base < e.addr + Math.max(e.len, 1))
        fail(Errno.EEXIST, `${dev.name} overlaps an ioeventfd at 0x${e.addr.toString(16)}`);
    }
    const region: MmioRegion = { base, size, dev, untrappedComponent: dev.untrapped === undefined ? -1 : costComponentOf(dev.untrapped) };
    this.regions.push(region);
    this.regions.sort((a, b) => a.base - b.base);
    return region;
  }

  /** Unregisters every range of `dev`. */
  unregister(dev: MmioDevice): void {
    this.regions = this.regions.filter((r) => r.dev !== dev);
    this.lastHit = undefined;
  }

  /** The registered ranges in address order. */
  get devices(): readonly MmioRegion[] {
    return this.regions;
  }

  /** Finds the region containing `addr` (binary search, with a last-hit cache). */
  find(addr: number): MmioRegion | undefined {
    const l = this.lastHit;
    if (l !== undefined && addr >= l.base && addr < l.base + l.size) return l;
    const rs = this.regions;
    let lo = 0;
    let hi = rs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = rs[mid];
      if (addr < r.base) hi = mid - 1;
      else if (addr >= r.base + r.size) lo = mid + 1;
      else {
        this.lastHit = r;
        return r;
      }
    }
    return undefined;
  }

  /**
   * Registers an ioeventfd (KVM_IOEVENTFD).
   * @throws KvmError EINVAL for a bad length, EEXIST for a colliding registration (same address with any length
   * 0, or same length with a wildcard or equal datamatch) or an overlap with a device
   */
  addIoEventFd(spec: IoEventFdSpec): void {
    const { addr, len, fd } = spec;
    if (![0, 1, 2, 4, 8].includes(len)) fail(Errno.EINVAL, `ioeventfd length ${len} is not 0, 1, 2, 4 or 8`);
    if (!Number.isSafeInteger(addr) || addr < 0 || (len && addr % len)) fail(Errno.EINVAL, `ioeventfd address ${addr} misaligned`);
    const match = spec.datamatch !== undefined;
    const dm = BigInt.asUintN(64, BigInt(spec.datamatch ?? 0));
    const lo = Number(dm & 0xffffffffn);
    const hi = Number(dm >> 32n);
    // KVM's ioeventfd_check_collision: same address and (either any-length, or same length and either a
    // wildcard or the same datamatch).
    for (const e of this.ioeventfds) {
      if (e.addr === addr && (e.len === 0 || len === 0 || (e.len === len && (!e.match || !match || (e.lo === lo && e.hi === hi)))))
        fail(Errno.EEXIST, `an ioeventfd for 0x${addr.toString(16)} with a colliding length and datamatch exists`);
    }
    if (this.find(addr) || (len > 1 && this.find(addr + len - 1)))
      fail(Errno.EEXIST, `ioeventfd at 0x${addr.toString(16)} overlaps an in-kernel device`);
    this.ioeventfds.push({ addr, len, match, lo, hi, fd });
  }

  /**
   * Removes an ioeventfd (KVM_IOEVENTFD with the deassign flag).
   * @throws KvmError ENOENT when no registration matches
   */
  removeIoEventFd(spec: IoEventFdSpec): void {
    const i = this.ioeventfds.findIndex((e) => e.addr === spec.addr && e.len === spec.len && e.fd === spec.fd);
    if (i < 0) fail(Errno.ENOENT, `no ioeventfd at 0x${spec.addr.toString(16)}`);
    this.ioeventfds.splice(i, 1);
  }

  /** Whether any ioeventfd is registered (lets the write path skip the check). */
  get hasIoEventFds(): boolean {
    return this.ioeventfds.length > 0;
  }

  /** The eventfd of the ioeventfd matching a guest write of (addr, len, value), or null. */
  findIoEventFd(addr: number, len: number, lo: number, hi: number): EventFd | null {
    const es = this.ioeventfds;
    for (let i = 0; i < es.length; i++) {
      const e = es[i];
      if (e.addr !== addr || (e.len !== 0 && e.len !== len)) continue;
      if (e.match && (e.lo !== lo >>> 0 || e.hi !== hi >>> 0)) continue;
      return e.fd;
    }
    return null;
  }
}
