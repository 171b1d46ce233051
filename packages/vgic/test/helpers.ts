import { DAIF, GuestAsm, Hypervisor, type GuestIrqDriver, type Vcpu, type Vm } from '@irqflow/core';
import { VgicPlugin, vgicDeviceOf, type VgicDevice } from '@irqflow/vgic';

/** A VM with `n` vCPUs and the named GIC set up through its descriptor. */
export function gicVm(
  name: 'gic-v3' | 'gic-v2',
  n = 1,
  opts: { nrIrqs?: number; nrLrs?: number } = {},
): { vm: Vm; drv: GuestIrqDriver; dev: VgicDevice; hv: Hypervisor } {
  const hv = new Hypervisor().use(VgicPlugin);
  const vm = hv.createVm();
  for (let i = 0; i < n; i++) vm.createVcpu();
  const drv = hv.irqchip(name).setup(vm, opts);
  return { vm, drv, dev: vgicDeviceOf(vm)!, hv };
}

/** Irq line encodings (KVM_IRQ_LINE). */
export const spiLine = (intid: number): number => (1 << 24) | intid;
/** PPI line encoding. */
export const ppiLine = (vcpu: number, intid: number): number => (2 << 24) | (vcpu << 16) | intid;

/** A guest that enables `intids` and logs every interrupt it takes into `log` (per vCPU). */
export function loggingGuest(
  drv: GuestIrqDriver,
  intids: number[],
  log: number[],
  opts: { level?: boolean; priority?: number; eoi?: 'none' | 'eoi'; before?: (a: GuestAsm) => void; handler?: (a: GuestAsm) => void } = {},
): GuestAsm {
  const a = new GuestAsm();
  a.label('main');
  drv.emitCpuInit(a);
  for (const id of intids) drv.emitEnable(a, id, { level: opts.level, priority: opts.priority });
  opts.before?.(a);
  a.daifclr(DAIF.I).label('loop').wfi().b('loop');
  a.label('irq');
  drv.emitAck(a, 9);
  a.beqi(9, 1023, 'out'); // spurious (LPIs are >= 8192)
  a.call((v: Vcpu) => void log.push(v.x(9)));
  opts.handler?.(a);
  if (opts.eoi !== 'none') drv.emitEoi(a, 9);
  a.label('out').eret();
  return a;
}
