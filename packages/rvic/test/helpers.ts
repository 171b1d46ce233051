/* Test helpers: a VM with an initialised rVIC and guest programs that log hypercall results. */
import { DAIF, GuestAsm, Hypervisor, PSCI, Vm, type Vcpu } from '@irqflow/core';
import {
  KVM_DEV_ARM_RVIC_CTRL_INIT,
  KVM_DEV_ARM_RVIC_GRP_CTRL,
  KVM_DEV_ARM_RVIC_GRP_NR_IRQS,
  KVM_DEV_TYPE_ARM_RVIC,
  RvicPlugin,
  emitAcknowledge,
  emitComplete,
  emitSmccc,
  rvicNrIrqs,
  type RvicArg,
} from '@irqflow/rvic';

export interface Setup {
  hv: Hypervisor;
  vm: Vm;
  dev: ReturnType<Vm['createDevice']>;
}

/** A VM with `n` vCPUs and an rVIC sized (trusted, total), initialised unless init=false. */
export function makeVm(n = 2, opts: { trusted?: number; total?: number; init?: boolean; profile?: string } = {}): Setup {
  const hv = new Hypervisor().use(RvicPlugin);
  const vm = hv.createVm({ costProfile: opts.profile });
  for (let i = 0; i < n; i++) vm.createVcpu();
  const dev = vm.createDevice(KVM_DEV_TYPE_ARM_RVIC);
  dev.setAttr(Vm.attr(KVM_DEV_ARM_RVIC_GRP_NR_IRQS, 0), rvicNrIrqs(opts.trusted ?? 32, opts.total ?? 128));
  if (opts.init !== false) dev.setAttr(Vm.attr(KVM_DEV_ARM_RVIC_GRP_CTRL, KVM_DEV_ARM_RVIC_CTRL_INIT));
  return { hv, vm, dev };
}

/** One logged call result: signed x0 and x1. */
export interface Ret {
  x0: number;
  x1: number;
}

/** Status word → [reason, index]. */
export const st = (r: Ret): [number, number] => [r.x0 & 0xff, (r.x0 >>> 8) & 0xff];

/** Emits a call and logs (x0, x1). */
export function callLog(a: GuestAsm, log: Ret[], fid: number, ...args: RvicArg[]): void {
  emitSmccc(a, fid, ...args);
  a.call((cpu) => {
    log.push({ x0: Number(BigInt.asIntN(64, cpu.xBig(0))), x1: cpu.x(1) });
  });
}

/** Powers the vCPU off (PSCI CPU_OFF). */
export function off(a: GuestAsm): void {
  a.movi(0, PSCI.CPU_OFF).hvc(0);
}

/** Adds an IRQ vector that acknowledges, logs the intid into `seen`, runs `body`, completes and returns. */
export function irqHandler(
  a: GuestAsm,
  seen: { cpu: number; intid: number; t: number }[],
  opts: { level?: boolean; body?: (cpu: Vcpu, intid: number) => void } = {},
): void {
  a.label('irq');
  emitAcknowledge(a, 9);
  a.beqi(9, 0xffffffff, 'irq_out');
  a.call((cpu) => {
    const intid = cpu.x(9);
    seen.push({ cpu: cpu.index, intid, t: cpu.clock });
    opts.body?.(cpu, intid);
  });
  emitComplete(a, 9, opts.level === true);
  a.label('irq_out').eret();
}

/** main: `setup`, unmask PSTATE.I, then WFI forever. */
export function idleLoop(a: GuestAsm, setup: (a: GuestAsm) => void): void {
  a.label('main');
  setup(a);
  a.daifclr(DAIF.I).label('idle').wfi().b('idle');
}

export { GuestAsm };
