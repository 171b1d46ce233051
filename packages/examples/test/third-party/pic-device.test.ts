import { Errno, Hypervisor, isKvmError, Vm } from '@irqflow/core';
import { KVM_DEV_TYPE_IRQFLOW_PIC, PIC_CTRL_INIT, PIC_DEV_GRP, PIC_REG, PicPlugin } from '@irqflow/examples';

function setup(vcpus = 2): { vm: Vm; dev: ReturnType<Vm['createDevice']> } {
  const hv = new Hypervisor({ traceCapacity: 1 }).use(PicPlugin);
  const vm = hv.createVm();
  for (let i = 0; i < vcpus; i++) vm.createVcpu(i);
  return { vm, dev: vm.createDevice(KVM_DEV_TYPE_IRQFLOW_PIC) };
}

function errno(fn: () => unknown): Errno | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (isKvmError(e)) return e.errno;
    throw e;
  }
}

const ADDR = Vm.attr(PIC_DEV_GRP.ADDR, 0);
const NR = Vm.attr(PIC_DEV_GRP.NR_IRQS, 0);
const INIT = Vm.attr(PIC_DEV_GRP.CTRL, PIC_CTRL_INIT);

describe('pic KVM device', () => {
  it('is one interrupt controller per VM (EEXIST for a second)', () => {
    const { vm } = setup();
    expect(errno(() => vm.createDevice(KVM_DEV_TYPE_IRQFLOW_PIC))).toBe(Errno.EEXIST);
    expect(vm.flow.name).toBe('pic');
  });

  it('validates the frame address with KVM errnos and leaves it unset on failure', () => {
    const { dev } = setup();
    expect(errno(() => dev.getAttr(ADDR))).toBe(Errno.ENOENT);
    expect(errno(() => dev.setAttr(ADDR, 0x1234n))).toBe(Errno.EINVAL);
    expect(errno(() => dev.setAttr(ADDR, 1n << 48n))).toBe(Errno.E2BIG);
    expect(errno(() => dev.getAttr(ADDR))).toBe(Errno.ENOENT);
    dev.setAttr(ADDR, 0x900_0000n);
    expect(dev.getAttr(ADDR)).toBe(0x900_0000n);
    expect(errno(() => dev.setAttr(ADDR, 0xa00_0000n))).toBe(Errno.EEXIST);
    expect(errno(() => dev.setAttr(Vm.attr(PIC_DEV_GRP.ADDR, 1), 0n))).toBe(Errno.ENXIO);
  });

  it('accepts NR_IRQS 64..1024 in steps of 32 until INIT, then EBUSY', () => {
    const { dev } = setup();
    for (const bad of [0n, 32n, 48n, 100n, 1056n]) expect(errno(() => dev.setAttr(NR, bad))).toBe(Errno.EINVAL);
    expect(dev.getAttr(NR)).toBe(256n);
    dev.setAttr(NR, 128n);
    expect(dev.getAttr(NR)).toBe(128n);
    dev.setAttr(ADDR, 0x900_0000n);
    dev.setAttr(INIT);
    expect(errno(() => dev.setAttr(NR, 256n))).toBe(Errno.EBUSY);
    expect(dev.getAttr(NR)).toBe(128n);
  });

  it('needs the address before INIT (ENXIO), refuses unknown attributes (ENXIO) and vCPUs after INIT (EBUSY)', () => {
    const { vm, dev } = setup();
    expect(errno(() => dev.setAttr(INIT))).toBe(Errno.ENXIO);
    expect(errno(() => dev.setAttr(Vm.attr(PIC_DEV_GRP.CTRL, 7)))).toBe(Errno.ENXIO);
    expect(errno(() => dev.setAttr(Vm.attr(9, 0), 0n))).toBe(Errno.ENXIO);
    expect(dev.hasAttr(INIT)).toBe(true);
    expect(dev.hasAttr(Vm.attr(9, 0))).toBe(false);
    dev.setAttr(ADDR, 0x900_0000n);
    dev.setAttr(INIT);
    dev.setAttr(INIT); // idempotent
    expect(errno(() => vm.createVcpu(5))).toBe(Errno.EBUSY);
  });

  it('refuses to run before INIT (EBUSY at the first KVM_RUN)', () => {
    const { vm } = setup(1);
    expect(errno(() => vm.run({ until: 1000 }))).toBe(Errno.EBUSY);
  });

  it('exposes side-effect-free registers to userspace only, per vCPU', () => {
    const { vm, dev } = setup(2);
    const reg = (cpu: number, off: number) => Vm.attr(PIC_DEV_GRP.REGS, (BigInt(cpu) << 32n) | BigInt(off));
    expect(errno(() => dev.getAttr(reg(0, PIC_REG.TYPER)))).toBe(Errno.EBUSY);
    dev.setAttr(ADDR, 0x900_0000n);
    dev.setAttr(INIT);
    expect(dev.getAttr(reg(0, PIC_REG.TYPER))).toBe(256n);
    expect(dev.getAttr(reg(1, PIC_REG.CPUID))).toBe(1n);
    expect(errno(() => dev.getAttr(reg(0, PIC_REG.ACK)))).toBe(Errno.ENXIO);
    expect(errno(() => dev.getAttr(reg(7, PIC_REG.TYPER)))).toBe(Errno.EINVAL);
    dev.setAttr(reg(1, PIC_REG.ENABLE_SET), 1n << 3n);
    expect(dev.getAttr(reg(1, PIC_REG.ENABLE_SET))).toBe(8n);
    expect(dev.getAttr(reg(0, PIC_REG.ENABLE_SET))).toBe(0n);
    expect(vm.mmio.devices.map((d) => d.dev.name)).toContain('PIC');
  });
});
