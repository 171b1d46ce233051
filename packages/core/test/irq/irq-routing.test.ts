/** GSI routing, irqfd and resamplefd through the VM API, observed at the controller and in the guest. */
import { Errno, EventFd, KvmError, KVM_IRQCHIP_NUM_PINS, MSI_VALID_DEVID, type RoutingEntry } from '../../src';
import { handleN } from '../support/programs';
import { tinyVm } from '../support/tiny-controller';
import { errno } from '../support/errno';

const chip = (gsi: number, pin: number, irqchip = 0): RoutingEntry => ({ gsi, type: 'irqchip', irqchip, pin });
const msi = (gsi: number, data: number): RoutingEntry => ({
  gsi,
  type: 'msi',
  msi: { address: 0x8010040, data, devid: 3, flags: MSI_VALID_DEVID },
});

describe('KVM_SET_GSI_ROUTING validation', () => {
  const good = [chip(0, 0), chip(1, 5), msi(2, 8192)];

  it.each<[string, RoutingEntry[]]>([
    ['pin >= 988', [chip(0, KVM_IRQCHIP_NUM_PINS)]],
    ['negative pin', [chip(0, -1)]],
    ['irqchip != 0', [chip(0, 1, 1)]],
    ['GSI >= 4096', [chip(4096, 1)]],
    ['two irqchip entries on one GSI', [chip(3, 1), chip(3, 2)]],
    ['an MSI and an irqchip entry on one GSI', [chip(3, 1), msi(3, 1)]],
    ['two MSI entries on one GSI', [msi(3, 1), msi(3, 2)]],
    ['unknown MSI flags', [{ gsi: 0, type: 'msi', msi: { address: 0, data: 0, flags: 2 } }]],
    ['unknown entry type', [{ gsi: 0, type: 'bogus' } as unknown as RoutingEntry]],
    ['more than 4096 entries', Array.from({ length: 4097 }, (_, i) => chip(i % 4096, i % 900))],
  ])('%s → EINVAL, and the previous table stays in force', (_name, bad) => {
    const { vm } = tinyVm(1);
    vm.setGsiRouting(good);
    expect(errno(() => vm.setGsiRouting([chip(9, 9), ...bad]))).toBe(Errno.EINVAL);
    expect(vm.routing.routes).toEqual(good);
    expect(vm.routing.routesOf(9)).toEqual([]);
    expect(vm.routing.routesOf(1)).toEqual([chip(1, 5)]);
  });

  it('exactly 4096 entries and pin 987 are accepted', () => {
    const { vm } = tinyVm(1);
    expect(errno(() => vm.setGsiRouting(Array.from({ length: 4096 }, (_, i) => chip(i, i % KVM_IRQCHIP_NUM_PINS))))).toBe('ok');
    expect(vm.routing.routesOf(987)).toEqual([chip(987, 987)]);
  });

  it("the controller's validateRoute can refuse an entry; nothing changes", () => {
    const { vm } = tinyVm(1);
    vm.setGsiRouting(good);
    (vm.flow as { validateRoute: unknown }).validateRoute = (_vm: unknown, r: RoutingEntry): void => {
      if (r.type === 'msi') throw new KvmError(Errno.ENODEV, 'no ITS');
    };
    expect(errno(() => vm.setGsiRouting([chip(7, 7), msi(8, 1)]))).toBe(Errno.ENODEV);
    expect(vm.routing.routes).toEqual(good);
  });
});

describe('irqfd', () => {
  it('an edge irqfd on an irqchip route injects pin + 32 once per signal', () => {
    const { vm, ctl, vcpus } = tinyVm(1);
    vm.setGsiRouting([chip(5, 3)]);
    const fd = new EventFd();
    vm.irqfd({ fd, gsi: 5 });
    fd.signal();
    fd.signal();
    expect(ctl.pending(vcpus[0])).toEqual([35, 35]);
    expect(ctl.lines.get(3)).toBe(false); // pulsed
  });

  it('an irqfd on an MSI route delivers through setMsi; controller errors are counted, not thrown', () => {
    const { vm, ctl, vcpus } = tinyVm(1);
    vm.setGsiRouting([msi(1, 8200), { gsi: 2, type: 'msi', msi: { address: 0, data: 9 } }]);
    const a = new EventFd();
    const b = new EventFd();
    vm.irqfd({ fd: a, gsi: 1 });
    vm.irqfd({ fd: b, gsi: 2 });
    a.signal();
    b.signal();
    expect(ctl.pending(vcpus[0])).toEqual([8200]);
    expect(vm.routing.assigned[1].errors).toBe(1);
  });

  it('routes installed after the irqfd apply to it; an irqfd on an unrouted GSI does nothing', () => {
    const { vm, ctl, vcpus } = tinyVm(1);
    const fd = new EventFd();
    vm.irqfd({ fd, gsi: 9 });
    fd.signal();
    expect(ctl.pending(vcpus[0])).toEqual([]);
    vm.setGsiRouting([chip(9, 1)]);
    fd.signal();
    expect(ctl.pending(vcpus[0])).toEqual([33]);
  });

  it('errors: same eventfd twice → EBUSY, unknown deassign → ENOENT, GSI not a u32 → EINVAL, resamplefd without irqchip → EINVAL', () => {
    const { vm } = tinyVm(1);
    const fd = new EventFd();
    vm.irqfd({ fd, gsi: 1 });
    expect(errno(() => vm.irqfd({ fd, gsi: 2 }))).toBe(Errno.EBUSY);
    expect(errno(() => vm.irqfd({ fd: new EventFd(), gsi: 1, deassign: true }))).toBe(Errno.ENOENT);
    // KVM_IRQFD does not range-check the GSI: only what a __u32 cannot carry is refused
    expect(errno(() => vm.irqfd({ fd: new EventFd(), gsi: -1 }))).toBe(Errno.EINVAL);
    expect(errno(() => vm.irqfd({ fd: new EventFd(), gsi: 2 ** 32 }))).toBe(Errno.EINVAL);
    expect(errno(() => vm.irqfd({ fd: new EventFd(), gsi: 1.5 }))).toBe(Errno.EINVAL);
    const bare = tinyVm(1, { irqchip: false }).vm;
    expect(errno(() => bare.irqfd({ fd: new EventFd(), gsi: 1, resamplefd: new EventFd() }))).toBe(Errno.EINVAL);
    expect(vm.routing.assigned).toHaveLength(1);
  });

  it('deassigned irqfds stop injecting', () => {
    const { vm, ctl, vcpus } = tinyVm(1);
    vm.setGsiRouting([chip(1, 1)]);
    const fd = new EventFd();
    vm.irqfd({ fd, gsi: 1 });
    vm.irqfd({ fd, gsi: 1, deassign: true });
    fd.signal();
    expect(ctl.pending(vcpus[0])).toEqual([]);
  });
});

describe('resamplefd (level-triggered irqfd)', () => {
  it('the line stays asserted until the guest EOIs; then it is lowered and the resamplefd signalled', () => {
    const { vm, ctl, vcpus } = tinyVm(1);
    const v = vcpus[0];
    vm.setGsiRouting([chip(4, 8)]);
    const fd = new EventFd('irqfd');
    const resample = new EventFd('resample');
    vm.irqfd({ fd, gsi: 4, resamplefd: resample });
    expect(vm.routing.hasResampler(0, 8)).toBe(true);
    let lineBeforeEoi: boolean | undefined;
    let resampledBeforeEoi = -1;
    // the VMM re-signals while its device still has the interrupt pending (twice in total)
    let devicePending = 2;
    resample.listen(() => {
      resample.read();
      devicePending--;
      if (devicePending > 0) fd.signal();
    });
    v.setProgram(handleN(2).build());
    vm.at(1000, () => fd.signal());
    vm.at(1001, () => {
      lineBeforeEoi = ctl.lines.get(8);
      resampledBeforeEoi = resample.signals;
    });
    expect(vm.run().reason).toBe('shutdown');
    expect(lineBeforeEoi).toBe(true); // still asserted while the guest had not yet completed it
    expect(resampledBeforeEoi).toBe(0);
    expect(ctl.completedLog).toEqual([40, 40]);
    expect(resample.signals).toBe(2);
    expect(ctl.lines.get(8)).toBe(false);
    expect(vm.routing.assigned[0].asserted).toBe(false);
  });

  it('signalling an asserted level irqfd again does not inject a second time', () => {
    const { vm, ctl, vcpus } = tinyVm(1);
    vm.setGsiRouting([chip(4, 8)]);
    const fd = new EventFd();
    vm.irqfd({ fd, gsi: 4, resamplefd: new EventFd() });
    fd.signal();
    fd.signal();
    expect(ctl.pending(vcpus[0])).toEqual([40]);
    expect(ctl.lines.get(8)).toBe(true);
    vm.notifyAckedIrq(0, 7); // another pin: no effect
    expect(ctl.lines.get(8)).toBe(true);
    vm.notifyAckedIrq(0, 8);
    expect(ctl.lines.get(8)).toBe(false);
  });

  it('deassigning an asserted level irqfd lowers its line', () => {
    const { vm, ctl } = tinyVm(1);
    vm.setGsiRouting([chip(4, 8)]);
    const fd = new EventFd();
    vm.irqfd({ fd, gsi: 4, resamplefd: new EventFd() });
    fd.signal();
    vm.irqfd({ fd, gsi: 4, deassign: true });
    expect(ctl.lines.get(8)).toBe(false);
    expect(vm.routing.hasResampler(0, 8)).toBe(false);
  });
});

describe('setIrq (kvm_set_irq)', () => {
  it('drives every route of a GSI and reports how many delivered', () => {
    const { vm, ctl, vcpus } = tinyVm(1);
    vm.setGsiRouting([chip(1, 2), msi(2, 8300)]);
    expect(vm.routing.setIrq(1, true)).toBe(1);
    expect(vm.routing.setIrq(2, true)).toBe(1);
    expect(vm.routing.setIrq(3, true)).toBe(0);
    expect(ctl.pending(vcpus[0])).toEqual([34, 8300]);
  });
});
