// #region doc
import { Hypervisor } from '@irqflow/core';
import { VgicPlugin } from '@irqflow/vgic';

const hv = new Hypervisor().use(VgicPlugin);
console.log(hv.irqchipDescriptors.map((d) => d.name).join(' '), hv.irqchip('gicv3').name);
// → gic-v3 gic-v2 gic-v4 gic-v4.1 gic-v3
// #endregion doc
