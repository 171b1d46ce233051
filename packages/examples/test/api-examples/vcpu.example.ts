// #region doc
import { GuestAsm, Hypervisor, PSCI } from '@irqflow/core';

const vm = new Hypervisor().createVm();
const vcpu = vm.createVcpu();
const a = new GuestAsm();
a.label('main').movi(1, 10).movi(2, 0);
a.label('loop').addi(2, 2, 3).addi(1, 1, -1).cbnz(1, 'loop');
a.movi(0, PSCI.SYSTEM_OFF).hvc();
vcpu.setProgram(a.build());
const r = vm.run();
console.log(r.reason, vcpu.x(2), JSON.stringify(vm.stats().exitsByReason));
// → shutdown 30 {"hvc":1,"system-event":1}
// #endregion doc
