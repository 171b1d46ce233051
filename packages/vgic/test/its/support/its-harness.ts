/**
 * Builds a VM with vCPUs, RAM, a fake vGICv3 flow wired to the ITS entry points and one or more ITSes, and
 * a guest-side ITS driver that programs the ITS through MMIO (vcpu = null, a bus access) and writes
 * commands into the queue in guest memory.
 */
import { Hypervisor, type Vm } from '@irqflow/core';
import {
  GITS,
  ITS_GRP,
  itsDeviceType,
  itsSetIrqInatomic,
  itsSetMsi,
  itsValidateRoute,
  KVM_VGIC_ITS_ADDR_TYPE,
  type ItsKvmDevice,
  type VgicIts,
} from '../../../src/its';
import { FakeLpiHost } from './fake-lpi-host';

export const RAM_BASE = 0x4000_0000;
export const RAM_SIZE = 0x1000_0000; // 256 MiB
export const PROP_BASE = RAM_BASE; // 64 KiB: INTIDs 8192..73727
export const PEND_BASE = RAM_BASE + 0x10_0000; // + vcpu * 64 KiB
export const CMDQ_BASE = RAM_BASE + 0x100_0000;
export const DT_BASE = RAM_BASE + 0x200_0000;
export const CT_BASE = RAM_BASE + 0x300_0000;
export const L2_BASE = RAM_BASE + 0x400_0000; // level-2 device table pages
export const ITT_BASE = RAM_BASE + 0x800_0000; // + dev * 0x1000 (room for 512 events)
export const ITS_BASE = 0x0800_0000;
export const DOORBELL = ITS_BASE + GITS.TRANSLATER;

export interface ItsTestVm {
  hv: Hypervisor;
  vm: Vm;
  host: FakeLpiHost;
  dev: ItsKvmDevice;
  its: VgicIts;
  g: ItsGuest;
}

/** A VM with `vcpus` vCPUs (LPIs enabled on all, PROPBASER/PENDBASER programmed) and one ITS at ITS_BASE. */
export function makeItsVm(opts: { vcpus?: number; vcpuIds?: number[]; enableLpis?: boolean; propIdBits?: number } = {}): ItsTestVm {
  const hv = new Hypervisor({ traceCapacity: 16 });
  let host!: FakeLpiHost;
  hv.registerDeviceType(
    itsDeviceType((vm) => {
      host = new FakeLpiHost(vm);
      return host;
    }),
  );
  const vm = hv.createVm();
  vm.setUserMemoryRegion({ slot: 0, guestPhysAddr: RAM_BASE, size: RAM_SIZE });
  const n = opts.vcpuIds?.length ?? opts.vcpus ?? 2;
  for (let i = 0; i < n; i++) vm.createVcpu(opts.vcpuIds?.[i]);
  vm.setIrqchip({ setMsi: itsSetMsi, validateRoute: itsValidateRoute, setIrqInatomic: itsSetIrqInatomic }, 'fake-gicv3');
  vm.finalizeIrqchip();
  const dev = vm.createDevice(8) as ItsKvmDevice;
  dev.setAttr({ group: ITS_GRP.ADDR, attr: BigInt(KVM_VGIC_ITS_ADDR_TYPE) }, BigInt(ITS_BASE));
  host.propbaser = BigInt(PROP_BASE) | BigInt((opts.propIdBits ?? 16) - 1);
  for (let i = 0; i < n; i++) host.pendbaser[i] = BigInt(PEND_BASE + i * 0x10000);
  if (opts.enableLpis !== false) for (let i = 0; i < n; i++) host.setLpis(i, true);
  return { hv, vm, host, dev, its: dev.its, g: new ItsGuest(vm, ITS_BASE) };
}

/** BASER value: Valid | (indirect) | PA | Size (pages − 1). Type/Entry_Size are filled in by the ITS. */
export function baser(addr: number, pages = 1, indirect = false): bigint {
  return (1n << 63n) | (indirect ? 1n << 62n : 0n) | BigInt(addr) | BigInt(pages - 1);
}

/** The guest's ITS driver. */
export class ItsGuest {
  constructor(
    readonly vm: Vm,
    readonly base: number,
  ) {}

  private get dev() {
    return this.vm.mmio.find(this.base)!.dev;
  }
  read(off: number, len: 4 | 8 = 8): bigint {
    const v = { lo: 0, hi: 0 };
    this.dev.read(null, off, len, v);
    return (BigInt(v.hi >>> 0) << 32n) | BigInt(v.lo >>> 0);
  }
  write(off: number, value: bigint | number, len: 1 | 2 | 4 | 8 = 8): boolean {
    const v = BigInt.asUintN(64, BigInt(value));
    return this.dev.write(null, off, len, { lo: Number(v & 0xffffffffn), hi: Number(v >> 32n) });
  }

  /** Programs BASER0/1 and CBASER (16 pages of queue) and enables the ITS. */
  setup(o: { dtPages?: number; indirect?: boolean; ctPages?: number; qPages?: number; enable?: boolean } = {}): void {
    this.write(GITS.BASER, baser(o.indirect ? L2_BASE - 0x10000 : DT_BASE, o.dtPages ?? 1, o.indirect));
    this.write(GITS.BASER + 8, baser(CT_BASE, o.ctPages ?? 1));
    this.write(GITS.CBASER, (1n << 63n) | BigInt(CMDQ_BASE) | BigInt((o.qPages ?? 16) - 1));
    if (o.enable !== false) this.write(GITS.CTLR, 1, 4);
  }

  /** Sets the L1 entry `index` of a two-level device table at L2_BASE − 64 KiB to L2 page `index`. */
  mapL2(index: number): void {
    const l1 = L2_BASE - 0x10000 + index * 8;
    this.vm.memory.writeU64(l1, (1n << 63n) | BigInt(L2_BASE + index * 0x10000));
  }

  /** Queues one command (four 64-bit words) and moves CWRITER. */
  cmd(dw0: bigint, dw1 = 0n, dw2 = 0n, dw3 = 0n): void {
    const cbaser = this.read(GITS.CBASER);
    const qbase = Number(cbaser & 0x000fffffffff0000n);
    const qsize = (Number(cbaser & 0xffn) + 1) * 4096;
    const w = Number(this.read(GITS.CWRITER));
    const a = qbase + w;
    [dw0, dw1, dw2, dw3].forEach((d, i) => this.vm.memory.writeU64(a + i * 8, BigInt.asUintN(64, d)));
    this.write(GITS.CWRITER, BigInt((w + 32) % qsize));
  }

  mapd(dev: number, eventBits: number, itt = ITT_BASE + dev * 0x1000, valid = true): void {
    this.cmd(0x08n | (BigInt(dev) << 32n), BigInt(eventBits - 1), (valid ? 1n << 63n : 0n) | BigInt(itt));
  }
  mapc(icid: number, target: number, valid = true): void {
    this.cmd(0x09n, 0n, (valid ? 1n << 63n : 0n) | (BigInt(target) << 16n) | BigInt(icid));
  }
  mapti(dev: number, ev: number, intid: number, icid: number): void {
    this.cmd(0x0an | (BigInt(dev) << 32n), BigInt(ev) | (BigInt(intid) << 32n), BigInt(icid));
  }
  mapi(dev: number, ev: number, icid: number): void {
    this.cmd(0x0bn | (BigInt(dev) << 32n), BigInt(ev), BigInt(icid));
  }
  movi(dev: number, ev: number, icid: number): void {
    this.cmd(0x01n | (BigInt(dev) << 32n), BigInt(ev), BigInt(icid));
  }
  discard(dev: number, ev: number): void {
    this.cmd(0x0fn | (BigInt(dev) << 32n), BigInt(ev));
  }
  clear(dev: number, ev: number): void {
    this.cmd(0x04n | (BigInt(dev) << 32n), BigInt(ev));
  }
  int(dev: number, ev: number): void {
    this.cmd(0x03n | (BigInt(dev) << 32n), BigInt(ev));
  }
  inv(dev: number, ev: number): void {
    this.cmd(0x0cn | (BigInt(dev) << 32n), BigInt(ev));
  }
  invall(icid: number): void {
    this.cmd(0x0dn, 0n, BigInt(icid));
  }
  movall(from: number, to: number): void {
    this.cmd(0x0en, 0n, BigInt(from) << 16n, BigInt(to) << 16n);
  }
  sync(target: number): void {
    this.cmd(0x05n, 0n, BigInt(target) << 16n);
  }

  /** Writes LPI `intid`'s property byte. */
  prop(intid: number, priority: number, enabled: boolean): void {
    this.vm.memory.writeU8(PROP_BASE + intid - 8192, (priority & 0xfc) | (enabled ? 1 : 0));
  }
}

/** KVM_SIGNAL_MSI through the ITS doorbell. */
export function msi(vm: Vm, devid: number, event: number, address = DOORBELL): number {
  return vm.signalMsi({ address, data: event, devid, flags: 1 });
}
