/** A randomized multi-vCPU interrupt workload on the tiny controller (deterministic for a given seed). */
import { GuestAsm, Hypervisor, type RunResult, type Vm } from '../../src';
import { systemOff, tinyIrqVector } from './programs';
import { tinyVm, type TinyController } from './tiny-controller';

/** Options of {@link runWorkload}. */
export interface WorkloadOptions {
  seed?: number;
  costProfile?: string;
  trace?: boolean;
  vcpus?: number;
  irqs?: number;
}

/**
 * Each vCPU computes and waits for interrupts that timed host events inject at random times (from the VM's
 * seeded rng) to random vCPUs; vCPU 0 polls a status register (an in-kernel MMIO device reporting how many
 * interrupts were completed) and powers the system off once all were handled.
 */
export function runWorkload(opts: WorkloadOptions = {}): { hv: Hypervisor; vm: Vm; ctl: TinyController; result: RunResult } {
  const hv = new Hypervisor({ traceCapacity: 200_000 });
  hv.trace.on = opts.trace ?? true;
  const n = opts.vcpus ?? 3;
  const irqs = opts.irqs ?? 40;
  const { vm, ctl, vcpus } = tinyVm(n, { hv, seed: opts.seed ?? 1, costProfile: opts.costProfile });
  vm.mmio.register(0x9000_0000, 0x1000, {
    name: 'status',
    read: (_v, _o, _l, val) => {
      val.lo = ctl.completedLog.length;
      return true;
    },
    write: () => true,
  });
  const a = new GuestAsm();
  a.label('main').daifclr(2).label('loop').work(200).ldra(1, 0x9000_0000).bhsi(1, irqs, 'done').wfi().b('loop');
  a.label('done');
  systemOff(a);
  a.label('other').daifclr(2).label('oloop').work(150).wfi().b('oloop');
  tinyIrqVector(a);
  const img = a.build();
  vcpus.forEach((v, i) => v.setProgram(img, i === 0 ? 'main' : 'other'));
  let t = 0;
  for (let i = 0; i < irqs; i++) {
    t += 500 + vm.rng.int(5000);
    const target = vcpus[vm.rng.int(n)];
    const intid = 32 + vm.rng.int(64);
    // the last interrupt goes to vCPU 0, well after the others, so it re-checks the status register last
    if (i === irqs - 1) vm.at(t + 100_000, () => ctl.queue(vcpus[0], intid));
    else vm.at(t, () => ctl.queue(target, intid));
  }
  const result = vm.run({ until: 1e9 });
  return { hv, vm, ctl, result };
}
