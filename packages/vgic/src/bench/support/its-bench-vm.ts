/**
 * The ITS set-up the ITS benchmarks share (its.bench, its-save.bench, its-heap.bench, v4.bench): one guest
 * memory layout for the LPI property table, the pending tables, the command queue, the device and collection
 * tables and the ITTs; the GITS_CBASER / GITS_BASER<n> / GITS_CTLR programming (Arm IHI 0069, 12.19 "The ITS
 * register descriptions") written through the KVM device's KVM_DEV_ARM_VGIC_GRP_ITS_REGS group; and the
 * MAPD / MAPC / MAPTI commands (IHI 0069, 5.3) executed straight on the emulated command queue. Not part of the
 * public API.
 *
 * Two VM shapes: {@link bareItsVm}, the ITS device alone over a stand-in redistributor side ({@link BenchLpiHost}:
 * LPIs enabled, nothing pending), for what the ITS alone costs; and {@link gicItsVm}, a vGIC irqchip of the
 * plugin (its board ITS off) with one ITS device created over it and the redistributors' LPI tables programmed
 * through the KVM_DEV_ARM_VGIC_GRP_REDIST_REGS group, for the full path.
 *
 * @module
 */
import { Hypervisor, interleaved, type GuestIrqDriver, type InterleaveOptions, type Vm } from '@irqflow/core';
import { vgicDeviceOf } from '../../gic-driver';
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
} from '../../its';
import { VgicPlugin } from '../../plugin';

/** Guest physical addresses of the benchmarks' ITS tables (RAM is sparse: only what is written is backed). */
export const ITS_BENCH = {
  /** Start of guest RAM. */
  RAM: 0x4000_0000,
  /** The LPI configuration (property) table: one byte per LPI from 8192. */
  PROP: 0x4000_0000,
  /** The pending tables, 64 KiB per vCPU. */
  PEND: 0x4010_0000,
  /** The command queue (256 pages). */
  CMDQ: 0x4200_0000,
  /** The device table (8 pages: 65,536 DTEs). */
  DT: 0x4300_0000,
  /** The collection table. */
  CT: 0x4400_0000,
  /** The first ITT; the benchmarks lay them out from here. */
  ITT: 0x5000_0000,
  /** The ITS's frame (GITS_TRANSLATER is at + GITS.TRANSLATER). */
  ITS_BASE: 0x0808_0000,
} as const;

/** Bytes of RAM from {@link ITS_BENCH}.RAM that hold every table and `ittBytes` of ITTs (64 KiB granules). */
export function itsBenchRamSize(ittBytes: number): number {
  return ITS_BENCH.ITT - ITS_BENCH.RAM + Math.ceil(Math.max(1, ittBytes) / 0x10000) * 0x10000;
}

/** A stand-in redistributor side: LPIs enabled everywhere, nothing pending; counts deliveries. */
export class BenchLpiHost implements LpiHost {
  /** LPIs made pending so far. */
  delivered = 0;
  /**
   * @param vm - the VM
   * @param ptz - GICR_PENDBASER.PTZ: the pending tables read as zero
   */
  constructor(
    readonly vm: Vm,
    private readonly ptz = false,
  ) {}
  nrVcpus(): number {
    return this.vm.vcpus.length;
  }
  lpisEnabled(): boolean {
    return true;
  }
  propBaser(): bigint {
    return BigInt(ITS_BENCH.PROP) | 15n;
  }
  pendBaser(i: number): bigint {
    return BigInt(ITS_BENCH.PEND + i * 0x10000) | (this.ptz ? 1n << 62n : 0n);
  }
  updateLpi(): void {}
  setLpiPending(): void {
    this.delivered++;
  }
  clearLpiPending(): void {}
  lpiPending(): boolean {
    return false;
  }
  removeLpi(): void {}
}

const W = new Uint32Array(8);

/** Executes one ITS command (its eight 32-bit words, the rest zero). @throws Error if the ITS refuses it */
export function itsCmd(dev: ItsKvmDevice, w0: number, w1 = 0, w2 = 0, w3 = 0, w4 = 0, w5 = 0): void {
  W.fill(0);
  W[0] = w0;
  W[1] = w1;
  W[2] = w2;
  W[3] = w3;
  W[4] = w4;
  W[5] = w5;
  if (executeCommand(dev.its, W) !== 0) throw new Error(`ITS command 0x${w0.toString(16)} failed`);
}

/** MAPD: device `devid` with 2^`bits` EventIDs, its ITT at `itt`, valid. */
export function mapd(dev: ItsKvmDevice, devid: number, bits: number, itt: number): void {
  itsCmd(dev, 0x08, devid, bits - 1, 0, itt >>> 0, 0x80000000 | Math.floor(itt / 2 ** 32));
}

/** MAPC: collection `icid` → the redistributor of vCPU `vcpu`, valid. */
export function mapc(dev: ItsKvmDevice, icid: number, vcpu = icid): void {
  itsCmd(dev, 0x09, 0, 0, 0, (vcpu << 16) | icid, 0x80000000);
}

/** MAPTI: (`devid`, `event`) → LPI `lpi` in collection `icid`. */
export function mapti(dev: ItsKvmDevice, devid: number, event: number, lpi: number, icid: number): void {
  itsCmd(dev, 0x0a, devid, event, lpi, icid);
}

/** Marks every LPI 8192..65535 enabled with priority 0xa0 in the property table. */
function enableAllLpis(vm: Vm): void {
  for (let i = 8192; i < 65536; i++) vm.memory.writeU8(ITS_BENCH.PROP + i - 8192, 0xa1);
}

/** Programs the ITS's frame address, command queue, device and collection tables, and enables it. */
function programIts(dev: ItsKvmDevice): void {
  dev.setAttr({ group: ITS_GRP.ADDR, attr: BigInt(KVM_VGIC_ITS_ADDR_TYPE) }, BigInt(ITS_BENCH.ITS_BASE));
  const reg = (off: number, v: bigint) => dev.setAttr({ group: ITS_GRP.ITS_REGS, attr: BigInt(off) }, v);
  reg(GITS.CBASER, (1n << 63n) | BigInt(ITS_BENCH.CMDQ) | 255n);
  reg(GITS.BASER, (1n << 63n) | BigInt(ITS_BENCH.DT) | 7n); // 8 pages: 65536 DTEs
  reg(GITS.BASER + 8, (1n << 63n) | BigInt(ITS_BENCH.CT));
  reg(GITS.CTLR, 1n);
}

/** Options of {@link bareItsVm}. */
export interface BareItsVmOptions {
  /** vCPUs (default 1). */
  vcpus?: number;
  /** Bytes of RAM (default: {@link itsBenchRamSize} of 64 KiB of ITTs). */
  ramSize?: number;
  /** GICR_PENDBASER.PTZ of the stand-in redistributors (default false). */
  ptz?: boolean;
}

/**
 * The ITS device alone over {@link BenchLpiHost}: `vcpus` vCPUs with LPIs enabled, every LPI enabled in the
 * property table, the ITS's tables programmed and the ITS enabled; no device or collection mapped yet.
 * @example
 * const { dev } = bareItsVm({ vcpus: 4, ramSize: 0x4000_0000 });
 * mapc(dev, 0);
 * mapd(dev, 0, 5, ITS_BENCH.ITT);
 * mapti(dev, 0, 0, 8192, 0);
 */
export function bareItsVm(o: BareItsVmOptions = {}): { vm: Vm; dev: ItsKvmDevice; host: BenchLpiHost } {
  const hv = new Hypervisor({ traceCapacity: 16 });
  let host!: BenchLpiHost;
  hv.registerDeviceType(itsDeviceType((vm) => (host = new BenchLpiHost(vm, o.ptz ?? false))));
  const vm = hv.createVm();
  vm.setUserMemoryRegion({ slot: 0, guestPhysAddr: ITS_BENCH.RAM, size: o.ramSize ?? itsBenchRamSize(0x10000) });
  const vcpus = o.vcpus ?? 1;
  for (let i = 0; i < vcpus; i++) vm.createVcpu();
  vm.setIrqchip({ setMsi: itsSetMsi, setIrqInatomic: itsSetIrqInatomic, validateRoute: itsValidateRoute }, 'bench-gicv3');
  vm.finalizeIrqchip();
  const dev = vm.createDevice(8) as ItsKvmDevice;
  enableAllLpis(vm);
  programIts(dev);
  for (let i = 0; i < vcpus; i++) itsLpisEnabledChanged(vm, i, true);
  return { vm, dev, host };
}

/** Options of {@link gicItsVm}. */
export interface GicItsVmOptions {
  /** The plugin's irqchip (default "gic-v3"). */
  irqchip?: string;
  /** vCPUs (default 1). */
  vcpus?: number;
  /** Bytes of RAM (default: {@link itsBenchRamSize} of 64 KiB of ITTs). */
  ramSize?: number;
  /** The VM's cost profile (default the hypervisor's first). */
  costProfile?: string;
  /** GICR_PENDBASER.PTZ: the pending tables are zero (default true). */
  ptz?: boolean;
}

/**
 * A vGIC VM (the plugin's `irqchip`, its board ITS off) with one ITS device created and programmed over it:
 * every redistributor's GICR_PROPBASER / GICR_PENDBASER set and GICR_CTLR.EnableLPIs on, every LPI enabled in
 * the property table; no device or collection mapped yet.
 * @example
 * const { vm, its, drv } = gicItsVm({ irqchip: 'gic-v4', costProfile: 'gicv3-vhe' });
 * mapd(its, 7, 4, ITS_BENCH.ITT);
 * mapc(its, 0);
 * mapti(its, 7, 0, 8192, 0);
 */
export function gicItsVm(o: GicItsVmOptions = {}): { hv: Hypervisor; vm: Vm; its: ItsKvmDevice; drv: GuestIrqDriver } {
  const hv = new Hypervisor({ traceCapacity: 16 }).use(VgicPlugin);
  const vm = hv.createVm(o.costProfile !== undefined ? { costProfile: o.costProfile } : {});
  for (let i = 0; i < (o.vcpus ?? 1); i++) vm.createVcpu();
  const drv = hv.irqchip(o.irqchip ?? 'gic-v3').setup(vm, { msi: false });
  vm.setUserMemoryRegion({ slot: 0, guestPhysAddr: ITS_BENCH.RAM, size: o.ramSize ?? itsBenchRamSize(0x10000) });
  const gic = vgicDeviceOf(vm)!;
  const its = vm.createDevice(8) as ItsKvmDevice;
  for (const v of vm.vcpus) {
    const k = BigInt(v.mpidr) << 32n;
    gic.setAttr({ group: 5, attr: k | 0x70n }, BigInt(ITS_BENCH.PROP | 15)); // GICR_PROPBASER
    const ptz = (o.ptz ?? true) ? 1n << 62n : 0n;
    gic.setAttr({ group: 5, attr: k | 0x78n }, BigInt(ITS_BENCH.PEND + v.index * 0x10000) | ptz); // GICR_PENDBASER
    gic.setAttr({ group: 5, attr: k | 0x0n }, 1n); // GICR_CTLR.EnableLPIs
  }
  enableAllLpis(vm);
  programIts(its);
  return { hv, vm, its, drv };
}

/**
 * The minimal hand-written table work of an ITS save and restore, the baseline of the save/restore rows: a
 * save stores one 8-byte entry per device (its DTE) and per mapped event (its ITE) into a table in memory; a
 * restore reads each back and decodes it into a flat array of (LPI, collection). No walk over unmapped entries,
 * no guest-memory accessors, no maps — the work an ITS save/restore cannot do without, linear in what is mapped.
 */
export class MinimalItsTables {
  private readonly table: Uint32Array;
  private readonly ites: Int32Array;
  private sink = 0;
  /**
   * @param devices - mapped devices
   * @param events - mapped events per device
   */
  constructor(
    private readonly devices: number,
    private readonly events: number,
  ) {
    this.table = new Uint32Array(2 * devices * (events + 1));
    this.ites = new Int32Array(2 * devices * events);
  }
  /** One save. @returns seconds */
  save(): number {
    const t = process.hrtime.bigint();
    const w = this.table;
    let o = 0;
    for (let d = 0; d < this.devices; d++) {
      w[o++] = 0x1000 | (d & 0xfff); // DTE: valid, ITT address, size
      w[o++] = 0x8000_0000 | d;
      for (let e = 0; e < this.events; e++) {
        const n = d * this.events + e;
        w[o++] = (8192 + (n % 57344)) | ((e & 0xffff) << 16); // ITE: pINTID, next
        w[o++] = 0x8000_0000 | (n & 0xffff); // valid, ICID
      }
    }
    return Number(process.hrtime.bigint() - t) / 1e9;
  }
  /** One restore of what {@link save} wrote. @returns seconds */
  restore(): number {
    const t = process.hrtime.bigint();
    const r = this.table;
    const ites = this.ites;
    let o = 0;
    let k = 0;
    let valid = 0;
    for (let d = 0; d < this.devices; d++) {
      if ((r[o + 1] & 0x8000_0000) === 0) continue;
      o += 2;
      for (let e = 0; e < this.events; e++) {
        const lo = r[o++];
        const hi = r[o++];
        if ((hi & 0x8000_0000) === 0) continue;
        ites[k++] = lo & 0xffff;
        ites[k++] = hi & 0xffff;
        valid++;
      }
    }
    this.sink += valid; // keeps the loop observable
    return this.sink > 0 ? Number(process.hrtime.bigint() - t) / 1e9 : 0;
  }
}

/** Seconds of each measured repetition of a save/restore benchmark and of its baseline. */
export interface SaveRestoreTimes {
  /** The model's KVM_DEV_ARM_ITS_SAVE_TABLES. */
  save: number[];
  /** The model's KVM_DEV_ARM_ITS_RESTORE_TABLES (after CTRL_RESET and the registers written back). */
  restore: number[];
  /** {@link MinimalItsTables.save}, interleaved with them. */
  minSave: number[];
  /** {@link MinimalItsTables.restore}, interleaved with them. */
  minRestore: number[];
}

/**
 * Times SAVE_TABLES and RESTORE_TABLES of the ITS `dev` as it is mapped (`devices` × `events` mapped), warmed up
 * and in repetitions interleaved with {@link MinimalItsTables} of the same size. A repetition is SAVE_TABLES
 * (timed), KVM_DEV_ARM_ITS_CTRL_RESET, GITS_CBASER / GITS_BASER<n> written back, RESTORE_TABLES (timed), and
 * checks that every ITE came back, so each starts from the same state. Before the warm-up one untimed save writes
 * the ITTs, so their pages are backed (as for any VM saved twice): no repetition times a cold first save. At the
 * ABI's sizes a repetition takes seconds, and V8 has optimised its loops within the first; the benchmarks warm up
 * with `{ minMs: 0, maxMs: 2000 }`: repetitions are discarded until three agree or 2 s have passed.
 * @throws Error if a restore brings back a different number of ITEs
 */
export function timeSaveRestore(dev: ItsKvmDevice, devices: number, events: number, o: InterleaveOptions = {}): SaveRestoreTimes {
  const CTRL = (attr: bigint) => ({ group: ITS_GRP.CTRL, attr });
  const REG = (off: number) => ({ group: ITS_GRP.ITS_REGS, attr: BigInt(off) });
  const ites = dev.its.iteCount;
  dev.setAttr(CTRL(1n)); // the first save writes (backs) the ITTs: not timed
  const t: SaveRestoreTimes = { save: [], restore: [], minSave: [], minRestore: [] };
  const model = (): number => {
    let t0 = process.hrtime.bigint();
    dev.setAttr(CTRL(1n));
    const save = Number(process.hrtime.bigint() - t0) / 1e9;
    const regs = [GITS.CBASER, GITS.BASER, GITS.BASER + 8].map((off) => [off, dev.getAttr(REG(off))] as const);
    dev.setAttr(CTRL(4n));
    for (const [off, v] of regs) dev.setAttr(REG(off), v);
    t0 = process.hrtime.bigint();
    dev.setAttr(CTRL(2n));
    const restore = Number(process.hrtime.bigint() - t0) / 1e9;
    if (dev.its.iteCount !== ites) throw new Error(`restored ${dev.its.iteCount} of ${ites} ITEs`);
    t.save.push(save);
    t.restore.push(restore);
    return save + restore;
  };
  const min = new MinimalItsTables(devices, events);
  const reference = (): number => {
    const save = min.save();
    const restore = min.restore();
    t.minSave.push(save);
    t.minRestore.push(restore);
    return save + restore;
  };
  const reps = o.reps ?? 5;
  interleaved(model, reference, { ...o, reps });
  // the warm-up repetitions came first: keep the measured ones
  return {
    save: t.save.slice(-reps),
    restore: t.restore.slice(-reps),
    minSave: t.minSave.slice(-reps),
    minRestore: t.minRestore.slice(-reps),
  };
}
