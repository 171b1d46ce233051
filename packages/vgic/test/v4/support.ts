/**
 * Test bench for GICv4: a VM with the "gic-v3" board on a GICv4 / GICv4.1 host (or a plain GICv3 host), guest RAM,
 * an ITS at 0x08080000 programmed by the guest-side ITS driver of the ITS tests, redistributors with LPIs enabled,
 * and a VMM helper wiring a passthrough device the way QEMU + VFIO do (one MSI route, irqfd and trigger per vector).
 */
import {
  DAIF,
  EventFd,
  GuestAsm,
  Hypervisor,
  type GuestIrqDriver,
  type PassthroughDevice,
  type RoutingEntry,
  type Vcpu,
  type Vm,
} from '@irqflow/core';
import {
  enableGicV4,
  ITS_GRP,
  KVM_VGIC_ITS_ADDR_TYPE,
  VgicPlugin,
  vgicDeviceOf,
  type GicV4,
  type GicV4Version,
  type ItsKvmDevice,
  type VgicDevice,
} from '@irqflow/vgic';
import { ItsGuest, PEND_BASE, PROP_BASE, RAM_BASE, RAM_SIZE } from '../its/support/its-harness';

export const ITS = 0x08080000;
export const DOORBELL = ITS + 0x10040;

export interface V4TestVm {
  hv: Hypervisor;
  vm: Vm;
  drv: GuestIrqDriver;
  dev: VgicDevice;
  v4: GicV4 | undefined;
  g: ItsGuest;
  its: ItsKvmDevice;
}

/** `version` null = a GICv3 host (software injection only). */
export function v4Vm(version: GicV4Version | null, n = 2): V4TestVm {
  const hv = new Hypervisor({ traceCapacity: 16 }).use(VgicPlugin);
  const vm = hv.createVm();
  for (let i = 0; i < n; i++) vm.createVcpu();
  const v4 = version ? enableGicV4(vm, version) : undefined;
  const drv = hv.irqchip('gic-v3').setup(vm, { msi: false });
  vm.setUserMemoryRegion({ slot: 0, guestPhysAddr: RAM_BASE, size: RAM_SIZE });
  const dev = vgicDeviceOf(vm)!;
  const its = vm.createDevice(8) as ItsKvmDevice;
  its.setAttr({ group: ITS_GRP.ADDR, attr: BigInt(KVM_VGIC_ITS_ADDR_TYPE) }, BigInt(ITS));
  for (const v of vm.vcpus) {
    const k = BigInt(v.mpidr) << 32n;
    dev.setAttr({ group: 5, attr: k | 0x70n }, BigInt(PROP_BASE | 15));
    dev.setAttr({ group: 5, attr: k | 0x78n }, BigInt(PEND_BASE + v.index * 0x10000));
    dev.setAttr({ group: 5, attr: k | 0x0n }, 1n);
  }
  const g = new ItsGuest(vm, ITS);
  g.setup();
  return { hv, vm, drv, dev, v4, g, its };
}

/** An MSI route to the ITS doorbell. */
export const msiRoute = (gsi: number, devid: number, data: number): RoutingEntry => ({
  gsi,
  type: 'msi',
  msi: { address: DOORBELL, data, devid, flags: 1 },
});

/** The VMM side of a passthrough device: GSI routes gsiBase + i, irqfds, VFIO triggers (QEMU's order). */
export function passthrough(t: V4TestVm, devid: number, datas: number[], gsiBase = 100): { pt: PassthroughDevice; fds: EventFd[] } {
  const pt = t.hv.createPassthroughDevice(`vfio-${devid}`, devid, datas.length);
  const fds = datas.map((_, i) => new EventFd(`vfio-${devid}-v${i}`));
  t.vm.setGsiRouting(datas.map((d, i) => msiRoute(gsiBase + i, devid, d)));
  datas.forEach((d, i) => {
    pt.programVector(i, DOORBELL, d, false);
    t.vm.irqfd({ fd: fds[i], gsi: gsiBase + i });
    pt.setTrigger(i, fds[i]);
  });
  return { pt, fds };
}

/**
 * A guest that logs every interrupt it takes (INTID into `log`), then EOIs. `busy` = it spins in a work loop
 * (stays resident) instead of waiting in WFI. `enable` lists SGIs/PPIs/SPIs to enable at start.
 */
export function guest(
  drv: GuestIrqDriver,
  log: number[],
  opts: { busy?: boolean; enable?: number[]; before?: (a: GuestAsm) => void } = {},
): GuestAsm {
  const a = new GuestAsm();
  a.label('main');
  drv.emitCpuInit(a);
  for (const id of opts.enable ?? []) drv.emitEnable(a, id);
  opts.before?.(a);
  a.daifclr(DAIF.I).label('loop');
  if (opts.busy) a.work(300);
  else a.wfi();
  a.b('loop');
  a.label('irq');
  drv.emitAck(a, 9);
  a.beqi(9, 1023, 'out');
  a.call((v: Vcpu) => void log.push(v.x(9)));
  drv.emitEoi(a, 9);
  a.label('out').eret();
  return a;
}

/** Total exits of a vCPU. */
export const exits = (v: Vcpu): number => v.stats.totalExits();

/** Loads a logging guest on every vCPU and runs until `until`. */
export function boot(t: V4TestVm, logs: number[][], until = 20_000, opts: { busy?: boolean; enable?: number[] } = {}): void {
  t.vm.vcpus.forEach((v, i) => v.setProgram(guest(t.drv, logs[i], opts).build()));
  t.vm.run({ until });
}
