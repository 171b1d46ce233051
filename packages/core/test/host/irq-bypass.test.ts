import { EventFd, Hypervisor, IrqchipState, KvmError, Errno, type IrqchipFlow, type RoutingEntry, type Msi } from '@irqflow/core';

/** jest's asymmetric matcher for a thrown KvmError with these fields, typed for `toThrow`. */
const kvmError = (fields: { code?: string; errno?: number }): Error => expect.objectContaining(fields) as Error;

/** A controller recording bypass calls and software MSIs; refuses forwarding for data 99. */
function recordingFlow(log: string[]): IrqchipFlow {
  return {
    setMsi: (_vm, msi: Msi) => {
      log.push(`msi:${msi.data}`);
      return 1;
    },
    irqBypassAddProducer: (_vm, irq, route: RoutingEntry) => {
      if (route.type === 'msi' && route.msi.data === 99) throw new KvmError(Errno.EINVAL, 'refused');
      log.push(`add:${irq}:${route.type === 'msi' ? route.msi.data : 'pin'}`);
    },
    irqBypassDelProducer: (_vm, irq) => {
      log.push(`del:${irq}`);
    },
  };
}

function setup() {
  const hv = new Hypervisor();
  const vm = hv.createVm();
  const log: string[] = [];
  vm.setIrqchip(recordingFlow(log), 'rec');
  const dev = hv.createPassthroughDevice('nic', 0x10, 2);
  return { hv, vm, log, dev };
}

const msiRoute = (gsi: number, data: number): RoutingEntry => ({
  gsi,
  type: 'msi',
  msi: { address: 0x8090040, data, devid: 0x10, flags: 1 },
});

describe('irq bypass (kvm_arch_irq_bypass_*)', () => {
  test('producer and irqfd consumer with the same eventfd connect in either order', () => {
    const { hv, vm, log, dev } = setup();
    vm.setGsiRouting([msiRoute(1, 5), msiRoute(2, 6)]);
    const fd0 = new EventFd();
    const fd1 = new EventFd();
    dev.setTrigger(0, fd0); // producer first
    vm.irqfd({ fd: fd0, gsi: 1 });
    vm.irqfd({ fd: fd1, gsi: 2 }); // consumer first
    dev.setTrigger(1, fd1);
    expect(log).toEqual([`add:${dev.vectors[0].hostIrq.irq}:5`, `add:${dev.vectors[1].hostIrq.irq}:6`]);
    expect(hv.irqBypass.isConnected(fd0)).toBe(true);
  });

  test('a routing change unmaps the old forwarding before mapping the new one; deassign undoes it', () => {
    const { vm, log, dev } = setup();
    vm.setGsiRouting([msiRoute(1, 5)]);
    const fd = new EventFd();
    dev.setTrigger(0, fd);
    vm.irqfd({ fd, gsi: 1 });
    const irq = dev.vectors[0].hostIrq.irq;
    vm.setGsiRouting([msiRoute(1, 7)]);
    vm.irqfd({ fd, gsi: 1, deassign: true });
    expect(log).toEqual([`add:${irq}:5`, `del:${irq}`, `add:${irq}:7`, `del:${irq}`]);
  });

  test('a refused forwarding leaves the vector on software injection through the irqfd', () => {
    const { vm, log, dev } = setup();
    vm.setGsiRouting([msiRoute(1, 99)]);
    const fd = new EventFd();
    dev.setTrigger(0, fd);
    vm.irqfd({ fd, gsi: 1 });
    dev.programVector(0, 0x8090040, 99);
    dev.raise(0);
    dev.raise(0);
    expect(log).toEqual(['msi:99', 'msi:99']);
    expect(dev.vectors[0].hostIrq.active).toBe(false);
  });

  test('a forwarded host interrupt bypasses the host handler', () => {
    const { hv, dev } = setup();
    const fd = new EventFd();
    dev.setTrigger(0, fd);
    dev.programVector(0, 0, 1);
    const h = dev.vectors[0].hostIrq;
    let direct = 0;
    h.forward = () => direct++;
    dev.raise(0);
    expect(direct).toBe(1);
    expect(fd.signals).toBe(0);
    h.forward = null;
    dev.raise(0);
    expect(fd.signals).toBe(1);
    expect(hv.hostIrqs.getIrqchipState(h.irq, IrqchipState.Active)).toBe(false);
  });

  test('a masked vector stays pending in the host and does not signal', () => {
    const { dev } = setup();
    const fd = new EventFd();
    dev.setTrigger(0, fd);
    dev.raise(0);
    expect(fd.signals).toBe(0);
    expect(dev.vectors[0].hostIrq.pending).toBe(true);
  });

  test('a second producer or consumer on one token is refused with EBUSY', () => {
    const { hv, vm, dev } = setup();
    const fd = new EventFd();
    dev.setTrigger(0, fd);
    expect(() => hv.irqBypass.registerProducer({ token: fd, irq: 1 })).toThrow(kvmError({ errno: Errno.EBUSY }));
    vm.irqfd({ fd, gsi: 3 });
    expect(() => hv.irqBypass.registerConsumer({ token: fd, addProducer: () => {}, delProducer: () => {} })).toThrow(
      kvmError({ errno: Errno.EBUSY }),
    );
  });
});
