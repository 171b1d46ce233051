// #region doc
import { GuestAsm, Hypervisor, PSCI } from '@irqflow/core';

const a = new GuestAsm();
a.label('main').movi(9, 0x1000).movi(1, 42).str(1, 9, 0); // x1 → [x9]: RAM at 0x1000
a.ldr(2, 9, 0).work(100).movi(0, PSCI.SYSTEM_OFF).hvc();
const vm = new Hypervisor().createVm();
vm.setUserMemoryRegion({ slot: 0, guestPhysAddr: 0, size: 0x10000 });
const vcpu = vm.createVcpu();
vcpu.setProgram(a.build());
console.log(vm.run().reason, vcpu.x(2));
// → shutdown 42
// #endregion doc
