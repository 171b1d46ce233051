/**
 * The register table of the "pic" example controller's 4 KiB MMIO frame — one declarative table, as the house
 * rules ask for every frame: offset, access width, how many registers, bits per interrupt, and the guest and
 * userspace handlers. The frame is banked: private interrupts (< 32) and the control registers are those of
 * the accessing vCPU; shared interrupts are those of their target. Unknown offsets are RAZ/WI; an access of
 * the wrong width is an external abort. Every access traps (mmio-kernel exit).
 *
 * @module
 */
import type { MmioDevice, MmioValue, Vcpu } from '@irqflow/core';
import { PIC_FRAME_SIZE, PIC_NR_PRIVATE, PIC_REG } from './pic-abi';
import type { PicChip } from './pic-chip';
import type { PicCpu } from './pic-cpu';

/** One register (or array of registers) of the frame. */
export interface PicRegister {
  /** Name. */
  readonly name: string;
  /** Offset of the first register. */
  readonly offset: number;
  /** Access width in bytes. */
  readonly width: 1 | 4;
  /** Number of consecutive registers. */
  readonly count: number;
  /** Interrupt bits per register (0 = not per-interrupt). */
  readonly bitsPerIrq: 0 | 1 | 8;
  /** Whether userspace may access it through the REGS attribute group (side-effect-free registers only). */
  readonly user: boolean;
  /** Read of register `index` by `vcpu` (absent = RAZ). */
  read?(chip: PicChip, vcpu: Vcpu, index: number): number;
  /** Write (absent = WI). */
  write?(chip: PicChip, vcpu: Vcpu, index: number, value: number): void;
}

/** Applies `fn` to every interrupt of a 1-bit-per-IRQ register write whose bit is set. */
function eachBit(chip: PicChip, vcpu: Vcpu, index: number, value: number, fn: (bank: Vcpu, intid: number) => void): void {
  for (let b = 0; b < 32 && value !== 0; b++) {
    if ((value & (1 << b)) === 0) continue;
    value &= ~(1 << b);
    const intid = index * 32 + b;
    if (intid >= chip.nrIrqs) return;
    const bank = chip.bankOf(vcpu.index, intid);
    if (bank) fn(bank, intid);
  }
}

/** Reads a 1-bit-per-IRQ bitmap of the banks holding interrupts 32*index..32*index+31. */
function readBits(chip: PicChip, vcpu: Vcpu, index: number, get: (bank: Vcpu, intid: number) => boolean): number {
  let v = 0;
  for (let b = 0; b < 32; b++) {
    const intid = index * 32 + b;
    if (intid >= chip.nrIrqs) break;
    const bank = chip.bankOf(vcpu.index, intid);
    if (bank && get(bank, intid)) v |= 1 << b;
  }
  return v >>> 0;
}

const bit = (a: Uint32Array, intid: number): boolean => (a[intid >>> 5] & (1 << (intid & 31))) !== 0;

/**
 * A 1-bit-per-interrupt register array (32 registers: interrupts 0..1023, each bit in the bank that holds its
 * interrupt), userspace-accessible; `get` reads one interrupt's bit, `write` (absent: read-only) handles each
 * set bit of a write.
 */
function bitmapReg(
  name: string,
  offset: number,
  get: (bank: PicCpu, intid: number) => boolean,
  write?: (chip: PicChip, bank: Vcpu, intid: number) => void,
): PicRegister {
  const reg: PicRegister = {
    name,
    offset,
    width: 4,
    count: 32,
    bitsPerIrq: 1,
    user: true,
    read: (c, v, i) => readBits(c, v, i, (b, n) => get(c.cpu(b), n)),
  };
  return write === undefined ? reg : { ...reg, write: (c, v, i, val) => eachBit(c, v, i, val, (b, n) => write(c, b, n)) };
}

/** `<name>_SET` and `<name>_CLR` over bitmap `which`: both read the state; a 1 written sets (SET) or clears (CLR) it. */
function setClearPair(
  name: string,
  setOffset: number,
  clrOffset: number,
  which: 'enabled' | 'trigger' | 'latch',
  get: (bank: PicCpu, intid: number) => boolean,
): PicRegister[] {
  return [
    bitmapReg(`${name}_SET`, setOffset, get, (c, b, n) => c.setBit(b, which, n, true)),
    bitmapReg(`${name}_CLR`, clrOffset, get, (c, b, n) => c.setBit(b, which, n, false)),
  ];
}

/** The frame's register table. */
export const PIC_REGISTERS: readonly PicRegister[] = [
  {
    name: 'CTLR',
    offset: PIC_REG.CTLR,
    width: 4,
    count: 1,
    bitsPerIrq: 0,
    user: true,
    read: (c, v) => c.cpu(v).ctlr,
    write: (c, v, _i, val) => {
      c.cpu(v).ctlr = val & 1;
      for (let w = 0; w < 32; w++) c.cpu(v).update(w);
    },
  },
  { name: 'TYPER', offset: PIC_REG.TYPER, width: 4, count: 1, bitsPerIrq: 0, user: true, read: (c) => c.nrIrqs },
  { name: 'CPUID', offset: PIC_REG.CPUID, width: 4, count: 1, bitsPerIrq: 0, user: true, read: (_c, v) => v.index },
  {
    name: 'PMR',
    offset: PIC_REG.PMR,
    width: 4,
    count: 1,
    bitsPerIrq: 0,
    user: true,
    read: (c, v) => c.cpu(v).pmr,
    write: (c, v, _i, val) => {
      c.cpu(v).pmr = val & 0xffff;
    },
  },
  { name: 'ACK', offset: PIC_REG.ACK, width: 4, count: 1, bitsPerIrq: 0, user: false, read: (c, v) => c.acknowledge(v) },
  {
    name: 'EOI',
    offset: PIC_REG.EOI,
    width: 4,
    count: 1,
    bitsPerIrq: 0,
    user: false,
    write: (c, v, _i, val) => c.complete(v, val & 0x3ff),
  },
  { name: 'IPI', offset: PIC_REG.IPI, width: 4, count: 1, bitsPerIrq: 0, user: false, write: (c, _v, _i, val) => c.sendIpi(val) },
  {
    name: 'DOORBELL',
    offset: PIC_REG.DOORBELL,
    width: 4,
    count: 1,
    bitsPerIrq: 0,
    user: false,
    write: (c, _v, _i, val) => void c.doorbell(val),
  },
  ...setClearPair('ENABLE', PIC_REG.ENABLE_SET, PIC_REG.ENABLE_CLR, 'enabled', (b, n) => bit(b.enabled, n)),
  ...setClearPair('PENDING', PIC_REG.PENDING_SET, PIC_REG.PENDING_CLR, 'latch', (b, n) => b.pending(n)),
  bitmapReg('ACTIVE', PIC_REG.ACTIVE, (b, n) => bit(b.active, n)),
  ...setClearPair('TRIGGER', PIC_REG.TRIGGER_SET, PIC_REG.TRIGGER_CLR, 'trigger', (b, n) => bit(b.trigger, n)),
  bitmapReg('LEVEL', PIC_REG.LEVEL, (b, n) => bit(b.line, n)),
  {
    name: 'TARGET',
    offset: PIC_REG.TARGET,
    width: 1,
    count: 1024,
    bitsPerIrq: 8,
    user: true,
    read: (c, _v, i) => (i >= PIC_NR_PRIVATE && i < c.nrIrqs ? c.target[i] : 0),
    write: (c, _v, i, val) => {
      if (i >= PIC_NR_PRIVATE && i < c.nrIrqs) c.retarget(i, val & 0xff);
    },
  },
];

/** A decoded register address. */
export interface PicRegisterHit {
  /** The table entry. */
  readonly reg: PicRegister;
  /** Register index within the entry. */
  readonly index: number;
}

/** Offset → decoded register, built once from the table so an access is one array load (no scan). */
const DECODE: (PicRegisterHit | undefined)[] = (() => {
  const d: (PicRegisterHit | undefined)[] = new Array<PicRegisterHit | undefined>(PIC_FRAME_SIZE);
  for (const reg of PIC_REGISTERS) for (let i = 0; i < reg.count; i++) d[reg.offset + i * reg.width] = { reg, index: i };
  return d;
})();

/** The table entry and register index at `offset` (undefined for unused or misaligned offsets). */
export function lookupPicRegister(offset: number): PicRegisterHit | undefined {
  return offset >= 0 && offset < PIC_FRAME_SIZE ? DECODE[offset] : undefined;
}

/** The frame as an in-kernel MMIO device. */
export class PicFrame implements MmioDevice {
  /** Name on the MMIO bus. */
  readonly name = 'PIC';
  /** Frame size. */
  readonly size = PIC_FRAME_SIZE;

  /** @param chip - the controller */
  constructor(private readonly chip: PicChip) {}

  /** Guest read. */
  read(vcpu: Vcpu | null, offset: number, len: number, val: MmioValue): boolean {
    const hit = lookupPicRegister(offset);
    if (!hit) return true; // RAZ
    if (len !== hit.reg.width || vcpu === null) return false;
    val.lo = hit.reg.read ? hit.reg.read(this.chip, vcpu, hit.index) >>> 0 : 0;
    return true;
  }

  /** Guest write. */
  write(vcpu: Vcpu | null, offset: number, len: number, val: MmioValue): boolean {
    const hit = lookupPicRegister(offset);
    if (!hit) return true; // WI
    if (len !== hit.reg.width || vcpu === null) return false;
    hit.reg.write?.(this.chip, vcpu, hit.index, val.lo >>> 0);
    return true;
  }
}
