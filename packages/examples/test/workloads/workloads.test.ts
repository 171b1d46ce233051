import { Hypervisor } from '@irqflow/core';
import { createHypervisor, findWorkload, PicPlugin, runWorkload, unsupportedReason, WORKLOADS, type Workload } from '@irqflow/examples';

describe('workloads on the pic controller', () => {
  const { hv } = createHypervisor({ traceCapacity: 1 });
  const hasTimer = hv.extensions.some((e) => e.name === 'arch-timer');

  it.each(WORKLOADS.map((w) => [w.name, w] as const))('%s delivers exactly what it sent', (_n, w: Workload) => {
    if (w.needsExtensions?.includes('arch-timer') && !hasTimer) return;
    const r = runWorkload(hv, w, { irqchip: 'pic' });
    expect(r.message).toBeUndefined();
    expect(r.status).toBe('ok');
    expect(r.interrupts).toBe(r.sent);
    expect(r.interrupts).toBeGreaterThan(0);
    expect(r.exitsPerInterrupt).toBeGreaterThan(0);
    expect(r.exitsByReason['mmio-kernel']).toBeGreaterThanOrEqual(2 * r.interrupts);
  });

  it('counts every IPI of the ping-pong: 2 x 200 per pair', () => {
    const r = runWorkload(hv, findWorkload('ipi-pingpong')!, { irqchip: 'pic', vcpus: 4 });
    expect(r.interrupts).toBe(800);
    expect(r.path).toBe('ipi');
  });

  it('scales mixed to 40 vCPUs without interrupt or GSI clashes', () => {
    const r = runWorkload(hv, findWorkload('mixed')!, { irqchip: 'pic', vcpus: 40 });
    expect(r.status).toBe('ok');
    expect(r.interrupts).toBe(r.sent);
  });

  it('uses the MSI doorbell for virtio-msi and the VFIO path for passthrough', () => {
    expect(runWorkload(hv, findWorkload('virtio-msi')!, { irqchip: 'pic' }).path).toBe('msi-irqfd');
    expect(runWorkload(hv, findWorkload('passthrough')!, { irqchip: 'pic' }).path).toBe('vfio-msi-irqfd');
  });

  it('reports a truncated run when the time limit comes first', () => {
    const r = runWorkload(hv, findWorkload('virtio-msi')!, { irqchip: 'pic', durationNs: 50_000 });
    expect(r.status).toBe('truncated');
    expect(r.interrupts).toBeLessThan(200);
  });

  it('is deterministic: the same run gives the same numbers', () => {
    const w = findWorkload('mixed')!;
    const a = runWorkload(hv, w, { irqchip: 'pic', seed: 7 });
    const b = runWorkload(hv, w, { irqchip: 'pic', seed: 7 });
    expect(b.simNsPerInterrupt).toBe(a.simNsPerInterrupt);
    expect(b.exitsByReason).toEqual(a.exitsByReason);
  });

  it('marks workloads a controller cannot run as unsupported', () => {
    const bare = new Hypervisor({ traceCapacity: 1 }).use(PicPlugin);
    const w = findWorkload('timer-tick')!;
    expect(unsupportedReason(bare, bare.irqchip('pic'), w, 2)).toMatch(/arch-timer/);
    expect(runWorkload(bare, w, { irqchip: 'pic' }).status).toBe('unsupported');
    expect(unsupportedReason(bare, bare.irqchip('pic'), findWorkload('ipi-pingpong')!, 1)).toMatch(/at least 2/);
  });
});
