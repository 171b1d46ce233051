'use strict';
// Run by lpi-hot-path-allocation.test.ts in a node process of its own, against the built packages (what users
// run; jest's module sandbox changes how V8 optimizes the code under test). The VM is the ITS benchmark's
// lpi-stress VM (16 devices × 16 events over 16 vCPUs). Prints one JSON line:
// {"bytesPerLpi": <bytes sampled in the model's frames per LPI>, "lpis": <LPIs sent>, "completed": <LPIs the guests counted>}.
const path = require('node:path');
const { Session } = require('node:inspector');
const root = path.resolve(__dirname, '..', '..', '..', '..', '..');
require(require.resolve('reflect-metadata', { paths: [root] }));
const { lpiStressVm } = require(path.join(root, 'packages', 'vgic', 'dist', 'bench', 'its.bench.js'));

/** Bytes sampled in the model's own frames (core and vgic, not the benchmark's driving loop). */
function modelBytes(n) {
  const url = n.callFrame.url.replace(/\\/g, '/');
  const own = /\/packages\/(core|vgic)\/dist\/(?!bench\/)/.test(url) ? n.selfSize : 0;
  return n.children.reduce((sum, c) => sum + modelBytes(c), own);
}

const s = lpiStressVm(16, 16, 16);
for (let i = 0; i < 3000; i++) s.round(); // until the JIT has optimized the path (unoptimized code boxes every non-integer number)
const session = new Session();
session.connect();
const post = (m, p) => new Promise((res, rej) => session.post(m, p || {}, (e, r) => (e ? rej(e) : res(r))));
(async () => {
  await post('HeapProfiler.enable');
  await post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  const before = s.sent;
  for (let i = 0; i < 2000; i++) s.round();
  const { profile } = await post('HeapProfiler.stopSampling');
  session.disconnect();
  process.stdout.write(JSON.stringify({ bytesPerLpi: modelBytes(profile.head) / (s.sent - before), lpis: s.sent, completed: s.completed() }) + '\n');
})();
