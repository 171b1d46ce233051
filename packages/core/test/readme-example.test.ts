/** The README's guest-program example runs as documented. */
import { DAIF, GuestAsm, Hypervisor, PSCI } from '../src';

it('README example: a timed IRQ line raise wakes the guest, which counts it and powers off', () => {
  const hv = new Hypervisor();
  const vm = hv.createVm({ costProfile: 'gicv3-vhe' });
  const vcpu = vm.createVcpu();
  const a = new GuestAsm();
  a.label('main').daifclr(DAIF.I).label('wait').cbz(20, 'sleep').movi(0, PSCI.SYSTEM_OFF).hvc().label('sleep').wfi().b('wait');
  a.label('irq')
    .addi(20, 20, 1)
    .call((cpu) => cpu.vm.irqLine(0, 0))
    .eret();
  vcpu.setProgram(a.build());
  vm.at(10_000, () => vm.irqLine(0, 1));
  const r = vm.run();
  expect(r.reason).toBe('shutdown');
  expect(vcpu.x(20)).toBe(1);
  // lowering the line kicks the vCPU as KVM's vcpu_interrupt_line does on any change: one IRQ exit
  expect(vm.stats().exitsByReason).toEqual({ wfi: 1, hvc: 1, irq: 1, 'system-event': 1 });
  expect(vcpu.clock).toBeGreaterThan(10_000);
});
