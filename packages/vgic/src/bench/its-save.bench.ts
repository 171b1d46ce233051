/**
 * ITS save/restore cost when devices share (alias) one ITT (KVM_DEV_ARM_ITS_SAVE_TABLES / RESTORE_TABLES,
 * Documentation/virt/kvm/devices/arm-vgic-its.rst; run as plain node, `--json` prints exactly one JSON document
 * `{"benchmarks":[{name,value,unit,baseline,ratio,better}]}` on stdout and nothing else).
 *
 * A VM with one ITS maps D devices with 2^B EventIDs each and E events per device, spread over the event space
 * (event (e+1)·2^B/E − 1, so a restore walk steps over invalid entries across the whole ITT; LPI 8192 + (d·E + e) mod 57344, one collection). `aliased`: every device's MAPD names the same ITT (a guest may do
 * that; the architecture leaves the result UNPREDICTABLE, so it must not cost more than distinct ITTs);
 * `distinct`: each device has its own ITT. A first SAVE_TABLES writes the ITTs (so their pages are backed, as
 * for any VM saved twice), then the timed SAVE_TABLES, CTRL_RESET, the registers written back and the timed
 * RESTORE_TABLES. Rows: seconds for save, restore, and save + restore of each layout; the last row is the aliased
 * save + restore against the distinct one as baseline (ratio ≤ 1 is the goal: work linear in what is mapped).
 *
 * Options: `--devices=D` (8192), `--bits=B` (12), `--events=E` (4), `--itts=N` (aliased: N shared ITTs, 1).
 * Each layout runs in a process of its own (`--scenario=aliased|distinct`).
 *
 * @module
 */
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { Hypervisor, type Vm } from '@irqflow/core';
import {
  executeCommand,
  GITS,
  ITS_GRP,
  itsDeviceType,
  itsLpisEnabledChanged,
  itsSetIrqInatomic,
  itsSetMsi,
  itsValidateRoute,
  KVM_VGIC_ITS_ADDR_TYPE,
  type ItsKvmDevice,
  type LpiHost,
} from '../its';

const RAM = 0x4000_0000;
const PROP = RAM;
const PEND = RAM + 0x10_0000;
const CMDQ = RAM + 0x200_0000;
const DT = RAM + 0x300_0000;
const CT = RAM + 0x400_0000;
const ITT = RAM + 0x1000_0000;
const ITS_BASE = 0x0800_0000;

/** A minimal redistributor side: one vCPU with LPIs enabled, nothing pending. */
class BenchHost implements LpiHost {
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
    return BigInt(PEND + i * 0x10000) | (1n << 62n);
  }
  updateLpi(): void {}
  setLpiPending(): void {}
  clearLpiPending(): void {}
  lpiPending(): boolean {
    return false;
  }
  removeLpi(): void {}
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

interface Opts {
  devices: number;
  bits: number;
  events: number;
  itts: number;
}

/** The ITS state of the scenario: D devices (aliased over `itts` ITTs, or one ITT each) × E events. */
export function aliasedIttVm(aliased: boolean, o: Opts): { vm: Vm; dev: ItsKvmDevice } {
  const hv = new Hypervisor({ traceCapacity: 16 });
  hv.registerDeviceType(itsDeviceType((vm) => new BenchHost(vm)));
  const vm = hv.createVm();
  const span = 2 ** o.bits * 8;
  vm.setUserMemoryRegion({ slot: 0, guestPhysAddr: RAM, size: ITT - RAM + Math.ceil((o.devices * span) / 0x10000) * 0x10000 });
  vm.createVcpu();
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
  itsLpisEnabledChanged(vm, 0, true);
  cmd(dev, 0x09, 0, 0, 0, 0, 0x80000000); // MAPC 0 → vCPU 0
  for (let d = 0; d < o.devices; d++) {
    const itt = aliased ? ITT + (d % o.itts) * span : ITT + d * span;
    cmd(dev, 0x08, d, o.bits - 1, 0, itt >>> 0, 0x80000000 | Math.floor(itt / 2 ** 32));
    for (let e = 0; e < o.events; e++)
      cmd(dev, 0x0a, d, (e + 1) * Math.floor(2 ** o.bits / o.events) - 1, 8192 + ((d * o.events + e) % 57344), 0);
  }
  return { vm, dev };
}

/** Timed SAVE_TABLES, then CTRL_RESET, registers back, timed RESTORE_TABLES: [save s, restore s]. */
export function timedSaveRestore(dev: ItsKvmDevice): [number, number] {
  const CTRL = (attr: bigint) => ({ group: ITS_GRP.CTRL, attr });
  const REG = (off: number) => ({ group: ITS_GRP.ITS_REGS, attr: BigInt(off) });
  const ites = dev.its.iteCount;
  dev.setAttr(CTRL(1n)); // the first save writes the ITTs
  let t = process.hrtime.bigint();
  dev.setAttr(CTRL(1n));
  const save = Number(process.hrtime.bigint() - t) / 1e9;
  const regs = [GITS.CBASER, GITS.BASER, GITS.BASER + 8].map((o) => [o, dev.getAttr(REG(o))] as const);
  dev.setAttr(CTRL(4n));
  for (const [o, v] of regs) dev.setAttr(REG(o), v);
  t = process.hrtime.bigint();
  dev.setAttr(CTRL(2n));
  const restore = Number(process.hrtime.bigint() - t) / 1e9;
  if (dev.its.iteCount !== ites) throw new Error(`restored ${dev.its.iteCount} of ${ites} ITEs`);
  return [save, restore];
}

interface Row {
  name: string;
  value: number;
  unit: string;
  baseline: number;
  ratio: number;
  better: 'lower' | 'higher';
}

function opt(name: string, def: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? def : Number(a.slice(name.length + 3));
}

function options(): Opts {
  return { devices: opt('devices', 8192), bits: opt('bits', 12), events: opt('events', 4), itts: opt('itts', 1) };
}

function runScenario(which: string): [number, number] {
  const { dev } = aliasedIttVm(which === 'aliased', options());
  return timedSaveRestore(dev);
}

function inChild(which: string): [number, number] {
  const args = process.argv.slice(2).filter((a) => !a.startsWith('--scenario=') && a !== '--json');
  const r = spawnSync(process.execPath, ['--max-old-space-size=4096', __filename, `--scenario=${which}`, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`scenario ${which} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as [number, number];
}

function main(): void {
  const only = process.argv.find((a) => a.startsWith('--scenario='));
  if (only !== undefined) {
    process.stdout.write(JSON.stringify(runScenario(only.slice('--scenario='.length))) + '\n');
    return;
  }
  const o = options();
  const tag = `${o.devices} devices x 2^${o.bits} events (${o.events} mapped)`;
  const [as, ar] = inChild('aliased');
  const [ds, dr] = inChild('distinct');
  const row = (name: string, value: number, baseline: number): Row => ({
    name,
    value,
    unit: 's',
    baseline,
    ratio: baseline > 0 ? value / baseline : 0,
    better: 'lower',
  });
  const rows: Row[] = [
    row(`its save, ${tag}, ${o.itts} shared ITT(s)`, as, ds),
    row(`its restore, ${tag}, ${o.itts} shared ITT(s)`, ar, dr),
    row(`its save, ${tag}, distinct ITTs`, ds, ds),
    row(`its restore, ${tag}, distinct ITTs`, dr, dr),
    row(`its save + restore, ${tag}: ${o.itts} shared ITT(s) vs distinct`, as + ar, ds + dr),
  ];
  if (process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify({ benchmarks: rows }) + '\n');
    return;
  }
  for (const r of rows)
    console.log(`${r.name.padEnd(84)} ${r.value.toFixed(3)} s   (baseline ${r.baseline.toFixed(3)} s, ratio ${r.ratio.toFixed(2)})`);
}

if (require.main === module) main();
