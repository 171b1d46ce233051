// #region doc
import { Hypervisor } from '@irqflow/core';
import { RvicPlugin } from '@irqflow/rvic';

const vm = new Hypervisor().use(RvicPlugin).createVm({ irqchip: 'rvic', vcpus: 4 });
console.log(vm.irqchip?.features.join(','), vm.driver?.ipi?.(0), vm.deviceLine(3) & 0xffff);
// → ipi,msi,level,timer 0 3
// #endregion doc
