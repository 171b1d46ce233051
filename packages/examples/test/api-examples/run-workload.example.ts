// #region doc
import { createHypervisor, findWorkload, runWorkload } from '@irqflow/examples';

const { hv } = createHypervisor({ traceCapacity: 1 }); // the packages, the timer and "pic"
for (const irqchip of ['gic-v3', 'rvic']) {
  const r = runWorkload(hv, findWorkload('virtio-msi')!, { irqchip, vcpus: 2, seed: 7 });
  console.log(r.irqchip, r.status, r.path, r.interrupts);
}
// → gic-v3 ok msi-irqfd 200
// → rvic ok msi-irqfd 200
// #endregion doc
