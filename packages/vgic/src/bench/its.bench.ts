/**
 * ITS benchmarks (run as plain node by scripts/bench.js; `--json` prints one JSON object):
 *
 * - lpi-stress, shaped like KVM's selftest of the same name: D devices × E events, collections spread
 *   round-robin over V vCPUs, MSIs injected from the host in a loop through KVM_SIGNAL_MSI (every call must
 *   return 1). Measures translations per second through the ITS (`setMsi` → translation cache → LPI table →
 *   `deliverLpi` of a minimal redistributor stand-in that acknowledges at once), beside a baseline loop of one
 *   Map lookup and a counter per MSI. End-to-end delivery through list registers is measured after the vGICv3
 *   integration.
 * - save + restore of 64k devices × 32 events (SAVE_TABLES, then CTRL_RESET, the BASERs re-programmed and
 *   RESTORE_TABLES), in seconds.
 *
 * @module
 */
import { Hypervisor, type Msi, type Vm } from '@irqflow/core';
import {
  executeCommand,
  GITS,
  ITS_GRP,
  itsDeviceType,
  itsLpiAcked,
  itsLpisEnabledChanged,
  itsSetIrqInatomic,
  itsSetMsi,
  itsValidateRoute,
  KVM_VGIC_ITS_ADDR_TYPE,
  type ItsKvmDevice,
  type LpiHost,
} from '../its';

const RAM = 0x4000_0000;
const RAM_SIZE = 0x4000_0000; // 1 GiB (sparse)
const PROP = RAM;
const PEND = RAM + 0x10_0000;
const CMDQ = RAM + 0x200_0000;
const DT = RAM + 0x300_0000;
const CT = RAM + 0x400_0000;
const ITT = RAM + 0x1000_0000;
const ITS_BASE = 0x0800_0000;

/** A minimal redistributor side: LPIs enabled everywhere, every delivery acknowledged at once. */
class BenchHost implements LpiHost {
  delivered = 0;
  constructor(readonly vm: Vm) {}
  nrVcpus(): number {
    return this.vm.vcpus.length;
  }
  lpisEnabled(): boolean {
    return true;
  }
  propBaser(): bigint {
    return BigInt(PROP) | 15n;
  }
  pendBaser(i: number): bigint {
    return BigInt(PEND + i * 0x10000);
  }
  deliverLpi(_v: number, intid: number): void {
    this.delivered++;
    itsLpiAcked(this.vm, intid);
  }
  retractLpi(): void {}
}

function makeVm(vcpus: number): { vm: Vm; host: BenchHost; dev: ItsKvmDevice } {
  const hv = new Hypervisor({ traceCapacity: 16 });
  let host!: BenchHost;
  hv.registerDeviceType(itsDeviceType((vm) => (host = new BenchHost(vm))));
  const vm = hv.createVm();
  vm.setUserMemoryRegion({ slot: 0, guestPhysAddr: RAM, size: RAM_SIZE });
  for (let i = 0; i < vcpus; i++) vm.createVcpu();
  vm.setIrqchip({ setMsi: itsSetMsi, setIrqInatomic: itsSetIrqInatomic, validateRoute: itsValidateRoute }, 'bench-gicv3');
  vm.finalizeIrqchip();
  const dev = vm.createDevice(8) as ItsKvmDevice;
  dev.setAttr({ group: ITS_GRP.ADDR, attr: BigInt(KVM_VGIC_ITS_ADDR_TYPE) }, BigInt(ITS_BASE));
  for (let i = 8192; i < 65536; i++) vm.memory.writeU8(PROP + i - 8192, 0xa1);
  const reg = (off: number, v: bigint) => dev.setAttr({ group: ITS_GRP.ITS_REGS, attr: BigInt(off) }, v);
  reg(GITS.CBASER, (1n << 63n) | BigInt(CMDQ) | 255n);
  reg(GITS.BASER, (1n << 63n) | BigInt(DT) | 7n); // 8 pages: 65536 DTEs
  reg(GITS.BASER + 8, (1n << 63n) | BigInt(CT));
  reg(GITS.CTLR, 1n);
  for (let i = 0; i < vcpus; i++) itsLpisEnabledChanged(vm, i, true);
  return { vm, host, dev };
}

const W = new Uint32Array(8);
function cmd(dev: ItsKvmDevice, w0: number, w1 = 0, w2 = 0, w3 = 0, w4 = 0, w5 = 0): void {
  W.fill(0);
  W[0] = w0;
  W[1] = w1;
  W[2] = w2;
  W[3] = w3;
  W[4] = w4;
  W[5] = w5;
  if (executeCommand(dev.its, W) !== 0) throw new Error(`command 0x${w0.toString(16)} failed`);
}

/** Maps D devices × E events (LPI 8192 + i mod 57344), collections round-robin over V vCPUs. */
function populate(dev: ItsKvmDevice, d: number, e: number, v: number): void {
  for (let c = 0; c < v; c++) cmd(dev, 0x09, 0, 0, 0, (c << 16) | c, 0x80000000);
  const bits = Math.max(1, Math.ceil(Math.log2(e)));
  for (let i = 0; i < d; i++) {
    const itt = ITT + i * e * 8;
    cmd(dev, 0x08, i, bits - 1, 0, itt >>> 0, 0x80000000 | Math.floor(itt / 2 ** 32));
    for (let j = 0; j < e; j++) cmd(dev, 0x0a, i, j, 8192 + ((i * e + j) % 57344), (i * e + j) % v);
  }
}

interface Result {
  name: string;
  value: number;
  unit: string;
  [k: string]: unknown;
}

function lpiStress(d: number, e: number, v: number, seconds: number): Result {
  const { vm, host, dev } = makeVm(v);
  populate(dev, d, e, v);
  const msis: Msi[] = [];
  for (let i = 0; i < d; i++) for (let j = 0; j < e; j++) msis.push({ address: ITS_BASE + GITS.TRANSLATER, data: j, devid: i, flags: 1 });
  const n = msis.length;
  let count = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < seconds * 1000) {
    for (let k = 0; k < 10000; k++) {
      if (vm.signalMsi(msis[count % n]) !== 1) throw new Error('signalMsi did not return 1');
      count++;
    }
    t = performance.now();
  }
  if (host.delivered !== count) throw new Error(`delivered ${host.delivered} of ${count}`);
  return { name: `lpi-stress ${d}x${e}x${v}`, value: (count / (t - t0)) * 1000, unit: 'translations/s', msis: count, hitRate: dev.its.stats.cacheHits / count };
}

function baseline(n: number, seconds: number): Result {
  const m = new Map<number, { c: number }>();
  for (let i = 0; i < n; i++) m.set(i * 65536 + (i % 16), { c: 0 });
  const keys = [...m.keys()];
  let count = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < seconds * 1000) {
    for (let k = 0; k < 10000; k++) {
      m.get(keys[count % n])!.c++;
      count++;
    }
    t = performance.now();
  }
  return { name: `baseline map-lookup+counter (${n} keys)`, value: (count / (t - t0)) * 1000, unit: 'ops/s' };
}

function saveRestore(d: number, e: number): Result[] {
  const { vm, dev } = makeVm(4);
  const t0 = performance.now();
  populate(dev, d, e, 4);
  const t1 = performance.now();
  const ites = dev.its.iteCount;
  dev.setAttr({ group: ITS_GRP.CTRL, attr: 1n });
  const t2 = performance.now();
  const reg = (off: number) => dev.getAttr({ group: ITS_GRP.ITS_REGS, attr: BigInt(off) });
  const b0 = reg(GITS.BASER);
  const b1 = reg(GITS.BASER + 8);
  dev.setAttr({ group: ITS_GRP.CTRL, attr: 4n });
  dev.setAttr({ group: ITS_GRP.ITS_REGS, attr: BigInt(GITS.BASER) }, b0);
  dev.setAttr({ group: ITS_GRP.ITS_REGS, attr: BigInt(GITS.BASER + 8) }, b1);
  const t3 = performance.now();
  dev.setAttr({ group: ITS_GRP.CTRL, attr: 2n });
  const t4 = performance.now();
  if (dev.its.iteCount !== ites) throw new Error(`restored ${dev.its.iteCount} of ${ites} ITEs`);
  return [
    { name: `save ${d} devices x ${e} events`, value: (t2 - t1) / 1000, unit: 's', ites, populateSeconds: (t1 - t0) / 1000, guestMemoryMiB: vm.memory.allocatedBytes / 2 ** 20 },
    { name: `restore ${d} devices x ${e} events`, value: (t4 - t3) / 1000, unit: 's', ites },
    { name: `save + restore ${d} devices x ${e} events`, value: (t2 - t1 + t4 - t3) / 1000, unit: 's', ites },
  ];
}

function main(): void {
  const json = process.argv.includes('--json');
  const quick = process.argv.includes('--quick');
  const secs = quick ? 0.3 : 1.5;
  const results: Result[] = [];
  results.push(lpiStress(1, 1, 16, secs));
  results.push(lpiStress(16, 16, 16, secs));
  results.push(baseline(1, secs));
  results.push(baseline(256, secs));
  results.push(...saveRestore(quick ? 4096 : 65536, 32));
  if (json) {
    console.log(JSON.stringify({ bench: 'its', node: process.version, results }, null, 2));
    return;
  }
  for (const r of results) {
    const v = r.unit === 's' ? r.value.toFixed(2) : Math.round(r.value).toLocaleString('en-US');
    console.log(`${r.name.padEnd(44)} ${v.padStart(14)} ${r.unit}`);
  }
}

main();
