/**
 * Controller-neutral benchmark workloads written against core's GuestIrqDriver, so the same guest code runs
 * on rVIC (ARM-DEN-0103) and on any other registered irqchip: an IPI ping-pong between two vCPUs and a
 * device firing MSIs at one vCPU through an MSI route + irqfd.
 *
 * @module
 */
import { DAIF, EventFd, GuestAsm, Hypervisor, type IrqflowPlugin, type Vm } from '@irqflow/core';

/** What one workload run measured. */
export interface WorkloadResult {
  /** Irqchip name. */
  irqchip: string;
  /** Cost profile name. */
  profile: string;
  /** Workload name. */
  workload: string;
  /** Interrupts handled by the guest. */
  interrupts: number;
  /** Exits (all vCPUs) per handled interrupt. */
  exitsPerIrq: number;
  /** Simulated ns per interrupt (ping-pong: elapsed / interrupts; MSI: busy vCPU time / interrupts). */
  simNsPerIrq: number;
  /**
   * Wall-clock throughput of the model (interrupts per second), timed from the end of the guest's set-up to its
   * last interrupt, so VM creation and bring-up are not in it; 0 if not every interrupt arrived.
   */
  irqsPerSecWall: number;
}

function vmWith(plugins: readonly IrqflowPlugin[], irqchip: string, profile: string, nVcpus: number) {
  const hv = new Hypervisor();
  for (const p of plugins) hv.use(p);
  const vm = hv.createVm({ costProfile: profile });
  for (let i = 0; i < nVcpus; i++) vm.createVcpu();
  const drv = hv.irqchip(irqchip).setup(vm);
  return { vm, drv };
}

function result(vm: Vm, irqchip: string, profile: string, workload: string, irqs: number, simNs: number, wallMs: number): WorkloadResult {
  const s = vm.stats();
  return {
    irqchip,
    profile,
    workload,
    interrupts: irqs,
    exitsPerIrq: irqs ? s.exits / irqs : 0,
    simNsPerIrq: irqs ? simNs / irqs : 0,
    irqsPerSecWall: wallMs > 0 ? (irqs * 1000) / wallMs : 0,
  };
}

/** IPI ping-pong: vCPU0 and vCPU1 bounce IPI 1 `rounds` times each way; counts the setup out. */
export function ipiPingPong(plugins: readonly IrqflowPlugin[], irqchip: string, profile: string, rounds: number): WorkloadResult {
  const { vm, drv } = vmWith(plugins, irqchip, profile, 2);
  let handled = 0;
  let t0 = -1;
  let t1 = 0;
  let w0 = 0;
  let w1 = 0;
  const total = 2 * rounds;
  const prog = (me: number) => {
    const a = new GuestAsm();
    a.label('main');
    drv.emitCpuInit(a);
    drv.emitEnable(a, drv.ipi!(1));
    if (me === 0) {
      a.work(3_000_000); // let vCPU1 finish its bring-up
      a.call((cpu) => {
        t0 = cpu.clock;
        w0 = performance.now(); // the wall clock starts here: VM creation, assembly and bring-up are not timed
        cpu.stats.reset();
        cpu.vm.vcpus[1].stats.reset();
      });
      a.movi(20, 1);
      drv.emitSendIpi!(a, 20, 1);
    }
    a.daifclr(DAIF.I).label('idle').wfi().b('idle');
    a.label('irq');
    drv.emitAck(a, 9);
    a.beqi(9, drv.spurious, 'out');
    drv.emitEoi(a, 9);
    a.callb((cpu) => {
      handled++;
      t1 = cpu.clock;
      if (handled === total) w1 = performance.now();
      return handled >= total;
    }, 'out');
    a.movi(20, 1 - me);
    drv.emitSendIpi!(a, 20, 1);
    a.label('out').eret();
    return a.build();
  };
  vm.vcpus[0].setProgram(prog(0));
  vm.vcpus[1].setProgram(prog(1));
  vm.run({ until: 1e12 });
  return result(vm, irqchip, profile, 'ipi-ping-pong', handled, t1 - t0, handled === total ? w1 - w0 : 0);
}

/** Device MSIs: `count` MSIs, one every `periodNs`, through an MSI route + irqfd to vCPU0. */
export function deviceMsi(
  plugins: readonly IrqflowPlugin[],
  irqchip: string,
  profile: string,
  count: number,
  periodNs = 20_000,
): WorkloadResult {
  const { vm, drv } = vmWith(plugins, irqchip, profile, 1);
  if (!drv.emitMsiSetup || !drv.msiIrqs) throw new Error(`${irqchip} has no MSI support`);
  let handled = 0;
  let tReset = 0;
  let w0 = 0;
  let w1 = 0;
  const a = new GuestAsm();
  a.label('main');
  drv.emitCpuInit(a);
  const intid = drv.msiIrqs.first;
  const msi = drv.emitMsiSetup(a, { devid: 0, event: 0, intid, target: 0 });
  drv.emitEnable(a, intid);
  a.call((cpu) => {
    cpu.stats.reset();
    tReset = cpu.clock;
    w0 = performance.now(); // the wall clock starts here: VM creation, assembly and the guest's MSI setup are not timed
  });
  a.daifclr(DAIF.I).label('idle').wfi().b('idle');
  a.label('irq');
  drv.emitAck(a, 9);
  a.beqi(9, drv.spurious, 'out');
  drv.emitEoi(a, 9);
  a.call(() => {
    if (++handled === count) w1 = performance.now();
  });
  a.label('out').eret();
  vm.vcpus[0].setProgram(a.build());
  drv.hostMsiSetup?.(vm);
  vm.setGsiRouting([{ gsi: 1, type: 'msi', msi }]);
  const fd = new EventFd('device');
  vm.irqfd({ fd, gsi: 1 });
  const start = 5e6;
  for (let i = 0; i < count; i++) vm.at(start + i * periodNs, () => fd.signal());
  vm.run({ until: start + count * periodNs + 1e6 });
  const v = vm.vcpus[0];
  const busy = v.clock - tReset - v.stats.blockedNs;
  return result(vm, irqchip, profile, 'device-msi', handled, busy, handled === count ? w1 - w0 : 0);
}
