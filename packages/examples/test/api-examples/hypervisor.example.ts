// #region doc
import { Hypervisor } from '@irqflow/core';
import { RvicPlugin } from '@irqflow/rvic';
import { VgicPlugin } from '@irqflow/vgic';

const hv = new Hypervisor().use(VgicPlugin).use(RvicPlugin);
for (const irqchip of ['gic-v3', 'rvic']) {
  const vm = hv.createVm({ irqchip, vcpus: 2 }); // switching controllers changes one word
  console.log(vm.irqchip?.name, vm.vcpus.length, vm.deviceLine(0).toString(16));
}
// → gic-v3 2 1000020
// → rvic 2 1000000
// #endregion doc
