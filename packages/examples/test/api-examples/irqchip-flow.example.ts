// #region doc
import { DAIF, GuestAsm, Hypervisor, IrqType, PSCI, type IrqchipFlow, type Vcpu, type Vm } from '@irqflow/core';

// A one-line interrupt controller: SPI lines drive vCPU 0's IRQ input.
class OneLine implements IrqchipFlow {
  level = false;
  vcpuPendingIrq = (): boolean => this.level;
  vcpuFlushHwstate = (v: Vcpu): void => void (v.virq = this.level);
  injectUserspaceIrq(vm: Vm, type: IrqType, _cpu: number, _intid: number, level: boolean): void {
    this.level = level;
    if (level) vm.kickVcpu(vm.vcpus[0]);
  }
}

const vm = new Hypervisor().createVm();
const vcpu = vm.createVcpu();
vm.setIrqchip(new OneLine(), 'one-line');
const a = new GuestAsm();
a.label('main').daifclr(DAIF.I).label('idle').wfi().b('idle');
a.label('irq')
  .call((cpu) => cpu.vm.irqLine((IrqType.Spi << 24) | 32, 0))
  .movi(0, PSCI.SYSTEM_OFF)
  .hvc();
vcpu.setProgram(a.build());
vm.at(20_000, () => vm.irqLine((IrqType.Spi << 24) | 32, 1));
console.log(vm.run().reason, vcpu.stats.irqsTaken);
// → shutdown 1
// #endregion doc
