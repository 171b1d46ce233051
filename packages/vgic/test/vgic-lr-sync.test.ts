/**
 * The list registers the fold leaves in place (vgic-lr-sync.ts, VgicCpuIf.keptLrs): an LR the guest did not touch
 * stays loaded across an exit, and the next flush rewrites it only where what goes there differs. Whatever happens
 * between that exit and the next entry must see, and produce, exactly what a fold that cleared every LR would:
 * a userspace priority change, disable or re-route of an interrupt held in such an LR, register reads, and a
 * migration through the attribute groups saved in between.
 */
import { DAIF, GuestAsm, type GuestIrqDriver, type Vcpu, type Vm } from '@irqflow/core';
import { restoreVgicState, saveVgic, VGIC_GRP, vgicDeviceOf } from '@irqflow/vgic';
import { gicVm, loggingGuest, spiLine } from './helpers';

/** An address with nothing behind it: a guest load from it exits to userspace. */
const PAUSE_MMIO = 0x7f00_0000;
const SPIS = [32, 33, 34];

/**
 * vCPU 0 enables SPIs 32..34, then with interrupts masked exits to userspace twice: userspace raises the SPIs at
 * the first exit, so the entry after it loads them into LRs 0..2 and the second exit folds them untouched. Then it
 * unmasks and takes them (logging each). vCPU 1 (if any) logs what it takes.
 */
function setup(chip: 'gic-v3' | 'gic-v2', vcpus = 1): { vm: Vm; drv: GuestIrqDriver; log: number[]; log1: number[] } {
  const { vm, drv } = gicVm(chip, vcpus);
  const log: number[] = [];
  const log1: number[] = [];
  vm.vcpus[0].setProgram(build(drv, log));
  if (vcpus > 1) vm.vcpus[1].setProgram(loggingGuest(drv, [], log1).build());
  return { vm, drv, log, log1 };
}

function build(drv: GuestIrqDriver, log: number[]) {
  const a = new GuestAsm();
  a.label('main');
  drv.emitCpuInit(a);
  for (const id of SPIS) drv.emitEnable(a, id);
  a.ldra(10, PAUSE_MMIO).ldra(10, PAUSE_MMIO);
  a.daifclr(DAIF.I).label('loop').wfi().b('loop');
  a.label('irq');
  drv.emitAck(a, 9);
  a.beqi(9, drv.spurious, 'out');
  a.call((v: Vcpu) => void log.push(v.x(9)));
  drv.emitEoi(a, 9);
  a.label('out').eret();
  return a.build();
}

/** Runs up to the second exit, with SPIs 32..34 held untouched in LRs 0..2 across it. */
function toKeptExit(vm: Vm): void {
  expect(vm.run().reason).toBe('exit');
  for (const id of SPIS) {
    vm.irqLine(spiLine(id), 1);
    vm.irqLine(spiLine(id), 0);
  }
  expect(vm.run().reason).toBe('exit');
  // the case under test: the fold left all three LRs loaded
  expect(vgicDeviceOf(vm)!.vgic.cpus[0].cpuif.keptLrs).toBe(0b111);
}

const dist = (vm: Vm, off: number) => ({ group: VGIC_GRP.DIST_REGS, attr: BigInt(off) });
const getDist = (vm: Vm, off: number): number => Number(vgicDeviceOf(vm)!.getAttr(dist(vm, off)));
const setDist = (vm: Vm, off: number, v: number): void => vgicDeviceOf(vm)!.setAttr(dist(vm, off), BigInt(v >>> 0));

describe.each(['gic-v3', 'gic-v2'] as const)('%s: LRs the guest left untouched across an exit', (chip) => {
  it('are taken in list order at the next entry, as after a fold that cleared them', () => {
    const { vm, log } = setup(chip);
    toKeptExit(vm);
    expect(vm.run().reason).toBe('idle');
    expect(log).toEqual([32, 33, 34]);
  });

  it('read back pending and not active through KVM_DEV_ARM_VGIC_GRP_DIST_REGS between the exit and the entry', () => {
    const { vm } = setup(chip);
    toKeptExit(vm);
    expect(getDist(vm, 0x204) & 0b111).toBe(0b111); // GICD_ISPENDR1: 32..34
    expect(getDist(vm, 0x304) & 0b111).toBe(0); // GICD_ISACTIVER1
  });

  it('carry a priority userspace changed in between (the kept LR is rewritten with it)', () => {
    const { vm, log } = setup(chip);
    toKeptExit(vm);
    const p = getDist(vm, 0x420); // GICD_IPRIORITYR8: bytes 32..35
    setDist(vm, 0x420, (p & ~(0xff << 16)) | (0x80 << 16)); // 34 above 32 and 33
    expect(vm.run().reason).toBe('idle');
    expect(log).toEqual([34, 32, 33]);
  });

  it('drop an interrupt userspace disabled in between; the next one moves up an LR', () => {
    const { vm, log } = setup(chip);
    toKeptExit(vm);
    setDist(vm, 0x184, 1 << 1); // GICD_ICENABLER1: 33
    expect(vm.run().reason).toBe('idle');
    expect(log).toEqual([32, 34]);
    expect(getDist(vm, 0x204) & 0b111).toBe(0b010); // 33 still pending, not delivered
    setDist(vm, 0x104, 1 << 1); // GICD_ISENABLER1
    expect(vm.run().reason).toBe('idle');
    expect(log).toEqual([32, 34, 33]);
  });

  it('stay out of the guest while userspace disables the distributor in between, and come back in list order', () => {
    const { vm, log } = setup(chip);
    toKeptExit(vm);
    const ctlr = getDist(vm, 0x0); // GICD_CTLR
    setDist(vm, 0x0, 0); // both groups disabled: nothing is forwarded to the CPU interfaces
    expect(vm.run().reason).toBe('idle');
    expect(log).toEqual([]);
    expect(getDist(vm, 0x204) & 0b111).toBe(0b111); // still pending
    setDist(vm, 0x0, ctlr);
    expect(vm.run().reason).toBe('idle');
    expect(log).toEqual([32, 33, 34]);
  });

  it('give up an interrupt userspace routed to another vCPU in between', () => {
    const { vm, log, log1 } = setup(chip, 2);
    toKeptExit(vm);
    if (chip === 'gic-v3')
      setDist(vm, 0x6000 + 8 * 33, 1); // GICD_IROUTER33: Aff0 = 1
    else {
      const t = getDist(vm, 0x820); // GICD_ITARGETSR8: bytes 32..35
      setDist(vm, 0x820, (t & ~(0xff << 8)) | (0x02 << 8));
    }
    expect(vm.run().reason).toBe('idle');
    expect(log).toEqual([32, 34]);
    expect(log1).toEqual([33]);
  });

  it('migrate through the attribute groups as folded state (pending, in list order on the destination)', () => {
    const src = setup(chip);
    toKeptExit(src.vm);
    const saved = saveVgic(src.vm, vgicDeviceOf(src.vm)!);
    // the destination stands at the same point of the same program, with nothing pending and no LR loaded
    const dst = setup(chip);
    expect(dst.vm.run().reason).toBe('exit');
    expect(dst.vm.run().reason).toBe('exit');
    restoreVgicState(vgicDeviceOf(dst.vm)!, saved, dst.vm);
    expect(getDist(dst.vm, 0x204) & 0b111).toBe(0b111);
    expect(src.vm.run().reason).toBe('idle');
    expect(dst.vm.run().reason).toBe('idle');
    expect(src.log).toEqual([32, 33, 34]);
    expect(dst.log).toEqual([32, 33, 34]);
  });
});

describe.each(['gic-v3', 'gic-v2'] as const)('%s: an active interrupt routed away while its vCPU is out of the guest', (chip) => {
  /** vCPU 0 takes SPI 32 and exits to userspace before its EOI; `reroute`: userspace then routes 32 to vCPU 1. */
  function scenario(reroute: boolean) {
    const { vm, drv } = gicVm(chip, 2);
    const log: number[] = [];
    const log1: number[] = [];
    const a = new GuestAsm();
    a.label('main');
    drv.emitCpuInit(a);
    drv.emitEnable(a, 32);
    a.daifclr(DAIF.I).label('loop').wfi().b('loop');
    a.label('irq');
    drv.emitAck(a, 9);
    a.beqi(9, drv.spurious, 'out');
    a.call((v: Vcpu) => void log.push(v.x(9)));
    a.ldra(10, PAUSE_MMIO); // to userspace with the interrupt active in its LR
    drv.emitEoi(a, 9);
    a.label('out').eret();
    vm.vcpus[0].setProgram(a.build());
    vm.vcpus[1].setProgram(loggingGuest(drv, [], log1).build());
    expect(vm.run().reason).toBe('idle');
    vm.irqLine(spiLine(32), 1);
    vm.irqLine(spiLine(32), 0);
    expect(vm.run().reason).toBe('exit');
    expect(getDist(vm, 0x304) & 1).toBe(1); // GICD_ISACTIVER1: 32 active
    if (reroute) {
      if (chip === 'gic-v3')
        setDist(vm, 0x6000 + 8 * 32, 1); // GICD_IROUTER32: Aff0 = 1
      else setDist(vm, 0x820, (getDist(vm, 0x820) & ~0xff) | 0x02); // GICD_ITARGETSR8 byte 0: CPU 1
    }
    const exits = (): number => vm.vcpus[0].stats.exits.reduce((x, y) => x + y, 0);
    const e0 = exits();
    expect(vm.run().reason).toBe('idle');
    const eoiExits = exits() - e0;
    expect(getDist(vm, 0x304) & 1).toBe(0);
    vm.irqLine(spiLine(32), 1);
    vm.irqLine(spiLine(32), 0);
    // (without the re-route vCPU 0 takes it and exits to userspace again)
    for (let k = 0; k < 3 && vm.run().reason === 'exit'; k++);
    return { log, log1, eoiExits };
  }

  it('goes back into its LR on the vCPU that holds it active: the guest deactivates it there (no more exits than without the re-route), the next edge goes to the new target', () => {
    const control = scenario(false);
    const r = scenario(true);
    expect(r.log).toEqual([32]);
    expect(r.log1).toEqual([32]);
    expect(control.log).toEqual([32, 32]);
    // an LR missing at the entry would make the EOI a maintenance exit (EOIcount with LRENPIE)
    expect(r.eoiExits).toBe(control.eoiExits);
  });
});
