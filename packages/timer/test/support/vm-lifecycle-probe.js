'use strict';
// Run by vm-lifecycle.test.ts in a node process of its own (--expose-gc), against the built packages. One
// long-lived Hypervisor creates and destroys VMs: each has two vCPUs on a GICv4.1 (vPEs with doorbells), the
// arch timer (a mapped virtual timer per vCPU, host interrupts from the hypervisor-wide pool), a passthrough
// device with two MSI-X vectors, and runs long enough for every vCPU's first run and a few timer ticks.
// Usage: node vm-lifecycle-probe.js CYCLES. Prints one JSON line:
// {"cycles", "hostIrqsBefore", "hostIrqsAfter", "maxHostIrq", "maxInUse", "heapAfterWarmup", "heapAtEnd", "bytesPerCycle", "vmsAlive"}.
const path = require('node:path');
const root = path.resolve(__dirname, '..', '..', '..', '..');
require(require.resolve('reflect-metadata', { paths: [root] }));
const { DAIF, GuestAsm, Hypervisor } = require(path.join(root, 'packages', 'core', 'dist'));
const { VgicPlugin } = require(path.join(root, 'packages', 'vgic', 'dist'));
const { TimerPlugin } = require(path.join(root, 'packages', 'timer', 'dist'));

const cycles = Number(process.argv[2] ?? 10000);
const warmup = Math.min(1000, Math.floor(cycles / 10));
const hv = new Hypervisor({ traceCapacity: 16 }).use(TimerPlugin).use(VgicPlugin);
const weak = [];
let maxHostIrq = 0;
let inUse = 0;

async function oneVm(i) {
  const vm = hv.createVm();
  vm.createVcpu();
  vm.createVcpu();
  const drv = hv.irqchip('gic-v4.1').setup(vm, {});
  const nic = hv.createPassthroughDevice(`nic${i}`, 0x10, 2);
  for (const cpu of vm.vcpus) {
    const a = new GuestAsm();
    a.label('main');
    drv.emitCpuInit(a);
    drv.emitEnable(a, 27, { level: true });
    // the virtual timer 5 µs ahead, then wait in WFI
    a.mrs(9, 'CNTVCT_EL0').addi(9, 9, 5000).msr('CNTV_CVAL_EL0', 9).movi(9, 1).msr('CNTV_CTL_EL0', 9);
    a.daifclr(DAIF.I).label('idle').wfi().b('idle');
    a.label('irq');
    drv.emitAck(a, 10);
    a.movi(9, 3).msr('CNTV_CTL_EL0', 9);
    drv.emitEoi(a, 10, { level: true });
    a.eret();
    cpu.setProgram(a.build());
  }
  vm.run({ until: 50_000 });
  inUse = Math.max(inUse, hv.hostIrqs.count);
  for (const h of hv.hostIrqs.all) maxHostIrq = Math.max(maxHostIrq, h.irq);
  nic.destroy();
  if (i % 1000 === 0) weak.push(new WeakRef(vm));
  await vm.destroy();
}

function heap() {
  global.gc();
  global.gc();
  return process.memoryUsage().heapUsed;
}

(async () => {
  const hostIrqsBefore = hv.hostIrqs.count;
  let heapAfterWarmup = 0;
  for (let i = 0; i < cycles; i++) {
    await oneVm(i);
    if (i + 1 === warmup) heapAfterWarmup = heap();
  }
  await new Promise((r) => setTimeout(r, 10));
  const heapAtEnd = heap();
  const out = {
    cycles,
    hostIrqsBefore,
    hostIrqsAfter: hv.hostIrqs.count,
    maxHostIrq,
    maxInUse: inUse,
    heapAfterWarmup,
    heapAtEnd,
    bytesPerCycle: (heapAtEnd - heapAfterWarmup) / (cycles - warmup),
    vmsAlive: weak.filter((w) => w.deref() !== undefined).length,
    liveVms: hv.vms.length,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
})().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + '\n');
  process.exit(1);
});
