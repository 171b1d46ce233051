import { GuestAsm, Hypervisor, type GuestIrqDriver, type Vm } from '@irqflow/core';
import {
  enableGicV4,
  GIC_BOARD,
  gicV4Of,
  restoreVgic,
  saveVgic,
  VGIC_GRP,
  VgicPlugin,
  vgicDeviceOf,
  type GicV4,
  type VgicDevice,
} from '@irqflow/vgic';
import { exits, guest } from './support';

/** GICv4.1 vSGI state through the redistributor's SGI registers (KVM's vgic-mmio.c on `irq->hw` SGIs). */

const RD1_SGI = GIC_BOARD.REDIST + 0x20000 + 0x10000; // vCPU 1's SGI_base
const ISENABLER0 = 0x100;
const ICENABLER0 = 0x180;
const ISPENDR0 = 0x200;
const ICPENDR0 = 0x280;
const ISACTIVER0 = 0x300;
const IPRIORITYR0 = 0x400;

type Step = (a: GuestAsm, drv: GuestIrqDriver) => void;

interface SgiVm {
  vm: Vm;
  dev: VgicDevice;
  v4: GicV4;
  logs: number[][];
  /** REDIST_REGS attribute of vCPU 1's SGI_base register `off`. */
  rd1: (off: number) => { group: number; attr: bigint };
  /** vCPU 1's exits since vCPU 0 reached step `k`. */
  exitsSince: (k: number) => number;
}

/**
 * "gic-v4.1" VM (its guest driver sets nASSGIreq) with 2 vCPUs. vCPU 1 logs its interrupts, busy (resident) or
 * in WFI; SGI 3 is disabled on it (before it runs) unless `enabled`. vCPU 0 runs `steps`, each after 50 µs of work
 * (step k at about (k + 1) × 50 µs).
 */
function sgiVm(opts: { busy: boolean; enabled?: boolean; steps: Step[] }): SgiVm {
  const hv = new Hypervisor().use(VgicPlugin);
  const vm = hv.createVm();
  vm.createVcpu();
  vm.createVcpu();
  const drv = hv.irqchip('gic-v4.1').setup(vm, { msi: false });
  const dev = vgicDeviceOf(vm)!;
  const logs: number[][] = [[], []];
  const at: number[] = [];
  const sender = guest(drv, logs[0], {
    busy: true,
    before: (a) =>
      opts.steps.forEach((s, k) => {
        a.work(150_000);
        a.call(() => void (at[k] = exits(vm.vcpus[1])));
        s(a, drv);
      }),
  });
  vm.vcpus[0].setProgram(sender.build());
  vm.vcpus[1].setProgram(guest(drv, logs[1], { busy: opts.busy, enable: opts.enabled ? [3] : [] }).build());
  const key = BigInt(vm.vcpus[1].mpidr) << 32n;
  const rd1 = (off: number) => ({ group: VGIC_GRP.REDIST_REGS, attr: key | BigInt(0x10000 + off) });
  if (!opts.enabled) dev.setAttr(rd1(ICENABLER0), 1n << 3n);
  return { vm, dev, v4: gicV4Of(vm)!, logs, rd1, exitsSince: (k) => exits(vm.vcpus[1]) - at[k] };
}

/** vCPU 0 sends SGI 3 to vCPU 1. */
const sendSgi3: Step = (a, drv) => {
  a.movi(5, 1);
  drv.emitSendIpi!(a, 5, 3);
};
/** vCPU 0 stores `value` to vCPU 1's SGI_base register `off`. */
const store =
  (off: number, value: number): Step =>
  (a) =>
    void a.movi(0, value).stra(0, RD1_SGI + off);

describe('GICv4.1 vSGIs: the redistributor SGI registers act on the vPE', () => {
  it('enabling a pending vSGI (guest GICR_ISENABLER0 write) while its target waits in WFI rings the doorbell', () => {
    const t = sgiVm({ busy: false, steps: [sendSgi3, store(ISENABLER0, 1 << 3)] });
    t.vm.run({ until: 80_000 }); // the SGI is sent, SGI 3 still disabled
    expect(t.v4.vpes[1].sgiPending).toBe(1 << 3);
    expect(t.v4.vpes[1].stats.doorbells).toBe(0);
    t.vm.run({ until: 200_000 });
    expect(t.logs[1]).toEqual([3]);
    expect(t.v4.vpes[1].stats.doorbells).toBe(1);
  });

  it('enabling it through userspace (REDIST_REGS ISENABLER0) wakes the blocked target the same way', () => {
    const t = sgiVm({ busy: false, steps: [sendSgi3] });
    t.vm.run({ until: 80_000 });
    expect(t.v4.vpes[1].sgiPending).toBe(1 << 3);
    t.dev.setAttr(t.rd1(ISENABLER0), 1n << 3n);
    t.vm.run({ until: 200_000 });
    expect(t.logs[1]).toEqual([3]);
    expect(t.v4.vpes[1].stats.doorbells).toBe(1);
  });

  it('a priority change is seen at once by a resident vPE: a vSGI masked by PMR is taken with no exit', () => {
    // SGI 3 at 0xf8 is below the guest's PMR (0xf0): pending but masked until vCPU 0 raises its priority.
    const t = sgiVm({ busy: true, enabled: true, steps: [store(IPRIORITYR0, 0xf8 << 24), sendSgi3, store(IPRIORITYR0, 0x80 << 24)] });
    t.vm.run({ until: 130_000 });
    expect(t.logs[1]).toEqual([]);
    expect(t.v4.vpes[1].sgiPending).toBe(1 << 3);
    expect(t.v4.vpes[1].resident).toBe(true);
    t.vm.run({ until: 250_000 });
    expect(t.logs[1]).toEqual([3]);
    expect(t.exitsSince(2)).toBe(0);
  });

  it('GICR_ISPENDR0 / ICPENDR0 read and write the vPE pending bits; ISACTIVER0 cannot activate a vSGI', () => {
    const t = sgiVm({ busy: true, steps: [store(ICPENDR0, 1 << 5)] });
    t.dev.setAttr(t.rd1(ICENABLER0), 1n << 5n);
    t.vm.run({ until: 20_000 }); // vCPU 1 initialised, nASSGIreq set, nothing sent yet
    expect(t.v4.nassgireq).toBe(true);
    t.dev.setAttr(t.rd1(ISPENDR0), (1n << 5n) | (1n << 3n)); // userspace (restore) sets them pending
    expect(t.v4.vpes[1].sgiPending).toBe((1 << 5) | (1 << 3));
    expect(t.dev.getAttr(t.rd1(ISPENDR0)) & 0xffffn).toBe((1n << 5n) | (1n << 3n));
    t.dev.setAttr(t.rd1(ISACTIVER0), 1n << 5n);
    expect(t.dev.getAttr(t.rd1(ISACTIVER0)) & 0xffffn).toBe(0n); // no active state
    t.vm.run({ until: 80_000 }); // vCPU 0's guest ICPENDR0 write clears SGI 5 in the vPE
    expect(t.v4.vpes[1].sgiPending).toBe(1 << 3);
    expect(t.dev.getAttr(t.rd1(ISPENDR0)) & 0xffffn).toBe(1n << 3n);
    t.dev.setAttr(t.rd1(ISENABLER0), (1n << 5n) | (1n << 3n));
    t.vm.run({ until: 120_000 });
    expect(t.logs[1]).toEqual([3]); // SGI 5 was cleared, SGI 3 delivered once
    expect(t.v4.vpes[1].sgiPending).toBe(0);
  });

  it('a pending vSGI survives save/restore into a fresh gic-v4.1 VM and is delivered exactly once', () => {
    const src = sgiVm({ busy: false, steps: [sendSgi3] });
    src.vm.run({ until: 80_000 });
    expect(src.v4.vpes[1].sgiPending).toBe(1 << 3);
    const saved = saveVgic(src.vm, src.dev);
    // the vSGI is visible in the saved GICR_ISPENDR0 of vCPU 1
    const attr = src.rd1(ISPENDR0).attr;
    expect(saved.regs.find(([g, a]) => g === VGIC_GRP.REDIST_REGS && a === attr)![2] & (1n << 3n)).toBe(1n << 3n);

    const hv = new Hypervisor().use(VgicPlugin);
    const dst = hv.createVm();
    dst.createVcpu();
    dst.createVcpu();
    const v4 = enableGicV4(dst, '4.1');
    const dev = dst.createDevice(7) as VgicDevice;
    restoreVgic(dev, saved);
    expect(v4.nassgireq).toBe(true);
    expect(v4.vpes[1].sgiPending).toBe(1 << 3);
    // the restored guest: the CPU interface state came with the attributes; vCPU 1 enables SGI 3 and waits
    const log: number[] = [];
    const a = new GuestAsm().label('main');
    a.movi(0, 1 << 3).stra(0, RD1_SGI + ISENABLER0);
    a.daifclr(2).label('loop').wfi().b('loop');
    a.label('irq').mrs(9, 'ICC_IAR1_EL1').beqi(9, 1023, 'out');
    a.call((v) => void log.push(v.x(9)));
    a.msr('ICC_EOIR1_EL1', 9).label('out').eret();
    dst.vcpus[1].setProgram(a.build());
    dst.vcpus[0].setProgram(new GuestAsm().label('main').label('l').wfi().b('l').build());
    dst.run({ until: 50_000 });
    expect(log).toEqual([3]);
    expect(v4.vpes[1].sgiPending).toBe(0);
  });
});

describe('GICD_TYPER2.nASSGIcap across migration', () => {
  const TYPER2 = { group: VGIC_GRP.DIST_REGS, attr: 0xcn };
  const v3Vm = (version: '4' | '4.1', cap?: bigint) => {
    const hv = new Hypervisor().use(VgicPlugin);
    const vm = hv.createVm();
    vm.createVcpu();
    enableGicV4(vm, version);
    const dev = vm.createDevice(7) as VgicDevice;
    dev.setAttr({ group: VGIC_GRP.ADDR, attr: 2n }, 0x08000000n);
    dev.setAttr({ group: VGIC_GRP.ADDR, attr: 3n }, 0x080a0000n);
    if (cap !== undefined) dev.setAttr(TYPER2, cap);
    dev.setAttr({ group: VGIC_GRP.CTRL, attr: 0n }, 0n);
    return { vm, dev };
  };

  it('a 4.1 source running without vSGIs restores without them on a 4.1 destination', () => {
    const src = v3Vm('4.1', 0n); // the VMM turned vSGIs off
    expect(src.dev.getAttr(TYPER2) & 0x100n).toBe(0n);
    const saved = saveVgic(src.vm, src.dev);
    const hv = new Hypervisor().use(VgicPlugin);
    const dst = hv.createVm();
    dst.createVcpu();
    enableGicV4(dst, '4.1'); // destination host defaults to nASSGIcap = 1
    const dev = dst.createDevice(7) as VgicDevice;
    restoreVgic(dev, saved);
    expect(dev.getAttr(TYPER2) & 0x100n).toBe(0n);
  });

  it('a source with vSGIs cannot be restored on a host without GICv4.1 (EINVAL)', () => {
    const src = v3Vm('4.1');
    const saved = saveVgic(src.vm, src.dev);
    const hv = new Hypervisor().use(VgicPlugin);
    const dst = hv.createVm();
    dst.createVcpu();
    enableGicV4(dst, '4');
    expect(() => restoreVgic(dst.createDevice(7), saved)).toThrow(/EINVAL/);
  });
});
