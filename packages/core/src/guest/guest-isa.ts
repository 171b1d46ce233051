/**
 * The guest instruction set. Guest programs are TypeScript that assembles a small AArch64-flavoured program
 * ({@link GuestAsm}); each vCPU interprets it one operation at a time, so the scheduler can switch vCPUs and a
 * vCPU can stop for an exit at any operation boundary without a Promise, a generator or an allocation per
 * operation. Operations are the architectural ones an interrupt-controller driver issues — MMIO loads and
 * stores, MRS/MSR, HVC/SMC, WFI, DAIF masking, ERET — plus plain computation costed in cycles and `call`, a
 * synchronous TypeScript hook for guest-side logic (bookkeeping, decisions) that takes no simulated time.
 *
 * @module
 */
import type { Vcpu } from '../vm/vcpu';

/** Opcodes. */
export const enum Op {
  NOP = 0,
  MOVI,
  MOV,
  ADDI,
  ANDI,
  ORRI,
  EORI,
  LSRI,
  LSLI,
  B,
  BL,
  RET,
  CBZ,
  CBNZ,
  BEQI,
  BNEI,
  BLOI,
  BHSI,
  LDR,
  STR,
  MRS,
  MSR,
  HVC,
  SMC,
  WFI,
  DAIFSET,
  DAIFCLR,
  ERET,
  PUSH,
  POP,
  WORK,
  CALL,
  CALLB,
}

/** Opcode mnemonics (disassembly). */
export const OP_NAMES: readonly string[] = [
  'nop',
  'movi',
  'mov',
  'addi',
  'andi',
  'orri',
  'eori',
  'lsri',
  'lsli',
  'b',
  'bl',
  'ret',
  'cbz',
  'cbnz',
  'beqi',
  'bnei',
  'bloi',
  'bhsi',
  'ldr',
  'str',
  'mrs',
  'msr',
  'hvc',
  'smc',
  'wfi',
  'daifset',
  'daifclr',
  'eret',
  'push',
  'pop',
  'work',
  'call',
  'callb',
];

/** The zero register / "no base register" marker. */
export const XZR = 31;

/** PSTATE.DAIF bits as DAIFSet/DAIFClr immediates take them. */
export const DAIF = { D: 8, A: 4, I: 2, F: 1 } as const;

/** A guest hook: synchronous TypeScript run by the vCPU. `callb` branches when it returns true. */
export type GuestHook = (cpu: Vcpu) => boolean | void;

/** Words per instruction in {@link GuestImage.code} (a power of two: the interpreter shifts the PC by 3). */
export const INSN_WORDS = 8;

/** Word offsets of an instruction's fields in {@link GuestImage.code}. */
export const enum Insn {
  /** The opcode ({@link Op}). */
  Op = 0,
  /** Operand a (usually the destination/source register). */
  A = 1,
  /** Operand b (register, width, or sysreg encoding). */
  B = 2,
  /** Operand c (branch target, shift, or base register). */
  C = 3,
  /** Immediate bits [31:0] (read back with `>>> 0`). */
  ImmLo = 4,
  /** Immediate bits [63:32] (read back with `>>> 0`). */
  ImmHi = 5,
}

/** An assembled program image (immutable once built). */
export interface GuestImage {
  /**
   * The instructions, packed: {@link INSN_WORDS} words per instruction, fields at the {@link Insn} offsets,
   * instruction `i` at word `i * INSN_WORDS`. One array, not a column per field: the interpreter then keeps one
   * array in a register rather than six, and an instruction's fields share a cache line (measured: guest
   * operations through the run loop about 1.3x faster than with six columns).
   */
  readonly code: Int32Array;
  /** Hooks for CALL/CALLB. */
  readonly fn: (GuestHook | null)[];
  /** Label → instruction index. */
  readonly labels: ReadonlyMap<string, number>;
  /** Exception vectors (instruction index or -1). */
  readonly vectors: { readonly irq: number; readonly fiq: number; readonly sync: number };
  /** Instruction count. */
  readonly length: number;
}
