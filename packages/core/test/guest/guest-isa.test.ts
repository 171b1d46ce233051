/** Guest ISA semantics: 64-bit ALU, branches, stack, exceptions and ERET. */
import fc from 'fast-check';
import { DAIF, ExitReason, GuestAsm, Hypervisor, Insn, INSN_WORDS, Op, PSCI, type Vcpu } from '../../src';

function run(build: (a: GuestAsm) => void, setup?: (v: Vcpu) => void): Vcpu {
  const vm = new Hypervisor({ traceCapacity: 16 }).createVm();
  const v = vm.createVcpu();
  const a = new GuestAsm();
  a.label('main');
  build(a);
  a.movi(0, PSCI.SYSTEM_OFF).hvc();
  v.setProgram(a.build());
  setup?.(v);
  expect(vm.run().reason).toBe('shutdown');
  return v;
}

const M64 = (1n << 64n) - 1n;
const u64 = fc.bigInt({ min: 0n, max: M64 });

describe('ALU', () => {
  it('addi carries across the 32-bit halves and wraps at 64 bits (negative immediates too)', () => {
    fc.assert(
      fc.property(u64, fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), (x, imm) => {
        const v = run((a) => a.movi(1, x).addi(2, 1, imm));
        expect(v.xBig(2)).toBe(BigInt.asUintN(64, x + BigInt(imm)));
      }),
      { numRuns: 60 },
    );
  });

  it('andi / orri / eori / lsli / lsri match 64-bit BigInt arithmetic', () => {
    fc.assert(
      fc.property(u64, u64, fc.integer({ min: 0, max: 63 }), (x, m, sh) => {
        const v = run((a) => a.movi(1, x).andi(2, 1, m).orri(3, 1, m).eori(4, 1, m).lsli(5, 1, sh).lsri(6, 1, sh).mov(7, 1));
        expect(v.xBig(2)).toBe(x & m);
        expect(v.xBig(3)).toBe(x | m);
        expect(v.xBig(4)).toBe(x ^ m);
        expect(v.xBig(5)).toBe((x << BigInt(sh)) & M64);
        expect(v.xBig(6)).toBe(x >> BigInt(sh));
        expect(v.xBig(7)).toBe(x);
      }),
      { numRuns: 60 },
    );
  });

  it('writes to xzr are discarded and xzr reads as zero', () => {
    const v = run((a) => a.movi(31, 5).addi(1, 31, 3).mov(31, 1).addi(2, 31, 0));
    expect(v.x(1)).toBe(3);
    expect(v.x(2)).toBe(0);
  });

  it('setX/x/xBig handle negative and large values as two’s complement', () => {
    const v = new Hypervisor({ traceCapacity: 16 }).createVm().createVcpu();
    v.setX(1, -1);
    expect(v.xBig(1)).toBe(M64);
    v.setX(2, 2 ** 40 + 3);
    expect(v.x(2)).toBe(2 ** 40 + 3);
    v.setX(3, -(2 ** 40));
    expect(v.xBig(3)).toBe(BigInt.asUintN(64, -(2n ** 40n)));
    v.setX64(4, 1, 2);
    expect(v.xBig(4)).toBe(0x2_0000_0001n);
    v.setX(31, 9);
    expect(v.x(31)).toBe(0);
  });
});

describe('branches', () => {
  it('compare-immediate branches are unsigned 64-bit comparisons', () => {
    fc.assert(
      fc.property(u64, u64, (x, k) => {
        const v = run((a) => {
          a.movi(1, x).movi(10, 0).movi(11, 0).movi(12, 0).movi(13, 0);
          a.beqi(1, k, 'eq').b('n1').label('eq').movi(10, 1).label('n1');
          a.bnei(1, k, 'ne').b('n2').label('ne').movi(11, 1).label('n2');
          a.bloi(1, k, 'lo').b('n3').label('lo').movi(12, 1).label('n3');
          a.bhsi(1, k, 'hs').b('n4').label('hs').movi(13, 1).label('n4');
        });
        expect([v.x(10), v.x(11), v.x(12), v.x(13)]).toEqual([Number(x === k), Number(x !== k), Number(x < k), Number(x >= k)]);
      }),
      { numRuns: 60 },
    );
  });

  it('cbz/cbnz, bl/ret and a counted loop', () => {
    const v = run((a) => {
      a.movi(1, 0).movi(2, 0).label('loop').addi(2, 2, 3).addi(1, 1, 1).bnei(1, 10, 'loop');
      a.cbz(2, 'bad').cbnz(2, 'ok').label('bad').movi(9, 0xbad).label('ok');
      a.bl('fn').b('end').label('fn').movi(8, 0x5a).ret().label('end');
    });
    expect(v.x(2)).toBe(30);
    expect(v.x(9)).toBe(0);
    expect(v.x(8)).toBe(0x5a);
  });

  it('callb branches on the hook result; call hooks take no simulated time', () => {
    const v = run((a) =>
      a
        .callb(() => true, 'y')
        .movi(1, 1)
        .label('y')
        .callb(() => false, 'z')
        .movi(2, 2)
        .label('z')
        .call(() => undefined),
    );
    expect(v.x(1)).toBe(0);
    expect(v.x(2)).toBe(2);
  });
});

describe('stack', () => {
  it('push/pop are LIFO over all 64 bits', () => {
    const v = run((a) => a.movi(1, 0x1111_2222_3333_4444n).movi(2, 7).push(1).push(2).pop(3).pop(4));
    expect(v.x(3)).toBe(7);
    expect(v.xBig(4)).toBe(0x1111_2222_3333_4444n);
  });

  it('pop on an empty stack and push on a full one are guest faults', () => {
    const v = run((a) => a.pop(1));
    expect(v.stats.faults).toBe(1);
    const w = run((a) => a.movi(5, 0).label('l').push(5).addi(5, 5, 1).bnei(5, 1025, 'l'));
    expect(w.stats.faults).toBe(1);
  });
});

describe('exceptions', () => {
  it('an IRQ is taken at an operation boundary only while PSTATE.I is clear; ERET restores DAIF and PC', () => {
    const vm = new Hypervisor({ traceCapacity: 16 }).createVm();
    const v = vm.createVcpu();
    const a = new GuestAsm();
    a.label('main').movi(1, 1).movi(2, 2).daifclr(DAIF.I).label('unmasked').movi(3, 3).mrs(6, 'DAIF').movi(0, PSCI.SYSTEM_OFF).hvc();
    a.label('irq')
      .mrs(4, 'ELR_EL1')
      .mrs(5, 'DAIF')
      .call((c) => c.vm.irqLine(0, 0))
      .eret();
    const img = a.build();
    v.setProgram(img);
    vm.irqLine(0, 1); // KVM_IRQ_LINE type CPU, IRQ asserted before the guest starts (masked at reset)
    vm.run();
    expect(v.x(4)).toBe(img.labels.get('unmasked')); // taken right after DAIFClr
    expect(v.x(5)).toBe(0xf << 6); // handler runs masked
    expect(v.x(6)).toBe(0xd << 6); // ERET restored I clear (D, A, F stay set)
    expect(v.x(3)).toBe(3);
    expect(v.stats.irqsTaken).toBe(1);
  });

  it('nested exceptions: saveExceptionState lets a handler re-enable IRQs and return correctly', () => {
    const vm = new Hypervisor({ traceCapacity: 16 }).createVm();
    const v = vm.createVcpu();
    const a = new GuestAsm();
    let depth = 0;
    let maxDepth = 0;
    a.label('main').daifclr(DAIF.I).movi(1, 0).label('l').addi(1, 1, 1).bnei(1, 20, 'l').label('after').movi(0, PSCI.SYSTEM_OFF).hvc();
    a.label('irq').saveExceptionState(9);
    a.call((c) => {
      depth++;
      maxDepth = Math.max(maxDepth, depth);
      // the first level re-raises the line so a second IRQ nests inside the handler
      if (depth === 1) c.vm.irqLine(0, 1);
      else c.vm.irqLine(0, 0);
    });
    a.daifclr(DAIF.I).work(10).daifset(DAIF.I);
    a.call(() => void depth--);
    a.restoreExceptionState(9).eret();
    v.setProgram(a.build());
    vm.at(0, () => vm.irqLine(0, 1));
    // raise after the loop started
    vm.run();
    expect(maxDepth).toBe(2);
    expect(v.stats.irqsTaken).toBe(2);
    expect(v.x(1)).toBe(20); // the interrupted loop resumed correctly
    expect(v.daif).toBe(0xd);
  });

  it('an IRQ vector-less program ignores the IRQ line', () => {
    const v = run(
      (a) => a.daifclr(DAIF.I).movi(1, 1),
      (c) => (c.virq = true),
    );
    expect(v.stats.irqsTaken).toBe(0);
    expect(v.x(1)).toBe(1);
  });

  it('FIQs use the fiq vector and PSTATE.F', () => {
    const vm = new Hypervisor({ traceCapacity: 16 }).createVm();
    const v = vm.createVcpu();
    const a = new GuestAsm();
    a.label('main').daifclr(DAIF.I).movi(1, 1).daifclr(DAIF.F).movi(2, 2).movi(0, PSCI.SYSTEM_OFF).hvc();
    a.label('fiq')
      .mov(7, 1)
      .call((c) => c.vm.irqLine(1, 0))
      .eret();
    v.setProgram(a.build());
    vm.irqLine(1, 1);
    vm.run();
    expect(v.x(7)).toBe(1); // taken after F was cleared, when x1 was already 1
  });
});

describe('memory', () => {
  it('RAM loads and stores of every width, with a base register and offset', () => {
    const vm = new Hypervisor({ traceCapacity: 16 }).createVm();
    vm.setUserMemoryRegion({ slot: 0, guestPhysAddr: 0x4000_0000, size: 0x1_0000 });
    const v = vm.createVcpu();
    const a = new GuestAsm();
    a.label('main')
      .movi(1, 0x4000_0000)
      .movi(2, 0x8877_6655_4433_2211n)
      .str(2, 1, 8, 8)
      .ldr(3, 1, 8, 1)
      .ldr(4, 1, 8, 2)
      .ldr(5, 1, 8, 4)
      .ldr(6, 1, 8, 8);
    a.str(2, 1, 0x20, 1).ldr(7, 1, 0x20, 8).movi(0, PSCI.SYSTEM_OFF).hvc();
    v.setProgram(a.build());
    vm.run();
    expect([v.x(3), v.x(4), v.x(5)]).toEqual([0x11, 0x2211, 0x44332211]);
    expect(v.xBig(6)).toBe(0x8877_6655_4433_2211n);
    expect(v.x(7)).toBe(0x11);
    expect(vm.memory.readU64(0x4000_0008)).toBe(0x8877_6655_4433_2211n);
    expect(v.stats.exits[ExitReason.Hvc]).toBe(1); // only the final HVC: RAM needs no exit
    expect(v.stats.exits[ExitReason.MmioKernel] + v.stats.exits[ExitReason.MmioUser]).toBe(0);
  });
});

describe('image layout', () => {
  it('packs INSN_WORDS words per instruction, fields at the Insn offsets, 64-bit immediates in two halves', () => {
    const a = new GuestAsm();
    a.label('main').movi(3, 0xfedcba9876543210n).label('back').bhsi(4, -2, 'back').wfi();
    const img = a.build();
    expect(img.length).toBe(3);
    expect(img.code.length).toBe(3 * INSN_WORDS);
    const at = (i: number, f: Insn): number => img.code[i * INSN_WORDS + f];
    expect([at(0, Insn.Op), at(0, Insn.A), at(0, Insn.ImmLo) >>> 0, at(0, Insn.ImmHi) >>> 0]).toEqual([Op.MOVI, 3, 0x76543210, 0xfedcba98]);
    // a negative immediate is its 64-bit two's complement; a label operand resolves to the instruction index
    expect([at(1, Insn.Op), at(1, Insn.A), at(1, Insn.C), at(1, Insn.ImmLo) >>> 0, at(1, Insn.ImmHi) >>> 0]).toEqual([
      Op.BHSI,
      4,
      1,
      0xfffffffe,
      0xffffffff,
    ]);
    expect(at(2, Insn.Op)).toBe(Op.WFI);
  });

  it('executes a 64-bit immediate with its top bits set exactly (the halves are read back unsigned)', () => {
    const v = run((a) => a.movi(1, 0xffffffff_80000000n).addi(2, 1, 0x80000000).bhsi(2, 0xffffffff_ffffffffn, 'hi').movi(3, 1).label('hi'));
    expect(v.xBig(2)).toBe(0n); // wrapped: 0xffffffff_80000000 + 0x80000000 = 2^64
    expect(v.x(3)).toBe(1); // 0 is below the all-ones immediate: not taken
  });
});
