/**
 * The guest interpreter's operation boundaries (Arm DDI 0487, D1.3 "Exceptions"): an asserted virtual IRQ is
 * taken at the first boundary where PSTATE.I is clear — right after the DAIFClr or the ERET that unmasks it, not
 * at the next operation that goes through the vCPU.
 */
import { DAIF, GuestAsm, Hypervisor, PSCI, type Vcpu } from '../../src';

/** A VM without an irqchip whose guest asserts its own IRQ input in a hook, then computes and unmasks. */
function run(unmask: (a: GuestAsm) => void): { vcpu: Vcpu; elrs: number[]; after: number; reason: string } {
  const vm = new Hypervisor({ traceCapacity: 16 }).createVm();
  const vcpu = vm.createVcpu();
  const elrs: number[] = [];
  const a = new GuestAsm();
  a.label('main').movi(1, 0);
  a.call((cpu) => void (cpu.virq = true));
  a.addi(1, 1, 1).addi(1, 1, 1);
  unmask(a);
  a.label('after').addi(1, 1, 1).addi(1, 1, 1);
  a.movi(0, PSCI.SYSTEM_OFF).hvc();
  // the handler leaves the input asserted the first time: its ERET unmasks it again
  a.label('irq').call((cpu) => {
    elrs.push(cpu.elr);
    if (elrs.length === 2) cpu.virq = false;
  });
  a.eret();
  const image = a.build();
  vcpu.setProgram(image);
  const r = vm.run();
  return { vcpu, elrs, after: image.labels.get('after')!, reason: r.reason };
}

describe('guest interpreter: IRQ at the operation boundary', () => {
  it('takes a pending IRQ right after the DAIFClr that unmasks it, and again right after an ERET that unmasks it', () => {
    const r = run((a) => a.daifclr(DAIF.I));
    expect(r.reason).toBe('shutdown');
    // masked through both ADDs before the DAIFClr; taken before the first ADD after it, twice (ERET unmasks)
    expect(r.elrs).toEqual([r.after, r.after]);
    expect(r.vcpu.stats.irqsTaken).toBe(2);
    expect(r.vcpu.x(1)).toBe(4);
  });

  it('an IRQ masked again by DAIFSet before any boundary with I clear is not taken', () => {
    const r = run((a) => a.daifset(DAIF.I));
    expect(r.reason).toBe('shutdown');
    expect(r.elrs).toEqual([]);
    expect(r.vcpu.x(1)).toBe(4);
  });
});
