'use strict';
// Run by lpi-hot-path-allocation.test.ts in a node process of its own, against the built packages (what users
// run; jest's module sandbox changes how V8 optimizes the code under test). Prints one JSON line:
// {"bytesPerLpi": <bytes sampled in the model's frames per LPI>, "lpis": <LPIs sent>, "completed": <LPIs the guests counted>}.
const path = require('node:path');
const { Session } = require('node:inspector');
const root = path.resolve(__dirname, '..', '..', '..', '..', '..');
require(require.resolve('reflect-metadata', { paths: [root] }));
const { DAIF, GuestAsm, Hypervisor } = require(path.join(root, 'packages', 'core', 'dist'));
const { VgicPlugin } = require(path.join(root, 'packages', 'vgic', 'dist'));

const hv = new Hypervisor({ traceCapacity: 16 }).use(VgicPlugin);
const vm = hv.createVm();
for (let i = 0; i < 16; i++) vm.createVcpu();
const drv = hv.irqchip('gic-v3').setup(vm, {});
const msis = [];
vm.vcpus.forEach((cpu, i) => {
  const a = new GuestAsm();
  a.label('main');
  drv.emitCpuInit(a);
  if (i === 0)
    for (let d = 0; d < 16; d++)
      for (let e = 0; e < 16; e++) msis.push(drv.emitMsiSetup(a, { devid: d, event: e, intid: 8192 + d * 16 + e, target: (d * 16 + e) % 16 }));
  a.movi(5, 0).daifclr(DAIF.I).label('idle').wfi().b('idle');
  a.label('irq').mrs(9, 'ICC_IAR1_EL1').beqi(9, 1023, 'out').msr('ICC_EOIR1_EL1', 9).addi(5, 5, 1).label('out').eret();
  cpu.setProgram(a.build());
});
vm.run();
let sent = 0;
function rounds(r) {
  for (let i = 0; i < r; i++) {
    for (let k = 0; k < msis.length; k++) if (vm.signalMsi(msis[k]) !== 1) throw new Error('signalMsi did not return 1');
    sent += msis.length;
    vm.run();
  }
}
function modelBytes(n) {
  const url = n.callFrame.url.replace(/\\/g, '/');
  const own = /\/packages\/(core|vgic)\/dist\//.test(url) ? n.selfSize : 0;
  return n.children.reduce((sum, c) => sum + modelBytes(c), own);
}
rounds(3000); // until the JIT has optimized the path (unoptimized code boxes every non-integer number)
const s = new Session();
s.connect();
const post = (m, p) => new Promise((res, rej) => s.post(m, p || {}, (e, r) => (e ? rej(e) : res(r))));
(async () => {
  await post('HeapProfiler.enable');
  await post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  const before = sent;
  rounds(2000);
  const { profile } = await post('HeapProfiler.stopSampling');
  s.disconnect();
  let completed = 0;
  for (const cpu of vm.vcpus) completed += cpu.x(5);
  process.stdout.write(JSON.stringify({ bytesPerLpi: modelBytes(profile.head) / (sent - before), lpis: sent, completed }) + '\n');
})();
