/**
 * Swapping controllers per VM: two VMs in one {@link Hypervisor}, each with a different interrupt
 * controller, running the same workload side by side. Every VM has its own DI container, so the
 * controllers share nothing. Run: `node packages/examples/dist/examples/two-vms.js [irqchipA irqchipB]`.
 *
 * @module
 */
import { createHypervisor } from '../hypervisor-factory';
import { IPI_PINGPONG } from '../workloads/catalog';
import { runWorkload, type WorkloadResult } from '../workloads/harness';

/** Runs ipi-pingpong on two VMs with controllers `a` and `b` (defaults: gic-v3 if registered, and pic). */
export function twoVms(a?: string, b = 'pic'): WorkloadResult[] {
  const { hv } = createHypervisor({ traceCapacity: 1 });
  const names = hv.irqchipDescriptors.map((d) => d.name);
  const first = a ?? (names.includes('gic-v3') ? 'gic-v3' : (names.find((n) => n !== b) ?? b));
  return [first, b].map((irqchip) => runWorkload(hv, IPI_PINGPONG, { irqchip, keepVm: true }));
}

/** Prints the two VMs' statistics side by side. */
export function printTwoVms(rows: readonly WorkloadResult[], out: (s: string) => void = console.log): void {
  out(
    `${'VM'.padEnd(24)}${'irqchip'.padEnd(10)}${'irqs'.padStart(6)}${'exits'.padStart(8)}${'exits/irq'.padStart(11)}${'ns/irq'.padStart(10)}  status`,
  );
  for (const r of rows) {
    const s = r.vm?.stats();
    out(
      `${(r.vm?.name ?? '-').padEnd(24)}${r.irqchip.padEnd(10)}${String(r.interrupts).padStart(6)}${String(s?.exits ?? r.exits).padStart(8)}` +
        `${r.exitsPerInterrupt.toFixed(2).padStart(11)}${r.simNsPerInterrupt.toFixed(0).padStart(10)}  ${r.status}`,
    );
  }
}

/* istanbul ignore next */
if (require.main === module) {
  const rows = twoVms(process.argv[2], process.argv[3]);
  printTwoVms(rows);
  for (const r of rows) void r.vm?.destroy();
}
