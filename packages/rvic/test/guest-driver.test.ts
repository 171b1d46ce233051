import { DAIF, GuestAsm, Hypervisor, type GuestIrqDriver, type Vm } from '@irqflow/core';
import { RVID_MSI_DOORBELL, RvicPlugin, emitProbe } from '@irqflow/rvic';

/** A controller-neutral workload: vCPU0 sends `n` IPIs to vCPU1 and fires `n` MSIs at vCPU1. */
export function neutralWorkload(vm: Vm, drv: GuestIrqDriver, n: number) {
  const got: number[] = [];
  const msiIntid = drv.msiIrqs!.first + 2;
  const setup = new GuestAsm();
  const msi = drv.emitMsiSetup!(setup, { devid: 1, event: 0, intid: msiIntid, target: 1 });
  const progs = [0, 1].map((me) => {
    const a = new GuestAsm();
    a.label('main');
    drv.emitCpuInit(a);
    drv.emitEnable(a, drv.ipi!(1));
    if (me === 0) {
      a.work(3_000_000);
      // append the MSI setup code
      const img = setup.build();
      void img;
      drv.emitMsiSetup!(a, { devid: 1, event: 0, intid: msiIntid, target: 1 });
      a.movi(12, 0);
      a.label('loop').movi(11, 1);
      drv.emitSendIpi!(a, 11, 1);
      a.work(20000);
      a.movi(10, msi.data).stra(10, msi.address, 4);
      a.work(20000).addi(12, 12, 1).bloi(12, n, 'loop');
    }
    a.daifclr(DAIF.I).label('idle').wfi().b('idle');
    a.label('irq');
    drv.emitAck(a, 9);
    a.beqi(9, drv.spurious, 'out');
    a.call((cpu) => {
      got.push(cpu.x(9));
    });
    drv.emitEoi(a, 9);
    a.label('out').eret();
    return a.build();
  });
  vm.vcpus[0].setProgram(progs[0]);
  vm.vcpus[1].setProgram(progs[1]);
  vm.run({ until: 1e9 });
  return { got, msi, msiIntid };
}

describe('the rvic irqchip descriptor and guest driver', () => {
  it('sets up the board and runs a controller-neutral IPI + MSI workload', () => {
    const hv = new Hypervisor().use(RvicPlugin);
    const vm = hv.createVm();
    vm.createVcpu();
    vm.createVcpu();
    const desc = hv.irqchip('rvic');
    expect(desc.features).toEqual(expect.arrayContaining(['ipi', 'msi', 'level', 'timer']));
    const drv = desc.setup(vm);
    expect(drv.deviceIrqs).toEqual({ first: 64, count: 96 });
    expect(drv.msiIrqs).toEqual({ first: 160, count: 96 });
    expect(drv.timerIntids).toEqual({ virt: 27, phys: 30 });
    const { got, msi, msiIntid } = neutralWorkload(vm, drv, 5);
    expect(msi).toEqual({ address: RVID_MSI_DOORBELL, data: msiIntid - 64 });
    expect(got.filter((x) => x === 1).length).toBe(5);
    expect(got.filter((x) => x === msiIntid).length).toBe(5);
    expect(vm.stats().completed).toBe(10);
  });

  it('probe checks VERSION and reads INFO', () => {
    const hv = new Hypervisor().use(RvicPlugin);
    const vm = hv.createVm();
    vm.createVcpu();
    hv.irqchip('rvic').setup(vm, { nrIrqs: 128, trusted: 32 });
    const out: number[] = [];
    const a = new GuestAsm();
    a.label('main');
    emitProbe(a, { fail: 'bad', rTrusted: 10, rUntrusted: 11 });
    a.call((cpu) => {
      out.push(cpu.x(10), cpu.x(11));
    });
    a.movi(0, 0x84000002).hvc(0);
    a.label('bad').call(() => {
      out.push(-1);
    });
    a.movi(0, 0x84000002).hvc(0);
    vm.vcpus[0].setProgram(a.build());
    vm.run();
    expect(out).toEqual([32, 96]);
  });

  it('device interrupts: emitEnable maps wired input k to interrupt first + k on the enabling vCPU', () => {
    const hv = new Hypervisor().use(RvicPlugin);
    const vm = hv.createVm();
    vm.createVcpu();
    const drv = hv.irqchip('rvic').setup(vm);
    const got: number[] = [];
    const a = new GuestAsm();
    a.label('main');
    drv.emitCpuInit(a);
    drv.emitEnable(a, drv.deviceIrqs.first + 3, { level: true });
    a.daifclr(DAIF.I).label('idle').wfi().b('idle');
    a.label('irq');
    drv.emitAck(a, 9);
    a.call((cpu) => {
      got.push(cpu.x(9));
      vm.irqLine((1 << 24) | 3, 0);
    });
    drv.emitEoi(a, 9, { level: true });
    a.eret();
    vm.vcpus[0].setProgram(a.build());
    vm.at(1e6, () => vm.irqLine((1 << 24) | 3, 1));
    vm.run({ until: 1e8 });
    expect(got).toEqual([67]);
    expect(vm.dump()).toContain('input 3 -> vcpu0 intid 67');
  });
});
