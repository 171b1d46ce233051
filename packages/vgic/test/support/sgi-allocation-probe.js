'use strict';
// Run by sgi-hot-path-allocation.test.ts in a node process of its own, against the built packages (jest's module
// sandbox changes how V8 optimizes the code under test). Two vCPUs on a GICv3 play IPI ping-pong: each one's
// IRQ vector acknowledges (ICC_IAR1_EL1), completes (ICC_EOIR1_EL1) and sends the next SGI to the other
// (ICC_SGI1R_EL1, trapped), driven by `vm.run({ until })` in steps, as a VMM's time-sliced loop does.
// Prints one JSON line: {"bytesPerIrq": <bytes sampled in the model's frames per interrupt>, "irqs": <completed>}.
const path = require('node:path');
const root = path.resolve(__dirname, '..', '..', '..', '..');
require(require.resolve('reflect-metadata', { paths: [root] }));
const { DAIF, GuestAsm, Hypervisor } = require(path.join(root, 'packages', 'core', 'dist'));
const { VgicPlugin } = require(path.join(root, 'packages', 'vgic', 'dist'));
const { sampledModelBytes } = require('./model-allocation');

const hv = new Hypervisor({ traceCapacity: 16 }).use(VgicPlugin);
const vm = hv.createVm();
vm.createVcpu();
vm.createVcpu();
const drv = hv.irqchip('gic-v3').setup(vm, {});
const sgi = drv.ipi(1);
vm.vcpus.forEach((cpu, i) => {
  const a = new GuestAsm();
  a.label('main');
  drv.emitCpuInit(a);
  drv.emitEnable(a, sgi);
  a.movi(1, 1 - i)
    .movi(5, 0)
    .daifclr(DAIF.I);
  if (i === 0) drv.emitSendIpi(a, 1, 1);
  a.label('idle').wfi().b('idle');
  a.label('irq');
  drv.emitAck(a, 9);
  drv.emitEoi(a, 9);
  a.addi(5, 5, 1);
  drv.emitSendIpi(a, 1, 1);
  a.eret();
  cpu.setProgram(a.build());
});
const completed = () => vm.vcpus.reduce((n, c) => n + c.x(5), 0);
let t = 0;
const slice = () => {
  t += 2e6;
  vm.run({ until: t });
};
// until the JIT has optimized the path: 300 slices and at least a second, since on a loaded machine the
// optimizing compiler (a background thread) may not have installed runSlice's optimized code after 300 slices
const warmFrom = Date.now();
for (let i = 0; i < 300 || Date.now() - warmFrom < 1000; i++) slice();
(async () => {
  const before = completed();
  const bytes = await sampledModelBytes(() => {
    for (let i = 0; i < 300; i++) slice();
  });
  const irqs = completed() - before;
  process.stdout.write(JSON.stringify({ bytesPerIrq: bytes / irqs, irqs }) + '\n');
})();
