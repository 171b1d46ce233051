/**
 * Declarative register tables for vgic MMIO frames, mirroring upstream's vgic-mmio.c `struct vgic_register_region`
 * (offset, length, bits per IRQ, access widths, guest handlers, userspace handlers when different) and the
 * per-interrupt registers shared by GICv2 and GICv3 (Arm IHI 0069, 12.9 "GICD_* registers"; Arm IHI 0048B 4.3).
 * Dispatch never throws for a guest access: unknown offsets, unsupported widths and misaligned accesses read
 * as zero and ignore writes (KVM's answer); per-interrupt bits beyond NR_IRQS are RAZ/WI.
 *
 * @module
 */
import type { MmioDevice, MmioValue, Vcpu } from '@irqflow/core';
import type { Vgic } from './vgic';
import type { VgicCpu } from './vgic-cpu';
import { VGIC_NR_PRIVATE_IRQS, VGIC_NR_SGIS, VGIC_PRI_MASK, type VgicIrq } from './vgic-irq';
import { pendingSeen } from './vgic-visibility';

/** Who is accessing: the vgic, the vCPU whose private interrupts are addressed, userspace or the guest. */
export interface VgicAccess {
  /** The vgic. */
  readonly vg: Vgic;
  /** Banked private interrupts / CPU interface owner (redistributor's vCPU, accessing vCPU, attr's vCPU). */
  readonly cpu: VgicCpu | null;
  /** Userspace (KVM_{GET,SET}_DEVICE_ATTR) rather than the guest. */
  readonly user: boolean;
}

/** A register handler: `off` is the offset within the frame; reads fill `val`. */
export type RegHandler = (a: VgicAccess, off: number, len: number, val: MmioValue) => void;

/** Allowed access widths (bit mask of 1, 2, 4, 8). */
export const W = { B: 1, H: 2, W: 4, D: 8 } as const;

/** One register (or register range) of a frame. */
export interface VgicRegister {
  /** Architectural name. */
  readonly name: string;
  /** Offset in the frame. */
  readonly offset: number;
  /** Length in bytes. */
  readonly length: number;
  /** Bits per interrupt (0 = not a per-interrupt register). */
  readonly bpi: number;
  /** Allowed widths ({@link W} bits). */
  readonly widths: number;
  /** Guest read. */
  readonly read: RegHandler;
  /** Guest write. */
  readonly write: RegHandler;
  /** Userspace read, when different. */
  readonly uread?: RegHandler;
  /** Userspace write, when different (may throw KvmError). */
  readonly uwrite?: RegHandler;
  /**
   * Banked per CPU with no meaning without one (GICv2 GICD_CPENDSGIR/SPENDSGIR, every GICC register): an access
   * with no CPU is RAZ/WI instead of reaching the handlers.
   */
  readonly banked?: boolean;
}

/** Read-as-zero. */
export const raz: RegHandler = (_a, _o, _l, v) => {
  v.lo = 0;
  v.hi = 0;
};
/** Write-ignored. */
export const wi: RegHandler = () => {};

/** A frame's register table with dispatch. */
export class VgicRegisterTable {
  private readonly regs: readonly VgicRegister[];

  /** @param regs - the registers (any order; must not overlap) */
  constructor(regs: readonly VgicRegister[]) {
    this.regs = [...regs].sort((x, y) => x.offset - y.offset);
  }

  /** The register at `off`, if any. */
  find(off: number): VgicRegister | undefined {
    const rs = this.regs;
    let lo = 0;
    let hi = rs.length - 1;
    while (lo <= hi) {
      const m = (lo + hi) >> 1;
      const r = rs[m];
      if (off < r.offset) hi = m - 1;
      else if (off >= r.offset + r.length) lo = m + 1;
      else return r;
    }
    return undefined;
  }

  /** The registers (for userspace has-attr checks and dumps). */
  get all(): readonly VgicRegister[] {
    return this.regs;
  }

  /** Whether a register decodes an access of `len` bytes at `off` (width, alignment, extent); changes nothing. */
  decodes(off: number, len: number): boolean {
    const r = this.find(off);
    return r !== undefined && (r.widths & len) !== 0 && off % len === 0 && off + len <= r.offset + r.length;
  }

  /**
   * Performs an access; returns false when no register decodes it (the caller decides the answer). A banked
   * register accessed with no CPU (a bus access not made by a vCPU) has no CPU interface or banked copy to
   * reach: it reads as zero and ignores writes, as an access the GIC cannot attribute to a processor.
   */
  access(a: VgicAccess, off: number, len: number, val: MmioValue, isWrite: boolean): boolean {
    const r = this.find(off);
    if (r === undefined || (r.widths & len) === 0 || off % len !== 0 || off + len > r.offset + r.length) {
      if (!isWrite) val.lo = val.hi = 0;
      return false;
    }
    if (r.banked === true && a.cpu === null) {
      if (!isWrite) val.lo = val.hi = 0;
      return true;
    }
    if (isWrite) (a.user && r.uwrite ? r.uwrite : r.write)(a, off, len, val);
    else {
      val.lo = 0;
      val.hi = 0;
      (a.user && r.uread ? r.uread : r.read)(a, off, len, val);
    }
    return true;
  }
}

/** An MMIO frame on the core bus backed by a register table (guest accesses never abort). */
export class VgicFrame implements MmioDevice {
  /**
   * @param name - display name
   * @param table - the register table
   * @param vg - the vgic
   * @param fixedCpu - the vCPU owning the frame (a redistributor), or null to bank by the accessing vCPU
   * @param untrapped - served by hardware without an exit (GICv2 GICV page 0)
   */
  constructor(
    readonly name: string,
    readonly table: VgicRegisterTable,
    private readonly vg: Vgic,
    private readonly fixedCpu: VgicCpu | null,
    readonly untrapped?: 'cpuifAccess',
  ) {
    this.a = { vg, cpu: null, user: false };
  }

  private readonly a: { vg: Vgic; cpu: VgicCpu | null; user: boolean };

  private acc(vcpu: Vcpu | null): VgicAccess {
    this.a.cpu = this.fixedCpu ?? (vcpu ? this.vg.cpu(vcpu) : null);
    return this.a;
  }

  /**
   * Under the scheduler's lookahead, whether a guest access may run ahead of the other vCPUs: only on an
   * untrapped frame (GICv2's GICV page, banked by the accessing vCPU), and not a write while a list register
   * holds a hardware-mapped interrupt (an EOI would then deactivate the host interrupt).
   */
  localAccess(vcpu: Vcpu, _offset: number, isWrite: boolean): boolean {
    return this.untrapped !== undefined && this.fixedCpu === null && (!isWrite || !this.vg.cpu(vcpu).cpuif.holdsHwLr());
  }

  /** Guest read. */
  read(vcpu: Vcpu | null, offset: number, len: number, val: MmioValue): boolean {
    this.table.access(this.acc(vcpu), offset, len, val, false);
    return true;
  }

  /** Guest write. */
  write(vcpu: Vcpu | null, offset: number, len: number, val: MmioValue): boolean {
    this.table.access(this.acc(vcpu), offset, len, val, true);
    return true;
  }
}

// ---- per-interrupt register helpers -----------------------------------------------------------------------

/** First INTID addressed by an access to per-IRQ register `r` at `off`. */
function firstIntid(r: { offset: number; bpi: number }, off: number): number {
  return ((off - r.offset) * 8) / r.bpi;
}

/** Reads one interrupt's bit of a 1-bit-per-IRQ register. */
export type IrqBitGet = (a: VgicAccess, irq: VgicIrq) => boolean;
/** Acts on one interrupt whose bit was written as 1. */
export type IrqBitSet = (a: VgicAccess, irq: VgicIrq) => void;

/**
 * A 1-bit-per-IRQ register. `privateRaz` makes INTIDs 0..31 RAZ/WI (GICv3 GICD with affinity routing).
 * Writes act on set bits only (write-1-to-set/clear semantics); `onWrite` null = read-only.
 */
export function bitReg(
  name: string,
  offset: number,
  length: number,
  privateRaz: boolean,
  get: IrqBitGet,
  onWrite: IrqBitSet | null,
  user?: { get?: IrqBitGet; set?: IrqBitSet | null },
): VgicRegister {
  const self = { offset, bpi: 1 };
  const mkRead =
    (g: IrqBitGet): RegHandler =>
    (a, off, len, val) => {
      const base = firstIntid(self, off);
      let v = 0;
      for (let i = 0; i < len * 8; i++) {
        const id = base + i;
        if (privateRaz && id < VGIC_NR_PRIVATE_IRQS) continue;
        const irq = a.vg.irq(a.cpu, id);
        if (irq !== undefined && g(a, irq)) v |= 1 << i;
      }
      val.lo = v >>> 0;
    };
  const mkWrite =
    (s: IrqBitSet | null): RegHandler =>
    (a, off, len, val) => {
      if (s === null) return;
      const base = firstIntid(self, off);
      for (let i = 0; i < len * 8; i++) {
        if (((val.lo >>> i) & 1) === 0) continue;
        const id = base + i;
        if (privateRaz && id < VGIC_NR_PRIVATE_IRQS) continue;
        const irq = a.vg.irq(a.cpu, id);
        if (irq !== undefined) s(a, irq);
      }
    };
  return {
    name,
    offset,
    length,
    bpi: 1,
    widths: W.W,
    read: mkRead(get),
    write: mkWrite(onWrite),
    uread: user?.get ? mkRead(user.get) : undefined,
    uwrite: user && user.set !== undefined ? mkWrite(user.set) : undefined,
  };
}

/** IGROUPR: group bit per IRQ (read/write, not write-1-to-set). */
export function groupReg(offset: number, length: number, privateRaz: boolean): VgicRegister {
  const self = { offset, bpi: 1 };
  return {
    name: 'IGROUPR',
    offset,
    length,
    bpi: 1,
    widths: W.W,
    read: (a, off, len, val) => {
      const base = firstIntid(self, off);
      let v = 0;
      for (let i = 0; i < 32; i++) {
        const id = base + i;
        if (privateRaz && id < VGIC_NR_PRIVATE_IRQS) continue;
        const irq = a.vg.irq(a.cpu, id);
        if (irq !== undefined && irq.group) v |= 1 << i;
      }
      val.lo = v >>> 0;
    },
    write: (a, off, len, val) => {
      const base = firstIntid(self, off);
      for (let i = 0; i < 32; i++) {
        const id = base + i;
        if (privateRaz && id < VGIC_NR_PRIVATE_IRQS) continue;
        const irq = a.vg.irq(a.cpu, id);
        if (irq === undefined) continue;
        const g = (val.lo >>> i) & 1;
        if (irq.group !== g) {
          irq.group = g;
          a.vg.queue(irq);
        }
      }
    },
  };
}

/** The common set/clear enable, pending and active registers at their standard offsets from `base`. */
export function stateRegs(base: number, length: number, privateRaz: boolean): VgicRegister[] {
  return [
    groupReg(base + 0x080, length, privateRaz),
    bitReg(
      'ISENABLER',
      base + 0x100,
      length,
      privateRaz,
      (_a, i) => i.enabled,
      (a, i) => {
        i.enabled = true;
        a.vg.queue(i);
      },
    ),
    bitReg(
      'ICENABLER',
      base + 0x180,
      length,
      privateRaz,
      (_a, i) => i.enabled,
      (_a, i) => {
        i.enabled = false;
      },
    ),
    bitReg(
      'ISPENDR',
      base + 0x200,
      length,
      privateRaz,
      (a, i) => pendingSeen(a.vg, i),
      (a, i) => a.vg.setPending(i, a.user),
      {
        // GICv3: the latch only (line levels travel in LEVEL_INFO); GICv2 has no LEVEL_INFO: latch OR line.
        get: (a, i) => (i.level && !a.vg.v2 ? i.pendingLatch : a.vg.isPending(i)),
      },
    ),
    bitReg(
      'ICPENDR',
      base + 0x280,
      length,
      privateRaz,
      (a, i) => pendingSeen(a.vg, i),
      (a, i) => a.vg.clearPending(i),
      {
        get: () => false,
        set: null,
      },
    ),
    bitReg(
      'ISACTIVER',
      base + 0x300,
      length,
      privateRaz,
      (a, i) => a.vg.isActive(i),
      (a, i) => a.vg.setActive(i, true, a.user),
    ),
    bitReg(
      'ICACTIVER',
      base + 0x380,
      length,
      privateRaz,
      (a, i) => a.vg.isActive(i),
      (a, i) => a.vg.setActive(i, false, a.user),
    ),
  ];
}

/** IPRIORITYR: a byte per IRQ, byte or word access; 5 bits implemented. */
export function priorityReg(offset: number, length: number, privateRaz: boolean): VgicRegister {
  return {
    name: 'IPRIORITYR',
    offset,
    length,
    bpi: 8,
    widths: W.B | W.W,
    read: (a, off, len, val) => {
      const base = off - offset;
      let v = 0;
      for (let i = 0; i < len; i++) {
        const id = base + i;
        if (privateRaz && id < VGIC_NR_PRIVATE_IRQS) continue;
        const irq = a.vg.irq(a.cpu, id);
        if (irq !== undefined) v |= irq.priority << (8 * i);
      }
      val.lo = v >>> 0;
    },
    write: (a, off, len, val) => {
      const base = off - offset;
      for (let i = 0; i < len; i++) {
        const id = base + i;
        if (privateRaz && id < VGIC_NR_PRIVATE_IRQS) continue;
        const irq = a.vg.irq(a.cpu, id);
        if (irq !== undefined) irq.priority = (val.lo >>> (8 * i)) & VGIC_PRI_MASK;
      }
    },
  };
}

/** ICFGR: 2 bits per IRQ (bit 1: 1 = edge); SGIs always edge, PPIs read-only as KVM. */
export function configReg(offset: number, length: number, privateRaz: boolean): VgicRegister {
  const self = { offset, bpi: 2 };
  return {
    name: 'ICFGR',
    offset,
    length,
    bpi: 2,
    widths: W.W,
    read: (a, off, len, val) => {
      const base = firstIntid(self, off);
      let v = 0;
      for (let i = 0; i < 16; i++) {
        const id = base + i;
        if (privateRaz && id < VGIC_NR_PRIVATE_IRQS) continue;
        const irq = a.vg.irq(a.cpu, id);
        if (irq !== undefined && !irq.level) v |= 2 << (2 * i);
      }
      val.lo = v >>> 0;
    },
    write: (a, off, len, val) => {
      const base = firstIntid(self, off);
      for (let i = 0; i < 16; i++) {
        const id = base + i;
        if (id < VGIC_NR_PRIVATE_IRQS) continue;
        const irq = a.vg.irq(a.cpu, id);
        if (irq !== undefined) irq.level = ((val.lo >>> (2 * i + 1)) & 1) === 0;
      }
    },
    uwrite: (a, off, len, val) => {
      const base = firstIntid(self, off);
      for (let i = 0; i < 16; i++) {
        const id = base + i;
        if (id < VGIC_NR_SGIS || (privateRaz && id < VGIC_NR_PRIVATE_IRQS)) continue;
        const irq = a.vg.irq(a.cpu, id);
        if (irq !== undefined) irq.level = ((val.lo >>> (2 * i + 1)) & 1) === 0;
      }
    },
  };
}

/** A plain 32-bit register. */
export function reg32(
  name: string,
  offset: number,
  read: RegHandler,
  write: RegHandler = wi,
  extra: Partial<VgicRegister> = {},
): VgicRegister {
  return { name, offset, length: 4, bpi: 0, widths: W.W, read, write, ...extra };
}

/** A RAZ/WI range. */
export function razwi(name: string, offset: number, length: number, widths: number = W.W): VgicRegister {
  return { name, offset, length, bpi: 0, widths, read: raz, write: wi };
}

/** KVM's GICD_IIDR/GICR_IIDR: implementer Arm (0x43b), product KVM (0x4b), revision 3. */
export const VGIC_IIDR = ((0x4b << 24) | (3 << 12) | 0x43b) >>> 0;
