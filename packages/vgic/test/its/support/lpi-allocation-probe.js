'use strict';
// Run by lpi-hot-path-allocation.test.ts in a node process of its own, against the built packages (what users
// run; jest's module sandbox changes how V8 optimizes the code under test). The VM is the ITS benchmark's
// lpi-stress VM (16 devices × 16 events over 16 vCPUs). Prints one JSON line:
// {"bytesPerLpi": <bytes sampled in the model's frames per LPI>, "lpis": <LPIs sent>, "completed": <LPIs the guests counted>}.
const path = require('node:path');
const root = path.resolve(__dirname, '..', '..', '..', '..', '..');
require(require.resolve('reflect-metadata', { paths: [root] }));
const { lpiStressVm } = require(path.join(root, 'packages', 'vgic', 'dist', 'bench', 'its.bench.js'));
const { sampledModelBytes } = require('../../support/model-allocation');

const s = lpiStressVm(16, 16, 16);
for (let i = 0; i < 3000; i++) s.round(); // until the JIT has optimized the path (unoptimized code boxes every non-integer number)
(async () => {
  const before = s.sent;
  const bytes = await sampledModelBytes(() => {
    for (let i = 0; i < 2000; i++) s.round();
  });
  process.stdout.write(JSON.stringify({ bytesPerLpi: bytes / (s.sent - before), lpis: s.sent, completed: s.completed() }) + '\n');
})();
