// #region doc
import { DAIF, GuestAsm, Hypervisor } from '@irqflow/core';
import { VgicPlugin } from '@irqflow/vgic';

const vm = new Hypervisor().use(VgicPlugin).createVm({ irqchip: 'gic-v3', vcpus: 1 });
const drv = vm.driver!;
const intid = drv.deviceIrqs.first; // device input 0 in the controller's numbering (INTID 32)
let taken = 0;
const a = new GuestAsm();
a.label('main');
drv.emitCpuInit(a);
drv.emitEnable(a, intid);
a.daifclr(DAIF.I).label('idle').wfi().b('idle');
a.label('irq');
drv.emitAck(a, 9);
a.call(() => void taken++);
drv.emitEoi(a, 9);
a.eret();
vm.vcpus[0].setProgram(a.build());

vm.at(50_000, () => vm.irqLine(vm.deviceLine(0), 1)); // a device raises its line at t = 50 µs
vm.at(50_100, () => vm.irqLine(vm.deviceLine(0), 0));
const r = vm.run({ until: 1_000_000 });
console.log(r.reason, taken, vm.warnings.length);
// → idle 1 0
// #endregion doc
