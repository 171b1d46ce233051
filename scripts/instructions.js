#!/usr/bin/env node
'use strict';
// Host instructions per interrupt of one benchmark shape, counted by valgrind (cachegrind, no cache simulation)
// under `node --predictable` (no concurrent compiler or GC threads): a figure that repeats to a few instructions
// on a machine whose wall clock varies by ±30%, for comparing two builds of the model. Needs `valgrind`
// (apt-get install -y valgrind) and a build (npm run build).
//
//   node scripts/instructions.js SHAPE [ROOT]     ROOT: the repository to measure (default: this one)
//
// SHAPEs (core's bench shapes, vgic's lpi-stress):
//   pp[:CHIP]        2-vCPU SGI ping-pong (pingPongShape; CHIP default gic-v3)
//   vcpus:N[:CHIP]   the same with N vCPUs, the others idle in WFI
//   spi:K[:CHIP]     K SPIs pending at all times on vCPU 0 (pendingShape)
//   lpi:K[:CHIP]     K LPIs pending at all times, through KVM_SIGNAL_MSI and the ITS
//   e2e:D:E:V        lpi-stress end to end: D devices × E events × V vCPUs
//
// The count is (instructions of a run handling 300k interrupts − those of one handling 100k) / 200k, both after
// the same 200k-interrupt warm-up, so start-up, compilation and warm-up cancel out.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const WARM = 200_000;
const REP = 50_000;

/** Child mode: builds SHAPE from ROOT's dist and handles WARM + n interrupts. */
function child(root, shape, n) {
  require(path.join(root, 'node_modules/reflect-metadata'));
  const core = require(path.join(root, 'packages/core/dist/index.js'));
  const { VgicPlugin } = require(path.join(root, 'packages/vgic/dist/plugin.js'));
  const [kind, a1, a2, a3] = shape.split(':');
  let rep;
  if (kind === 'e2e') {
    const { lpiStressVm } = require(path.join(root, 'packages/vgic/dist/bench/its.bench.js'));
    const s = lpiStressVm(+a1, +a2, +a3);
    rep = (irqs) => {
      for (let i = 0; i < Math.max(1, Math.round(irqs / s.msis.length)); i++) s.round();
    };
  } else {
    const hv = new core.Hypervisor({ traceCapacity: 16 }).use(VgicPlugin);
    let s;
    if (kind === 'pp') s = core.pingPongShape(hv, a1 || 'gic-v3', 2);
    else if (kind === 'vcpus') s = core.pingPongShape(hv, a2 || 'gic-v3', +a1);
    else if (kind === 'spi' || kind === 'lpi') s = core.pendingShape(hv, a2 || 'gic-v3', kind, +a1);
    else throw new Error(`unknown shape ${shape}`);
    rep = (irqs) => s.rep(irqs);
  }
  for (let i = 0; i < (WARM + n) / REP; i++) rep(REP);
}

/** Instructions valgrind counts for a child handling WARM + n interrupts. */
function count(root, shape, n) {
  const r = spawnSync(
    'valgrind',
    [
      '--tool=cachegrind',
      '--cache-sim=no',
      '--cachegrind-out-file=/dev/null',
      process.execPath,
      '--predictable',
      __filename,
      '--child',
      root,
      shape,
      String(n),
    ],
    { encoding: 'utf8' },
  );
  if (r.error) {
    console.error('valgrind is not installed: apt-get install -y valgrind');
    process.exit(2);
  }
  const m = /I\s+refs:\s+([\d,]+)/.exec(r.stderr);
  if (r.status !== 0 || !m) {
    console.error(r.stderr.slice(-2000));
    process.exit(1);
  }
  return Number(m[1].replace(/,/g, ''));
}

const args = process.argv.slice(2);
if (args[0] === '--child') child(args[1], args[2], +args[3]);
else if (args.length < 1 || args[0].startsWith('-')) {
  console.error('usage: node scripts/instructions.js SHAPE [ROOT]   (see the header of this file)');
  process.exit(2);
} else {
  const root = path.resolve(args[1] ?? path.join(__dirname, '..'));
  const per = (count(root, args[0], 3 * 100_000) - count(root, args[0], 100_000)) / 200_000;
  console.log(`${args[0]}: ${Math.round(per)} instructions per interrupt`);
}
