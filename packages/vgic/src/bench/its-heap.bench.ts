/**
 * Heap held by the ITS per mapped event (Arm IHI 0069 5.2: the ITEs an ITS holds; KVM's struct its_ite and
 * struct vgic_irq). Run as plain node; `--json` prints exactly one JSON document
 * `{"benchmarks":[{name,value,unit,baseline,ratio,better}]}` on stdout and nothing else.
 *
 * A "gic-v3" VM (vGICv3 + one ITS) maps D devices × E events (MAPD with ⌈log2 E⌉ EventID bits, MAPTI of events
 * 0..E-1, LPI 8192 + (d·E + e) mod 57344 — the LPI space holds 57 344 LPIs, so LPIs are shared beyond that;
 * collections round-robin over 4 vCPUs). The figure is V8's used heap after a full GC with the state mapped,
 * minus the same VM before any MAPD, divided by D × E. It is measured with `global.gc` in a node process of its
 * own started with `--expose-gc` (the bench re-runs itself that way), so nothing else lives in the heap.
 * Baseline: the 64 bytes per mapped event target (ratio = value / 64; lower is better).
 *
 * Options: `--devices=D` (65536), `--events=E` (32).
 *
 * @module
 */
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { Hypervisor } from '@irqflow/core';
import { VgicPlugin } from '../plugin';
import { vgicDeviceOf } from '../gic-driver';
import { executeCommand, GITS, ITS_GRP, KVM_VGIC_ITS_ADDR_TYPE, type ItsKvmDevice } from '../its';

const RAM = 0x4000_0000;
const PROP = RAM;
const PEND = RAM + 0x10_0000;
const CMDQ = RAM + 0x200_0000;
const DT = RAM + 0x300_0000;
const CT = RAM + 0x400_0000;
const ITT = RAM + 0x1000_0000;
const ITS_BASE = 0x0808_0000;
const VCPUS = 4;
/** The target, in bytes per mapped event. */
export const HEAP_TARGET_BYTES_PER_EVENT = 64;

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

function usedHeapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

/**
 * Bytes of heap per mapped event for `devices` × `events` (needs `--expose-gc`).
 * @example
 * ```ts
 * // node --expose-gc: the ITS of a 4-vCPU VM with 1024 devices × 32 events
 * const { bytesPerEvent } = heapPerMappedEvent(1024, 32);
 * ```
 */
export function heapPerMappedEvent(devices: number, events: number): { bytesPerEvent: number; ites: number } {
  const hv = new Hypervisor({ traceCapacity: 16 }).use(VgicPlugin);
  const vm = hv.createVm();
  for (let i = 0; i < VCPUS; i++) vm.createVcpu();
  hv.irqchip('gic-v3').setup(vm, { msi: false });
  const span = Math.ceil((devices * 2 ** Math.max(1, Math.ceil(Math.log2(events))) * 8) / 0x10000) * 0x10000;
  vm.setUserMemoryRegion({ slot: 0, guestPhysAddr: RAM, size: ITT - RAM + span });
  const gicv3 = vgicDeviceOf(vm)!;
  const its = vm.createDevice(8) as ItsKvmDevice;
  its.setAttr({ group: ITS_GRP.ADDR, attr: BigInt(KVM_VGIC_ITS_ADDR_TYPE) }, BigInt(ITS_BASE));
  for (const v of vm.vcpus) {
    const k = BigInt(v.mpidr) << 32n;
    gicv3.setAttr({ group: 5, attr: k | 0x70n }, BigInt(PROP | 15));
    gicv3.setAttr({ group: 5, attr: k | 0x78n }, BigInt(PEND + v.index * 0x10000) | (1n << 62n));
    gicv3.setAttr({ group: 5, attr: k | 0x0n }, 1n);
  }
  for (let i = 8192; i < 65536; i++) vm.memory.writeU8(PROP + i - 8192, 0xa1);
  const reg = (off: number, v: bigint) => its.setAttr({ group: ITS_GRP.ITS_REGS, attr: BigInt(off) }, v);
  reg(GITS.CBASER, (1n << 63n) | BigInt(CMDQ) | 255n);
  reg(GITS.BASER, (1n << 63n) | BigInt(DT) | 7n);
  reg(GITS.BASER + 8, (1n << 63n) | BigInt(CT));
  reg(GITS.CTLR, 1n);
  for (let c = 0; c < VCPUS; c++) cmd(its, 0x09, 0, 0, 0, (c << 16) | c, 0x80000000);
  const bits = Math.max(1, Math.ceil(Math.log2(events)));
  const before = usedHeapAfterGc();
  for (let d = 0; d < devices; d++) {
    const itt = ITT + d * 2 ** bits * 8;
    cmd(its, 0x08, d, bits - 1, 0, itt >>> 0, 0x80000000 | Math.floor(itt / 2 ** 32));
    for (let e = 0; e < events; e++) cmd(its, 0x0a, d, e, 8192 + ((d * events + e) % 57344), (d * events + e) % VCPUS);
  }
  const after = usedHeapAfterGc();
  const ites = its.its.iteCount;
  if (ites !== devices * events) throw new Error(`mapped ${ites} of ${devices * events} events`);
  return { bytesPerEvent: (after - before) / ites, ites };
}

function opt(name: string, def: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? def : Number(a.slice(name.length + 3));
}

function main(): void {
  const devices = opt('devices', 65536);
  const events = opt('events', 32);
  if (process.argv.includes('--measure')) {
    process.stdout.write(JSON.stringify(heapPerMappedEvent(devices, events)) + '\n');
    return;
  }
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', '--max-old-space-size=4096', __filename, '--measure', `--devices=${devices}`, `--events=${events}`],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`heap probe failed: ${r.stderr}`);
  const m = JSON.parse(r.stdout) as { bytesPerEvent: number };
  const row = {
    name: `its heap per mapped event, ${devices} devices x ${events} events`,
    value: m.bytesPerEvent,
    unit: 'B/event',
    baseline: HEAP_TARGET_BYTES_PER_EVENT,
    ratio: m.bytesPerEvent / HEAP_TARGET_BYTES_PER_EVENT,
    better: 'lower' as const,
  };
  if (process.argv.includes('--json')) process.stdout.write(JSON.stringify({ benchmarks: [row] }) + '\n');
  else console.log(`${row.name}: ${row.value.toFixed(1)} B/event (target ${row.baseline} B, ratio ${row.ratio.toFixed(2)})`);
}

if (require.main === module) main();
