/**
 * The named workloads the CLI runs. Each is a short composition of components (components.ts) and doubles
 * as an example of a realistic interrupt pattern: IPI ping-pong, a periodic timer tick, a virtio-style MSI
 * device, a level-triggered INTx device with resample, a passthrough device and a mix of all of them.
 *
 * @module
 */
import { IpiPingPong, LevelDevice, MsiDevice, TimerTick } from './components';
import type { Component, Workload } from './workload';

/** IPI ping-pong between vCPU pairs. */
export const IPI_PINGPONG: Workload = {
  name: 'ipi-pingpong',
  description: 'vCPU pairs bounce an IPI back and forth (200 round trips per pair)',
  needs: ['ipi'],
  minVcpus: 2,
  defaultVcpus: 2,
  components: (ctx) => [new IpiPingPong(ctx, 200)],
};

/** Periodic virtual-timer tick on every vCPU. */
export const TIMER_TICK: Workload = {
  name: 'timer-tick',
  description: 'every vCPU programs CNTV_TVAL_EL0 for 100 periodic virtual-timer ticks',
  needs: ['timer'],
  needsExtensions: ['arch-timer'],
  minVcpus: 1,
  defaultVcpus: 2,
  components: (ctx) => [new TimerTick(ctx, 100, 1000)],
};

/** A virtio-style device raising MSIs (ITS / rVID MSI / doorbell), or irqfd on SPI routes without MSI. */
export const VIRTIO_MSI: Workload = {
  name: 'virtio-msi',
  description: 'a virtio-style device, one queue per vCPU (up to 16), 100 interrupts per queue through irqfd (MSI, else SPI)',
  needs: [],
  minVcpus: 1,
  defaultVcpus: 2,
  components: (ctx) => [new MsiDevice(ctx, 100, 2000, 0, 0)],
};

/** A level-triggered INTx device with irqfd + resamplefd. */
export const LEVEL_INTX: Workload = {
  name: 'level-intx',
  description: 'a level INTx device (irqfd + resamplefd): 50 requests, each needing 3 completions',
  needs: ['level'],
  minVcpus: 1,
  defaultVcpus: 2,
  components: (ctx) => [new LevelDevice(ctx, 50, 3, 3000, 128, 40, ctx.vcpus - 1)],
};

/** A passthrough device: MSI-X vector → host interrupt → VFIO handler → irqfd, or direct injection where the controller forwards it. */
export const PASSTHROUGH: Workload = {
  name: 'passthrough',
  description: 'a passthrough device: MSI-X vector → host IRQ → VFIO → irqfd, or direct injection (GICv4) where available',
  needs: [],
  minVcpus: 1,
  defaultVcpus: 2,
  components: (ctx) => [new MsiDevice(ctx, 100, 2000, 64, 1, true)],
};

/** Everything at once (timer and INTx parts only where the controller and extensions allow). */
export const MIXED: Workload = {
  name: 'mixed',
  description: 'IPI ping-pong + virtio MSIs + passthrough + timer tick and level INTx where supported',
  needs: ['ipi'],
  minVcpus: 2,
  defaultVcpus: 4,
  components: (ctx) => {
    const c: Component[] = [new IpiPingPong(ctx, 100), new MsiDevice(ctx, 50, 3000, 0, 0), new MsiDevice(ctx, 50, 3000, 64, 1, true)];
    if (ctx.hasTimer && ctx.irqchip.features.includes('timer')) c.push(new TimerTick(ctx, 50, 1500));
    if (ctx.irqchip.features.includes('level')) c.push(new LevelDevice(ctx, 20, 3, 4000, 128, 40, ctx.vcpus - 1));
    return c;
  },
};

/** All workloads, in CLI order. */
export const WORKLOADS: readonly Workload[] = [IPI_PINGPONG, TIMER_TICK, VIRTIO_MSI, LEVEL_INTX, PASSTHROUGH, MIXED];

/** The workload `npm start` compares. */
export const DEFAULT_WORKLOAD = 'mixed';

/** A workload by name, or undefined. */
export function findWorkload(name: string): Workload | undefined {
  return WORKLOADS.find((w) => w.name === name);
}
