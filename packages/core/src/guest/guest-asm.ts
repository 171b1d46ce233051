/**
 * The guest program assembler. A fluent TypeScript API emits {@link GuestImage} instructions; labels resolve
 * at {@link GuestAsm.build}. Label names `irq`, `fiq` and `sync` define the exception vectors; `main` (or the
 * first instruction) is the entry point. Registers are x0..x30 (64-bit); {@link XZR} (31) reads as zero.
 *
 * @example
 * ```ts
 * const a = new GuestAsm();
 * a.label('main').daifclr(DAIF.I).label('loop').wfi().b('loop');
 * a.label('irq').mrs(0, 'ICC_IAR1_EL1').msr('ICC_EOIR1_EL1', 0).eret();
 * const image = a.build();
 * ```
 *
 * @module
 */
import { sysregOf, type SysregName } from '../sysreg/sysreg-encoding';
import { Insn, INSN_WORDS, Op, OP_NAMES, XZR, type GuestHook, type GuestImage } from './guest-isa';

interface AsmInsn {
  op: Op;
  a: number;
  b: number;
  c: number | string;
  imm: bigint;
  fn: GuestHook | null;
}

/** Splits an immediate into (lo, hi) two's-complement 64-bit halves. */
function imm64(v: number | bigint): bigint {
  return BigInt.asUintN(64, typeof v === 'bigint' ? v : BigInt(Math.trunc(v)));
}

function reg(r: number): number {
  if (!Number.isInteger(r) || r < 0 || r > 31) throw new Error(`bad register x${r}`);
  return r;
}

/**
 * Assembles guest programs.
 *
 * @example
 * ```ts
 * import { GuestAsm, Hypervisor, PSCI } from '@irqflow/core';
 *
 * const a = new GuestAsm();
 * a.label('main').movi(9, 0x1000).movi(1, 42).str(1, 9, 0); // x1 → [x9]: RAM at 0x1000
 * a.ldr(2, 9, 0).work(100).movi(0, PSCI.SYSTEM_OFF).hvc();
 * const vm = new Hypervisor().createVm();
 * vm.setUserMemoryRegion({ slot: 0, guestPhysAddr: 0, size: 0x10000 });
 * const vcpu = vm.createVcpu();
 * vcpu.setProgram(a.build());
 * console.log(vm.run().reason, vcpu.x(2));
 * // → shutdown 42
 * ```
 */
export class GuestAsm {
  private insns: AsmInsn[] = [];
  private labelAt = new Map<string, number>();
  private uniq = 0;

  private emit(op: Op, a = 0, b = 0, c: number | string = 0, imm: bigint = 0n, fn: GuestHook | null = null): this {
    this.insns.push({ op, a, b, c, imm, fn });
    return this;
  }

  /** Current instruction index (the next instruction's address). */
  get here(): number {
    return this.insns.length;
  }

  /** Returns a fresh label name (for macros). */
  fresh(prefix = 'L'): string {
    return `.${prefix}${this.uniq++}`;
  }

  /** Defines a label at the next instruction. */
  label(name: string): this {
    if (this.labelAt.has(name)) throw new Error(`label ${name} defined twice`);
    this.labelAt.set(name, this.insns.length);
    return this;
  }

  /** No operation (one cycle). */
  nop(): this {
    return this.emit(Op.NOP);
  }
  /** rd = imm (64-bit). */
  movi(rd: number, imm: number | bigint): this {
    return this.emit(Op.MOVI, reg(rd), 0, 0, imm64(imm));
  }
  /** rd = rn. */
  mov(rd: number, rn: number): this {
    return this.emit(Op.MOV, reg(rd), reg(rn));
  }
  /** rd = rn + imm (64-bit wrap-around; imm may be negative). */
  addi(rd: number, rn: number, imm: number): this {
    return this.emit(Op.ADDI, reg(rd), reg(rn), 0, imm64(imm));
  }
  /** rd = rn & imm. */
  andi(rd: number, rn: number, imm: number | bigint): this {
    return this.emit(Op.ANDI, reg(rd), reg(rn), 0, imm64(imm));
  }
  /** rd = rn | imm. */
  orri(rd: number, rn: number, imm: number | bigint): this {
    return this.emit(Op.ORRI, reg(rd), reg(rn), 0, imm64(imm));
  }
  /** rd = rn ^ imm. */
  eori(rd: number, rn: number, imm: number | bigint): this {
    return this.emit(Op.EORI, reg(rd), reg(rn), 0, imm64(imm));
  }
  /** rd = rn >> sh (logical, 0..63). */
  lsri(rd: number, rn: number, sh: number): this {
    return this.emit(Op.LSRI, reg(rd), reg(rn), sh & 63);
  }
  /** rd = rn << sh (0..63). */
  lsli(rd: number, rn: number, sh: number): this {
    return this.emit(Op.LSLI, reg(rd), reg(rn), sh & 63);
  }
  /** Branch. */
  b(label: string): this {
    return this.emit(Op.B, 0, 0, label);
  }
  /** Branch with link (x30 = return address). */
  bl(label: string): this {
    return this.emit(Op.BL, 0, 0, label);
  }
  /** Return to x30. */
  ret(): this {
    return this.emit(Op.RET);
  }
  /** Branch if rn == 0. */
  cbz(rn: number, label: string): this {
    return this.emit(Op.CBZ, reg(rn), 0, label);
  }
  /** Branch if rn != 0. */
  cbnz(rn: number, label: string): this {
    return this.emit(Op.CBNZ, reg(rn), 0, label);
  }
  /** Branch if rn == imm. */
  beqi(rn: number, imm: number | bigint, label: string): this {
    return this.emit(Op.BEQI, reg(rn), 0, label, imm64(imm));
  }
  /** Branch if rn != imm. */
  bnei(rn: number, imm: number | bigint, label: string): this {
    return this.emit(Op.BNEI, reg(rn), 0, label, imm64(imm));
  }
  /** Branch if rn < imm (unsigned). */
  bloi(rn: number, imm: number | bigint, label: string): this {
    return this.emit(Op.BLOI, reg(rn), 0, label, imm64(imm));
  }
  /** Branch if rn >= imm (unsigned). */
  bhsi(rn: number, imm: number | bigint, label: string): this {
    return this.emit(Op.BHSI, reg(rn), 0, label, imm64(imm));
  }
  /**
   * Load `width` bytes from [base + offset] into rd (zero-extended). `base` XZR means an absolute address.
   * RAM is read directly; any other address is MMIO (in-kernel device or an exit to userspace).
   */
  ldr(rd: number, base: number, offset: number | bigint, width: 1 | 2 | 4 | 8 = 4): this {
    return this.emit(Op.LDR, reg(rd), width, reg(base), imm64(offset));
  }
  /** Store the low `width` bytes of rs to [base + offset]. */
  str(rs: number, base: number, offset: number | bigint, width: 1 | 2 | 4 | 8 = 4): this {
    return this.emit(Op.STR, reg(rs), width, reg(base), imm64(offset));
  }
  /** Load from an absolute guest physical address. */
  ldra(rd: number, addr: number | bigint, width: 1 | 2 | 4 | 8 = 4): this {
    return this.ldr(rd, XZR, addr, width);
  }
  /** Store to an absolute guest physical address. */
  stra(rs: number, addr: number | bigint, width: 1 | 2 | 4 | 8 = 4): this {
    return this.str(rs, XZR, addr, width);
  }
  /** rd = system register. */
  mrs(rd: number, sysreg: SysregName | number): this {
    return this.emit(Op.MRS, reg(rd), sysregOf(sysreg));
  }
  /** System register = rs. */
  msr(sysreg: SysregName | number, rs: number): this {
    return this.emit(Op.MSR, reg(rs), sysregOf(sysreg));
  }
  /** Hypervisor call (SMCCC: x0 = function id, x1.. = arguments; results in x0..x3). */
  hvc(imm = 0): this {
    return this.emit(Op.HVC, imm & 0xffff);
  }
  /** Secure monitor call (trapped to the hypervisor like HVC). */
  smc(imm = 0): this {
    return this.emit(Op.SMC, imm & 0xffff);
  }
  /** Wait for interrupt. */
  wfi(): this {
    return this.emit(Op.WFI);
  }
  /** PSTATE.DAIF |= mask (use {@link DAIF}). */
  daifset(mask: number): this {
    return this.emit(Op.DAIFSET, mask & 15);
  }
  /** PSTATE.DAIF &= ~mask. */
  daifclr(mask: number): this {
    return this.emit(Op.DAIFCLR, mask & 15);
  }
  /** Exception return: pc = ELR_EL1, PSTATE.DAIF = SPSR_EL1.DAIF. */
  eret(): this {
    return this.emit(Op.ERET);
  }
  /** Push rn on the vCPU's stack. */
  push(rn: number): this {
    return this.emit(Op.PUSH, reg(rn));
  }
  /** Pop into rd. */
  pop(rd: number): this {
    return this.emit(Op.POP, reg(rd));
  }
  /** Plain computation costing `cycles` guest cycles. */
  work(cycles: number): this {
    return this.emit(Op.WORK, 0, 0, 0, imm64(Math.max(0, Math.round(cycles))));
  }
  /** Runs a synchronous TypeScript hook (takes no simulated time). */
  call(fn: GuestHook): this {
    return this.emit(Op.CALL, 0, 0, 0, 0n, fn);
  }
  /** Runs a hook and branches to `label` when it returns true. */
  callb(fn: GuestHook, label: string): this {
    return this.emit(Op.CALLB, 0, 0, label, 0n, fn);
  }

  /** Saves ELR_EL1 and SPSR_EL1 on the stack (use before re-enabling interrupts in a handler). */
  saveExceptionState(scratch = 9): this {
    return this.mrs(scratch, 'ELR_EL1').push(scratch).mrs(scratch, 'SPSR_EL1').push(scratch);
  }
  /** Restores what {@link saveExceptionState} saved (run with interrupts masked). */
  restoreExceptionState(scratch = 9): this {
    return this.pop(scratch).msr('SPSR_EL1', scratch).pop(scratch).msr('ELR_EL1', scratch);
  }

  /** Resolves labels and returns the image. @throws Error on an undefined label */
  build(): GuestImage {
    const n = this.insns.length;
    const code = new Int32Array(n * INSN_WORDS);
    const fn: (GuestHook | null)[] = new Array<GuestHook | null>(n).fill(null);
    this.insns.forEach((ins, i) => {
      const w = i * INSN_WORDS;
      code[w + Insn.Op] = ins.op;
      code[w + Insn.A] = ins.a;
      code[w + Insn.B] = ins.b;
      if (typeof ins.c === 'string') {
        const t = this.labelAt.get(ins.c);
        if (t === undefined) throw new Error(`undefined label ${ins.c} (instruction ${i}: ${OP_NAMES[ins.op]})`);
        code[w + Insn.C] = t;
      } else code[w + Insn.C] = ins.c;
      code[w + Insn.ImmLo] = Number(ins.imm & 0xffffffffn);
      code[w + Insn.ImmHi] = Number(ins.imm >> 32n);
      fn[i] = ins.fn;
    });
    const v = (name: string): number => this.labelAt.get(name) ?? -1;
    return {
      code,
      fn,
      labels: new Map(this.labelAt),
      vectors: { irq: v('irq'), fiq: v('fiq'), sync: v('sync') },
      length: n,
    };
  }
}

export { XZR };
