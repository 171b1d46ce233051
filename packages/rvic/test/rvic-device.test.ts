import { GuestAsm, Hypervisor, Vm } from '@irqflow/core';
import {
  KVM_DEV_ARM_RVIC_CTRL_INIT as INIT,
  KVM_DEV_ARM_RVIC_GRP_CTRL as CTRL,
  KVM_DEV_ARM_RVIC_GRP_NR_IRQS as NR,
  KVM_DEV_TYPE_ARM_RVIC,
  RvicPlugin,
  rvicNrIrqs,
} from '@irqflow/rvic';

function fresh(vcpus = 1) {
  const hv = new Hypervisor().use(RvicPlugin);
  const vm = hv.createVm();
  for (let i = 0; i < vcpus; i++) vm.createVcpu();
  return { hv, vm, dev: vm.createDevice(KVM_DEV_TYPE_ARM_RVIC) };
}
/** jest's asymmetric matcher for a thrown KvmError with this symbolic code, typed for `toThrow`. */
const errno = (code: string): Error => expect.objectContaining({ code }) as Error;

describe('kvm-arm-rvic device', () => {
  it.each([
    [16, 64, 'trusted < 32'],
    [48, 128, 'trusted not a multiple of 32'],
    [32, 32, 'total < 64'],
    [32, 100, 'total not a multiple of 32'],
    [32, 2080, 'total > 2048'],
    [64, 64, 'no untrusted interrupts'],
    [96, 96 + 0, 'R0058: fewer than 32 untrusted'],
  ])('NR_IRQS trusted=%i total=%i is EINVAL (%s)', (t, n) => {
    const { dev } = fresh();
    expect(() => dev.setAttr(Vm.attr(NR, 0), rvicNrIrqs(t, n))).toThrow(errno('EINVAL'));
  });

  it('NR_IRQS: R0058 boundary, bits above 31, set once, readable; INIT then EBUSY', () => {
    const { dev } = fresh();
    expect(() => dev.setAttr(Vm.attr(NR, 0), rvicNrIrqs(64, 64 + 32 - 32))).toThrow(errno('EINVAL'));
    expect(() => dev.setAttr(Vm.attr(NR, 0), (1n << 32n) | rvicNrIrqs(32, 64))).toThrow(errno('EINVAL'));
    expect(() => dev.setAttr(Vm.attr(NR, 1), rvicNrIrqs(32, 64))).toThrow(errno('ENXIO'));
    dev.setAttr(Vm.attr(NR, 0), rvicNrIrqs(64, 96)); // exactly 32 untrusted
    expect(dev.getAttr(Vm.attr(NR, 0))).toBe(rvicNrIrqs(64, 96));
    expect(() => dev.setAttr(Vm.attr(NR, 0), rvicNrIrqs(32, 64))).toThrow(errno('EBUSY'));
    dev.setAttr(Vm.attr(CTRL, INIT));
    dev.setAttr(Vm.attr(CTRL, INIT)); // idempotent, like vgic
    expect(() => dev.setAttr(Vm.attr(CTRL, 1))).toThrow(errno('ENXIO'));
    expect(() => dev.setAttr(Vm.attr(9, 0))).toThrow(errno('ENXIO'));
    expect(() => dev.getAttr(Vm.attr(CTRL, INIT))).toThrow(errno('ENXIO'));
  });

  it('hasAttr reports exactly NR_IRQS and CTRL INIT', () => {
    const { dev } = fresh();
    expect(dev.hasAttr(Vm.attr(NR, 0))).toBe(true);
    expect(dev.hasAttr(Vm.attr(CTRL, INIT))).toBe(true);
    expect(dev.hasAttr(Vm.attr(CTRL, 1))).toBe(false);
    expect(dev.hasAttr(Vm.attr(1, 0))).toBe(false);
  });

  it('one irqchip per VM (EEXIST, nothing half-installed); INIT finalizes (no more vCPUs: EBUSY)', () => {
    const { vm, dev } = fresh(2);
    expect(() => vm.createDevice(KVM_DEV_TYPE_ARM_RVIC)).toThrow(errno('EEXIST'));
    expect(vm.hypercalls.all.map((r) => r.name)).toEqual(['rVIC', 'rVID']);
    expect(vm.mmio.devices.length).toBe(1);
    dev.setAttr(Vm.attr(CTRL, INIT));
    expect(vm.irqchipFinalized).toBe(true);
    expect(() => vm.createVcpu()).toThrow(errno('EBUSY'));
    expect(vm.routing.routes.length).toBe(16); // default sizing 32/64: 32 inputs, 16 wired
    expect(vm.routing.routes[5]).toEqual({ gsi: 5, type: 'irqchip', irqchip: 0, pin: 5 });
  });

  it('running before INIT is EBUSY; IRQ_LINE and MSIs before INIT are refused', () => {
    const { vm } = fresh(1);
    const a = new GuestAsm();
    a.label('main').wfi();
    vm.vcpus[0].setProgram(a.build());
    expect(() => vm.run()).toThrow(errno('EBUSY'));
    expect(() => vm.irqLine((1 << 24) | 3, 1)).toThrow(errno('ENXIO'));
    expect(() => vm.signalMsi({ address: 0xba5e0000, data: 40 })).toThrow(errno('EBUSY'));
  });

  it('KVM_IRQ_LINE PPI type drives trusted non-IPI interrupts only', () => {
    const { vm, dev } = fresh(1);
    dev.setAttr(Vm.attr(CTRL, INIT));
    expect(() => vm.irqLine((2 << 24) | 5, 1)).toThrow(errno('EINVAL'));
    expect(() => vm.irqLine((2 << 24) | 40, 1)).toThrow(errno('EINVAL'));
    expect(() => vm.irqLine((7 << 24) | 40, 1)).toThrow(errno('EINVAL'));
    vm.irqLine((2 << 24) | 20, 1); // dropped: the rVIC is still disabled
    expect(vm.dump()).toMatch(/dropped\(disabled\)=1/);
    expect(vm.dump()).toContain('20:-ML-');
  });
});

describe('teardown', () => {
  it('VM destroy frees the rVIC: its state is gone from the dump and the VM refuses to run', async () => {
    const { vm, dev } = fresh(1);
    dev.setAttr(Vm.attr(CTRL, INIT));
    expect(vm.dump()).toContain('vcpu0 mpidr=0x0 disabled');
    await vm.destroy();
    expect(vm.dump()).not.toContain('vcpu0 mpidr');
    expect(() => vm.run()).toThrow(errno('ENODEV'));
  });
});
