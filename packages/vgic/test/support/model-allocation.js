'use strict';
// Shared by the allocation probes (support/sgi-allocation-probe.js, its/support/lpi-allocation-probe.js): bytes
// allocated in the model's own code while `run` executes, measured with V8's sampling heap profiler, objects
// collected meanwhile included.
const { Session } = require('node:inspector');

/** Bytes sampled in the model's own frames (core and vgic dist, not the benchmark's or the probe's loop). */
function modelBytes(n) {
  const url = n.callFrame.url.replace(/\\/g, '/');
  const own = /\/packages\/(core|vgic)\/dist\/(?!bench\/)/.test(url) ? n.selfSize : 0;
  return n.children.reduce((sum, c) => sum + modelBytes(c), own);
}

/** Runs `run` under the sampling heap profiler; resolves to the bytes the model allocated meanwhile. */
async function sampledModelBytes(run) {
  const session = new Session();
  session.connect();
  const post = (m, p) => new Promise((res, rej) => session.post(m, p || {}, (e, r) => (e ? rej(e) : res(r))));
  await post('HeapProfiler.enable');
  await post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  run();
  const { profile } = await post('HeapProfiler.stopSampling');
  session.disconnect();
  return modelBytes(profile.head);
}

module.exports = { sampledModelBytes };
