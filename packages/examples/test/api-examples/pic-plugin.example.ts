// #region doc
import { Hypervisor } from '@irqflow/core';
import { findWorkload, PicPlugin, runWorkload } from '@irqflow/examples';

const hv = new Hypervisor().use(PicPlugin); // a third-party controller: core is not touched
const r = runWorkload(hv, findWorkload('ipi-pingpong')!, { irqchip: 'pic' });
console.log(r.status, r.interrupts, Object.keys(r.exitsByReason).includes('mmio-kernel'));
// → ok 400 true
// #endregion doc
