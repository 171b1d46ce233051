import { coreRegId, DAIF, GuestAsm, Hypervisor, KVM_REG_PC, KVM_REG_PSTATE, type Vcpu, type Vm } from '@irqflow/core';
import { gicV2Driver, gicV3Driver, restoreVgic, restoreVgicState, saveVgic, VgicPlugin, vgicDeviceOf } from '@irqflow/vgic';
import { spiLine } from './helpers';

const MIGRATE_MMIO = 0x0900_0000;

/** A guest that defers the EOI of one interrupt to its main loop, which exits to userspace before the EOI. */
function program(vm: Vm, log: number[], v2 = false) {
  const driver = v2 ? gicV2Driver(256) : gicV3Driver(256);
  const a = new GuestAsm();
  a.label('main');
  driver.emitCpuInit(a);
  driver.emitEnable(a, 40, { priority: 0x80 });
  driver.emitEnable(a, 41, { priority: 0xa0 });
  driver.emitEnable(a, 42, { priority: 0x90, level: true });
  if (v2) a.movi(0, 0xf0).stra(0, 0x08010004);
  else a.movi(0, 0xf0).msr('ICC_PMR_EL1', 0);
  a.movi(20, 0).daifclr(DAIF.I);
  a.label('loop').work(2000).cbz(20, 'loop');
  a.stra(0, MIGRATE_MMIO); // exit to userspace with the deferred interrupt still active
  if (v2) a.stra(20, 0x08010010);
  else a.msr('ICC_EOIR1_EL1', 20);
  a.movi(20, 0).b('loop');
  a.label('irq');
  if (v2) a.ldra(9, 0x0801000c);
  else a.mrs(9, 'ICC_IAR1_EL1');
  a.bhsi(9, 1020, 'out');
  a.call((v: Vcpu) => {
    log.push(v.x(9));
    if (v.x(9) === 42) vm.irqLine(spiLine(42), 0);
  });
  a.cbnz(20, 'now').mov(20, 9).b('out');
  a.label('now');
  if (v2) a.stra(9, 0x08010010);
  else a.msr('ICC_EOIR1_EL1', 9);
  a.label('out').eret();
  return a.build();
}

describe.each(['gic-v3', 'gic-v2'] as const)('%s save/restore round trip mid-run', (chip) => {
  const v2 = chip === 'gic-v2';
  it('a running VM saved through the attribute groups continues identically in a fresh VM', () => {
    const hv = new Hypervisor().use(VgicPlugin);
    const src = hv.createVm();
    src.createVcpu();
    src.createVcpu();
    hv.irqchip(chip).setup(src, { nrLrs: 2 });
    const srcLog: number[] = [];
    src.vcpus[0].setProgram(program(src, srcLog, v2));
    src.vcpus[1].setProgram(new GuestAsm().label('main').label('l').wfi().b('l').build());
    let exits = 0;
    const onExit = () => ++exits === 1;
    src.run({ until: 10_000, onExit });
    src.irqLine(spiLine(40), 1);
    src.irqLine(spiLine(40), 0);
    src.run({ until: 10_100, onExit });
    src.irqLine(spiLine(41), 1);
    src.irqLine(spiLine(41), 0);
    src.irqLine(spiLine(42), 1);
    const r = src.run({ until: 100_000, onExit });
    expect(r.reason).toBe('exit');
    expect(srcLog).toEqual([40]);

    // save: GIC through the device attributes, vCPU registers through ONE_REG
    const saved = saveVgic(src, vgicDeviceOf(src)!);
    const regs = src.vcpus.map((v) => [
      ...Array.from({ length: 31 }, (_, i) => v.getOneReg(coreRegId(i))),
      v.getOneReg(KVM_REG_PC),
      v.getOneReg(KVM_REG_PSTATE),
    ]);
    // the pending/active/line state is visible in the saved attributes
    const get = (attr: bigint) => saved.regs.find(([g, a]) => g === 1 && a === attr)![2];
    expect(get(0x204n) & (1n << 8n)).toBe(0n); // ISPENDR1: 40 is active, not pending
    expect(get(0x204n) & (1n << 9n)).toBe(1n << 9n); // 41 pending (latch)
    expect(saved.regs.find(([g, a]) => g === 1 && a === 0x304n)![2] & (1n << 8n)).toBe(1n << 8n); // ISACTIVER1 bit 40

    // restore into a fresh VM
    const dst = hv.createVm();
    dst.createVcpu();
    dst.createVcpu();
    const dev = dst.createDevice(v2 ? 5 : 7);
    restoreVgic(dev, saved);
    const dstLog: number[] = [];
    dst.vcpus[0].setProgram(program(dst, dstLog, v2));
    dst.vcpus[1].setProgram(new GuestAsm().label('main').label('l').wfi().b('l').build());
    dst.vcpus.forEach((v, k) => {
      regs[k].slice(0, 31).forEach((x, i) => v.setOneReg(coreRegId(i), x));
      v.setOneReg(KVM_REG_PC, regs[k][31]);
      v.setOneReg(KVM_REG_PSTATE, regs[k][32]);
    });

    // both continue: the deferred EOI, then 42 (level, higher priority) before 41, then a new 40
    for (const vm of [src, dst]) {
      const t = vm.now;
      vm.at(t + 50_000, () => {
        vm.irqLine(spiLine(40), 1);
        vm.irqLine(spiLine(40), 0);
      });
      vm.run({ until: t + 200_000, onExit: () => false });
    }
    expect(srcLog).toEqual([40, 42, 41, 40]);
    expect(dstLog).toEqual(srcLog.slice(1));
    expect(saveVgic(dst, dev).regs).toEqual(saveVgic(src, vgicDeviceOf(src)!).regs);
  });
});

describe.each(['gic-v3', 'gic-v2'] as const)('%s save/restore with vCPU ids that are not creation indexes', (chip) => {
  it('every register attribute names its vCPU by id (v2) or MPIDR (v3); the restore reads back identically', () => {
    const ids = [7, 4, 5];
    const hv = new Hypervisor().use(VgicPlugin);
    const src = hv.createVm();
    for (const id of ids) src.createVcpu(id);
    hv.irqchip(chip).setup(src);
    const dev = vgicDeviceOf(src)!;
    const v2 = chip === 'gic-v2';
    // per-vCPU state that differs between vCPUs: a banked PPI enable and the priority mask
    src.vcpus.forEach((v, i) => {
      const k = BigInt(v2 ? v.id : v.mpidr) << 32n;
      if (v2) {
        dev.setAttr({ group: 1, attr: k | 0x100n }, 1n << BigInt(16 + i));
        dev.setAttr({ group: 2, attr: k | 0x4n }, BigInt(8 + i));
      } else {
        dev.setAttr({ group: 5, attr: k | 0x10100n }, 1n << BigInt(16 + i));
        dev.setAttr({ group: 6, attr: k | 0xc230n }, BigInt((8 + i) << 3));
      }
    });
    const saved = saveVgic(src, dev);
    const dst = hv.createVm();
    for (const id of ids) dst.createVcpu(id);
    const dDev = dst.createDevice(v2 ? 5 : 7);
    restoreVgic(dDev, saved);
    expect(saveVgic(dst, dDev)).toEqual(saved);
    const k1 = BigInt(v2 ? 4 : dst.vcpus[1].mpidr) << 32n;
    expect(dDev.getAttr(v2 ? { group: 1, attr: k1 | 0x100n } : { group: 5, attr: k1 | 0x10100n }) & 0xffff0000n).toBe(1n << 17n);
  });
});

describe('saveVgic with LPIs (GICv3)', () => {
  it("saves each redistributor's GICR_PROPBASER and GICR_PENDBASER before its GICR_CTLR, and restores them", () => {
    const hv = new Hypervisor().use(VgicPlugin);
    const src = hv.createVm();
    src.createVcpu();
    src.createVcpu();
    const drv = hv.irqchip('gic-v3').setup(src, {});
    const a = new GuestAsm().label('main');
    drv.emitCpuInit(a);
    drv.emitMsiSetup!(a, { devid: 1, event: 0, intid: drv.msiIrqs!.first, target: 1 });
    a.label('l').wfi().b('l');
    src.vcpus[0].setProgram(a.build());
    src.vcpus[1].setProgram(new GuestAsm().label('main').label('l').wfi().b('l').build());
    src.run({ until: 200_000 });
    const saved = saveVgic(src, vgicDeviceOf(src)!);
    const rd = (i: number, off: number) =>
      saved.regs.findIndex(([g, at]) => g === 5 && at === ((BigInt(src.vcpus[i].mpidr) << 32n) | BigInt(off)));
    const value = (i: number, off: number) => saved.regs[rd(i, off)][2];
    for (const off of [0x70, 0x78, 0x0]) expect(rd(1, off)).toBeGreaterThanOrEqual(0);
    expect(rd(1, 0x70)).toBeLessThan(rd(1, 0x0));
    expect(rd(1, 0x78)).toBeLessThan(rd(1, 0x0));
    expect(value(1, 0x0) & 1n).toBe(1n); // EnableLPIs
    expect(value(1, 0x70)).not.toBe(0n);
    expect(value(1, 0x78)).not.toBe(0n);
    const dst = hv.createVm();
    dst.createVcpu();
    dst.createVcpu();
    hv.irqchip('gic-v3').setup(dst, {});
    restoreVgicState(vgicDeviceOf(dst)!, saved);
    expect(saveVgic(dst, vgicDeviceOf(dst)!).regs).toEqual(saved.regs);
  });
});
