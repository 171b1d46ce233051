// #region doc
import { Hypervisor } from '@irqflow/core';
import { findWorkload, runWorkload } from '@irqflow/examples';
import { TimerPlugin } from '@irqflow/timer';
import { VgicPlugin } from '@irqflow/vgic';

const hv = new Hypervisor().use(TimerPlugin).use(VgicPlugin);
const r = runWorkload(hv, findWorkload('timer-tick')!, { irqchip: 'gic-v3', vcpus: 1 });
console.log(hv.extensions.map((e) => e.name).join(), r.status, r.interrupts);
// → arch-timer ok 100
// #endregion doc
