import { Errno, GuestAsm, Hypervisor, isKvmError, IrqType, Vm, type GuestIrqDriver } from '@irqflow/core';
import { PIC_DEFAULT_BASE, PIC_DEV_GRP, PIC_IRQCHIP, PIC_REG, PicPlugin } from '@irqflow/examples';

function setup(vcpus = 2): { vm: Vm; driver: GuestIrqDriver } {
  const hv = new Hypervisor({ traceCapacity: 1 }).use(PicPlugin);
  const vm = hv.createVm();
  for (let i = 0; i < vcpus; i++) vm.createVcpu(i);
  return { vm, driver: hv.irqchip('pic').setup(vm) };
}

/** A guest that records every acknowledged interrupt number into `got` and completes it. */
function receiver(driver: GuestIrqDriver, got: number[], enable: (a: GuestAsm) => void): GuestAsm {
  const a = new GuestAsm();
  a.label('main');
  driver.emitCpuInit(a);
  enable(a);
  a.daifclr(2).label('idle').wfi().b('idle');
  a.label('irq');
  driver.emitAck(a, 9);
  a.call((v) => void got.push(v.x(9)));
  driver.emitEoi(a, 9);
  a.eret();
  return a;
}

const userReg = (cpu: number, off: number) => Vm.attr(PIC_DEV_GRP.REGS, (BigInt(cpu) << 32n) | BigInt(off));

describe('pic delivery', () => {
  it('delivers an IPI from vCPU 0 to vCPU 1 and counts ack/complete', () => {
    const { vm, driver } = setup(2);
    const got: number[] = [];
    vm.vcpus[1].setProgram(receiver(driver, got, (a) => driver.emitEnable(a, driver.ipi!(3))).build());
    const s = new GuestAsm();
    s.label('main');
    driver.emitCpuInit(s);
    s.work(3000).movi(9, 1);
    driver.emitSendIpi!(s, 9, 3);
    s.label('end').wfi().b('end');
    vm.vcpus[0].setProgram(s.build());
    vm.run({ until: 100_000 });
    expect(got).toEqual([3]);
    expect(vm.vcpus[1].stats.acked).toBe(1);
    expect(vm.vcpus[1].stats.completed).toBe(1);
    expect(vm.stats().exitsByReason['mmio-kernel']).toBeGreaterThan(0);
  });

  it('delivers by fixed priority (lower number first) and honours the priority mask', () => {
    const { vm, driver } = setup(1);
    const got: number[] = [];
    vm.vcpus[0].setProgram(
      receiver(driver, got, (a) => {
        for (const i of [40, 35, 70]) driver.emitEnable(a, i);
        a.movi(0, 50).stra(0, PIC_DEFAULT_BASE + PIC_REG.PMR);
      }).build(),
    );
    vm.run({ until: 20_000 });
    const dev = vm.devices[0];
    dev.setAttr(userReg(0, PIC_REG.PENDING_SET + 4 * 1), BigInt((1 << 8) | (1 << 3))); // 40 and 35
    dev.setAttr(userReg(0, PIC_REG.PENDING_SET + 4 * 2), BigInt(1 << 6)); // 70, above the mask
    vm.run({ until: 100_000 });
    expect(got).toEqual([35, 40]);
    expect(dev.getAttr(userReg(0, PIC_REG.PENDING_SET + 8))).toBe(BigInt(1 << 6));
  });

  it('routes KVM_IRQ_LINE and MSIs with KVM errnos for bad numbers and addresses', () => {
    const { vm, driver } = setup(2);
    const got: number[] = [];
    vm.vcpus[1].setProgram(
      receiver(driver, got, (a) => {
        driver.emitEnable(a, 33);
        driver.emitEnable(a, 200);
      }).build(),
    );
    vm.vcpus[0].setProgram(receiver(driver, [], () => {}).build());
    vm.run({ until: 20_000 });
    const err = (fn: () => unknown): Errno | 'ok' => {
      try {
        fn();
        return 'ok';
      } catch (e) {
        if (isKvmError(e)) return e.errno;
        throw e;
      }
    };
    const line = (type: IrqType, id: number) => (type << 24) | id;
    expect(err(() => vm.irqLine(line(IrqType.Spi, 20), 1))).toBe(Errno.EINVAL);
    expect(err(() => vm.irqLine(line(IrqType.Spi, 256), 1))).toBe(Errno.EINVAL);
    expect(err(() => vm.irqLine(line(IrqType.Ppi, 40), 1))).toBe(Errno.EINVAL);
    const doorbell = PIC_DEFAULT_BASE + PIC_REG.DOORBELL;
    expect(err(() => vm.signalMsi({ address: doorbell + 4, data: 200 }))).toBe(Errno.EINVAL);
    expect(err(() => vm.signalMsi({ address: doorbell, data: 5 }))).toBe(Errno.EINVAL);
    vm.irqLine(line(IrqType.Spi, 33), 1);
    vm.irqLine(line(IrqType.Spi, 33), 0);
    expect(vm.signalMsi({ address: doorbell, data: 200 })).toBe(1);
    vm.run({ until: 100_000 });
    expect(got).toEqual([33, 200]);
  });

  it('keeps a level interrupt pending until its line drops', () => {
    const { vm, driver } = setup(1);
    const got: number[] = [];
    let lowerAfter = 3;
    const a = new GuestAsm();
    a.label('main');
    driver.emitCpuInit(a);
    driver.emitEnable(a, 34, { level: true });
    a.daifclr(2).label('idle').wfi().b('idle');
    a.label('irq');
    driver.emitAck(a, 9);
    a.call((v) => {
      got.push(v.x(9));
      if (--lowerAfter === 0) vm.irqLine((IrqType.Spi << 24) | 34, 0);
    });
    driver.emitEoi(a, 9, { level: true });
    a.eret();
    vm.vcpus[0].setProgram(a.build());
    vm.run({ until: 20_000 });
    vm.irqLine((IrqType.Spi << 24) | 34, 1);
    vm.run({ until: 200_000 });
    expect(got).toEqual([34, 34, 34]);
  });

  it('aborts a wrong-width access and reads unknown offsets as zero', () => {
    const { vm, driver } = setup(1);
    const a = new GuestAsm();
    a.label('main');
    driver.emitCpuInit(a);
    a.ldra(5, PIC_DEFAULT_BASE + PIC_REG.TYPER, 1); // wrong width → external abort
    a.ldra(6, PIC_DEFAULT_BASE + 0xffc); // unused → RAZ
    a.ldra(7, PIC_DEFAULT_BASE + PIC_REG.TYPER);
    a.label('end').wfi().b('end');
    vm.vcpus[0].setProgram(a.build());
    vm.run({ until: 50_000 });
    expect(vm.vcpus[0].stats.faults).toBe(1);
    expect(vm.vcpus[0].x(6)).toBe(0);
    expect(vm.vcpus[0].x(7)).toBe(256);
  });

  it('is registered by name with its features', () => {
    expect(PIC_IRQCHIP.name).toBe('pic');
    expect(PIC_IRQCHIP.features).toEqual(expect.arrayContaining(['ipi', 'msi', 'level', 'timer']));
  });
});
