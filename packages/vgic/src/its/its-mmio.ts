/**
 * The ITS register frames as one declarative table: Arm IHI 0069, 12.19 "The ITS register descriptions"
 * (control frame ITS_base + 0x0000: GITS_CTLR, GITS_IIDR, GITS_TYPER, GITS_CBASER, GITS_CWRITER, GITS_CREADR,
 * GITS_BASER<n>, identification registers; translation frame ITS_base + 0x10000: GITS_TRANSLATER), with KVM's
 * choices (vgic-its.c register table): 64-bit registers accept 64-bit and 32-bit (either half) accesses, 32-bit
 * registers 32-bit accesses; any other width, a misaligned access or an unimplemented offset reads as zero and
 * ignores writes. Userspace (ITS_REGS) accesses use the same table with `uwrite` where KVM has a uaccess handler.
 *
 * @module
 */
import { Errno, fail, type MmioDevice, type MmioValue, type Vcpu } from '@irqflow/core';
import {
  BASER,
  CBASER,
  CTLR_ENABLE,
  CTLR_QUIESCENT,
  GITS,
  GITS_TYPER_VALUE,
  IIDR_IMPLEMENTER_ARM,
  IIDR_PRODUCT_KVM,
  ITS_FRAME_SIZE,
  NR_ITS_ABIS,
} from './gits-regs';
import { processCommands } from './its-commands';
import { baserAddr, baserBytes, baserValid, cbaserBytes } from './its-tables';
import { BASER_COLLECTION_RESET, BASER_DEVICE_RESET, type VgicIts } from './vgic-its';

/** One ITS register. */
export interface ItsRegister {
  /** Architectural name. */
  readonly name: string;
  /** Offset from ITS_base. */
  readonly offset: number;
  /** Register width in bytes (4 or 8). */
  readonly bytes: 4 | 8;
  /** Accessible through KVM_DEV_ARM_VGIC_GRP_ITS_REGS. */
  readonly uaccess: boolean;
  /** The register's value. */
  read(its: VgicIts): bigint;
  /** A guest write of the whole register (32-bit halves are merged with {@link read} first). */
  write(its: VgicIts, v: bigint): void;
  /** A userspace write, where it differs from the guest's (may throw KvmError). */
  uwrite?(its: VgicIts, v: bigint): void;
}

const wi = (): void => {};

function ctlrWrite(its: VgicIts, v: bigint): void {
  const en = (v & BigInt(CTLR_ENABLE)) !== 0n;
  // Enabling needs valid Device and Collection tables and a valid command queue; otherwise the write is ignored.
  if (!its.enabled && en && (!baserValid(its.baserDevice) || !baserValid(its.baserCollection) || (its.cbaser & CBASER.VALID) === 0n))
    return;
  its.enabled = en;
  if (!en) its.invalidateCache();
  processCommands(its);
}

function baserWrite(n: number, its: VgicIts, v: bigint): void {
  if (its.enabled || n > 1) return;
  const reset = n === 0 ? BASER_DEVICE_RESET : BASER_COLLECTION_RESET;
  let nv = (v & BASER.WRITABLE) | reset;
  if (n === 1) nv &= ~BASER.INDIRECT; // only the Device table may be two-level (Indirect is RAZ/WI here)
  const old = n === 0 ? its.baserDevice : its.baserCollection;
  if (n === 0) its.baserDevice = nv;
  else its.baserCollection = nv;
  if (!baserValid(nv)) {
    if (n === 0) its.removeAllDevices();
    else its.removeAllCollections();
  } else if (n === 1 && baserValid(old) && (baserAddr(old) !== baserAddr(nv) || baserBytes(old) !== baserBytes(nv))) {
    // Newest mainline (the vgic_its_save selftest): pointing GITS_BASER1 at a different table (address or Size
    // changed, Valid kept) drops the collections the old table described, as Valid = 0 does. Older KVM kept
    // them, so a shrunk table could hold fewer entries than the ITS then saved into it. The next SAVE_TABLES
    // writes only the terminating entry (ICIDs that ITEs still name are kept as not mapped: see
    // collectionTableChanged).
    its.collectionTableChanged();
  }
}

const ID_REGS: Record<number, number> = {
  0xffd0: 0x40, // PIDR4: 64 KiB software-visible page
  0xffe0: 0x92, // PIDR0
  0xffe4: 0xb4, // PIDR1
  0xffe8: 0x3b, // PIDR2: ArchRev GICv3 | JEP106 bits
  0xfff0: 0x0d, // CIDR0..3
  0xfff4: 0xf0,
  0xfff8: 0x05,
  0xfffc: 0xb1,
};

/** The ITS register table. */
export const ITS_REGISTERS: readonly ItsRegister[] = [
  {
    name: 'GITS_CTLR',
    offset: GITS.CTLR,
    bytes: 4,
    uaccess: true,
    read: (its) => BigInt((its.enabled ? CTLR_ENABLE : 0) | (its.creadr === its.cwriter ? CTLR_QUIESCENT : 0)) & 0xffffffffn,
    write: ctlrWrite,
  },
  {
    name: 'GITS_IIDR',
    offset: GITS.IIDR,
    bytes: 4,
    uaccess: true,
    read: (its) => BigInt((IIDR_PRODUCT_KVM << 24) | (its.abiRev << 12) | IIDR_IMPLEMENTER_ARM),
    write: wi,
    uwrite: (its, v) => {
      const rev = Number((v >> 12n) & 0xfn);
      if (rev >= NR_ITS_ABIS) fail(Errno.EINVAL, `GITS_IIDR.Revision ${rev}: only ABI revision 0 is implemented`);
      its.abiRev = rev;
    },
  },
  { name: 'GITS_TYPER', offset: GITS.TYPER, bytes: 8, uaccess: true, read: () => GITS_TYPER_VALUE, write: wi },
  {
    name: 'GITS_CBASER',
    offset: GITS.CBASER,
    bytes: 8,
    uaccess: true,
    read: (its) => its.cbaser,
    write: (its, v) => {
      if (its.enabled) return;
      its.cbaser = v & CBASER.WRITABLE;
      its.creadr = 0;
      its.cwriter = 0;
    },
  },
  {
    name: 'GITS_CWRITER',
    offset: GITS.CWRITER,
    bytes: 8,
    uaccess: true,
    read: (its) => BigInt(its.cwriter),
    write: (its, v) => {
      const off = Number(v & 0xfffe0n);
      if (off >= cbaserBytes(its.cbaser)) return;
      its.cwriter = off;
      processCommands(its);
    },
  },
  {
    name: 'GITS_CREADR',
    offset: GITS.CREADR,
    bytes: 8,
    uaccess: true,
    read: (its) => BigInt(its.creadr),
    write: wi,
    uwrite: (its, v) => {
      if (its.enabled) fail(Errno.EBUSY, 'GITS_CREADR can only be restored while the ITS is disabled');
      const off = Number(v & 0xfffe0n);
      if (off >= cbaserBytes(its.cbaser)) fail(Errno.EINVAL, `GITS_CREADR 0x${off.toString(16)} is beyond the command queue`);
      its.creadr = off;
    },
  },
  ...Array.from({ length: 8 }, (_, n): ItsRegister => ({
    name: `GITS_BASER${n}`,
    offset: GITS.BASER + n * 8,
    bytes: 8,
    uaccess: true,
    read: (its) => (n === 0 ? its.baserDevice : n === 1 ? its.baserCollection : 0n),
    write: (its, v) => baserWrite(n, its, v),
  })),
  ...Object.entries(ID_REGS).map(([off, val]): ItsRegister => ({
    name: `GITS_ID@0x${Number(off).toString(16)}`,
    offset: Number(off),
    bytes: 4,
    uaccess: true,
    read: () => BigInt(val),
    write: wi,
  })),
  // The translation frame: written by devices; handled without BigInt in ItsMmio.write.
  { name: 'GITS_TRANSLATER', offset: GITS.TRANSLATER, bytes: 4, uaccess: false, read: () => 0n, write: wi },
];

/** Word offset → register. ID register offsets not in ID_REGS (PIDR5-7, PIDR3) read as zero through `idRaz`. */
const BY_WORD = new Map<number, ItsRegister>();
for (const r of ITS_REGISTERS) for (let o = 0; o < r.bytes; o += 4) BY_WORD.set(r.offset + o, r);
for (let o = GITS.IDREGS; o < GITS.IDREGS_END; o += 4) {
  if (!BY_WORD.has(o))
    BY_WORD.set(o, { name: `GITS_ID@0x${o.toString(16)}`, offset: o, bytes: 4, uaccess: true, read: () => 0n, write: wi });
}

/** The register covering `offset`, if any. */
export function itsRegisterAt(offset: number): ItsRegister | undefined {
  return BY_WORD.get(offset - (offset & 3));
}

/** The MMIO bus device of one ITS frame (128 KiB). */
export class ItsMmio implements MmioDevice {
  /** Bus name. */
  readonly name: string;

  /** @param its - the ITS */
  constructor(readonly its: VgicIts) {
    this.name = `ITS${its.index}`;
  }

  private regFor(offset: number, len: number): ItsRegister | undefined {
    if (offset < 0 || offset >= ITS_FRAME_SIZE) return undefined;
    const r = BY_WORD.get(offset);
    if (r === undefined) return undefined;
    const rel = offset - r.offset;
    if (len === 8 ? r.bytes !== 8 || rel !== 0 : len !== 4) return undefined;
    return r;
  }

  /** Guest (or bus) read: unimplemented offsets and widths read as zero. */
  read(_vcpu: Vcpu | null, offset: number, len: number, val: MmioValue): boolean {
    val.lo = 0;
    val.hi = 0;
    const r = this.regFor(offset, len);
    if (r === undefined) return true;
    const v = r.read(this.its) >> BigInt((offset - r.offset) * 8);
    val.lo = Number(v & 0xffffffffn);
    if (len === 8) val.hi = Number((v >> 32n) & 0xffffffffn);
    return true;
  }

  /** Guest (or bus) write: a 16/32-bit write to GITS_TRANSLATER is an MSI from DeviceID `its.busDeviceId`. */
  write(_vcpu: Vcpu | null, offset: number, len: number, val: MmioValue): boolean {
    if (offset === GITS.TRANSLATER && (len === 4 || len === 2)) {
      this.its.inject(this.its.busDeviceId, len === 2 ? val.lo & 0xffff : val.lo >>> 0);
      return true;
    }
    const r = this.regFor(offset, len);
    if (r === undefined) return true;
    r.write(this.its, mergeWrite(r.read(this.its), offset - r.offset, len, val));
    return true;
  }
}

/** Merges an access of `len` bytes at byte `rel` of a register into its current value. */
export function mergeWrite(cur: bigint, rel: number, len: number, val: MmioValue): bigint {
  if (len === 8) return (BigInt(val.hi >>> 0) << 32n) | BigInt(val.lo >>> 0);
  const shift = BigInt(rel * 8);
  return (cur & ~(0xffffffffn << shift)) | (BigInt(val.lo >>> 0) << shift);
}
