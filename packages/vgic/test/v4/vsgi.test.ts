import { type GuestAsm, Hypervisor, type Vm } from '@irqflow/core';
import { enableGicV4, gicV4Of, VGIC_GRP, VgicPlugin, vgicDeviceOf, type GicV4Version, type VgicDevice } from '@irqflow/vgic';
import { exits, guest } from './support';

const TYPER2 = { group: VGIC_GRP.DIST_REGS, attr: 0x0cn };
const CTLR = { group: VGIC_GRP.DIST_REGS, attr: 0x00n };

/** A VM whose vGICv3 is created but not initialised (QEMU's order: attributes, then CTRL_INIT). */
function uninitialised(version: GicV4Version | null): { vm: Vm; dev: VgicDevice } {
  const hv = new Hypervisor().use(VgicPlugin);
  const vm = hv.createVm();
  vm.createVcpu();
  if (version) enableGicV4(vm, version);
  const dev = vm.createDevice(7) as VgicDevice;
  dev.setAttr({ group: VGIC_GRP.ADDR, attr: 0n + 2n }, 0x08000000n); // V3_DIST
  dev.setAttr({ group: VGIC_GRP.ADDR, attr: 5n }, (1n << 52n) | 0x080a0000n); // V3_REDIST_REGION
  return { vm, dev };
}
const init = (dev: VgicDevice) => dev.setAttr({ group: VGIC_GRP.CTRL, attr: 0n });

describe('GICv4.1 vSGIs: GICD_TYPER2.nASSGIcap and GICD_CTLR.nASSGIreq', () => {
  it('nASSGIcap defaults to the host capability and is writable before INIT only where the host is GICv4.1', () => {
    const a = uninitialised('4.1');
    expect(a.dev.getAttr(TYPER2)).toBe(0x100n);
    a.dev.setAttr(TYPER2, 0n);
    expect(a.dev.getAttr(TYPER2)).toBe(0n);
    a.dev.setAttr(TYPER2, 0x100n);
    expect(a.dev.getAttr(TYPER2)).toBe(0x100n);
    expect(() => a.dev.setAttr(TYPER2, 0x101n)).toThrow(/EINVAL/); // only nASSGIcap is writable
    expect(a.dev.getAttr(TYPER2)).toBe(0x100n);
    for (const v of ['4', null] as const) {
      const b = uninitialised(v);
      expect(b.dev.getAttr(TYPER2)).toBe(0n);
      expect(() => b.dev.setAttr(TYPER2, 0x100n)).toThrow(/EINVAL/);
      b.dev.setAttr(TYPER2, 0n); // writing the value it has is fine
    }
  });

  it('nASSGIcap is frozen once the vGIC is initialised (EBUSY); rewriting the same value is accepted', () => {
    const a = uninitialised('4.1');
    a.dev.setAttr(TYPER2, 0n);
    init(a.dev);
    expect(() => a.dev.setAttr(TYPER2, 0x100n)).toThrow(/EBUSY/);
    a.dev.setAttr(TYPER2, 0n);
    expect(a.dev.getAttr(TYPER2)).toBe(0n);
    // KVM checks "initialised" before the read-only bits: any change after INIT is EBUSY
    expect(() => a.dev.setAttr(TYPER2, 0x1n)).toThrow(/EBUSY/);
    expect(() => uninitialised('4.1').dev.setAttr(TYPER2, 0x1n)).toThrow(/EINVAL/);
  });

  it('changing nASSGIcap after CTRL_INIT is EBUSY on any host: the initialised check comes before the capability check', () => {
    for (const v of ['4', null] as const) {
      const b = uninitialised(v);
      init(b.dev);
      expect(() => b.dev.setAttr(TYPER2, 0x100n)).toThrow(/EBUSY/);
      b.dev.setAttr(TYPER2, 0n); // the value it has: accepted
      expect(b.dev.getAttr(TYPER2)).toBe(0n);
    }
  });

  it('GICD_CTLR.nASSGIreq is writable only with nASSGIcap, and only while the distributor is not staying enabled', () => {
    const a = uninitialised('4.1');
    init(a.dev);
    a.dev.setAttr(CTLR, 0x100n);
    expect(a.dev.getAttr(CTLR) & 0x100n).toBe(0x100n);
    a.dev.setAttr(CTLR, 0x102n); // enable group 1, keep nASSGIreq
    a.dev.setAttr(CTLR, 0x002n); // stays enabled: nASSGIreq is read-only
    expect(a.dev.getAttr(CTLR) & 0x100n).toBe(0x100n);
    a.dev.setAttr(CTLR, 0x000n); // disabled by this write: takes effect
    expect(a.dev.getAttr(CTLR) & 0x100n).toBe(0n);
    const b = uninitialised('4.1');
    b.dev.setAttr(TYPER2, 0n);
    init(b.dev);
    b.dev.setAttr(CTLR, 0x100n);
    expect(b.dev.getAttr(CTLR) & 0x100n).toBe(0n);
    const c = uninitialised('4');
    init(c.dev);
    c.dev.setAttr(CTLR, 0x100n);
    expect(c.dev.getAttr(CTLR) & 0x100n).toBe(0n);
  });

  /**
   * vCPU 0 sends SGI 3 to vCPU 1 four times; vCPU 1 busy (resident) or in WFI. With `nassgireq` the "gic-v4.1"
   * irqchip's guest driver enables vSGIs (as Linux's gic_dist_init); otherwise a Linux without that support
   * runs on the same GICv4.1 host ("gic-v3" board).
   */
  function sgiVm(nassgireq: boolean, busy: boolean, enable = [3]) {
    const hv = new Hypervisor().use(VgicPlugin);
    const vm = hv.createVm();
    vm.createVcpu();
    vm.createVcpu();
    if (!nassgireq) enableGicV4(vm, '4.1');
    const drv = hv.irqchip(nassgireq ? 'gic-v4.1' : 'gic-v3').setup(vm, { msi: false });
    const dev = vgicDeviceOf(vm)!;
    const logs: number[][] = [[], []];
    let receiverExitsAtFirstSgi = -1;
    const sender = guest(drv, logs[0], {
      busy: true,
      before: (a: GuestAsm) => {
        for (let k = 0; k < 4; k++) {
          a.work(30_000); // 10 µs: the receiver's own init (which traps) is long over
          if (k === 0) a.call(() => void (receiverExitsAtFirstSgi = exits(vm.vcpus[1])));
          a.movi(5, 1);
          drv.emitSendIpi!(a, 5, 3);
        }
      },
    });
    vm.vcpus[0].setProgram(sender.build());
    vm.vcpus[1].setProgram(guest(drv, logs[1], { busy, enable }).build());
    return { vm, logs, v4: gicV4Of(vm), dev, exitsSince: () => exits(vm.vcpus[1]) - receiverExitsAtFirstSgi };
  }

  it('with nASSGIreq a vSGI to a resident vCPU: no kick, no list register, no exit on the receiving side', () => {
    const { vm, logs, v4, dev, exitsSince } = sgiVm(true, true);
    vm.run({ until: 60_000 });
    expect(dev.getAttr(CTLR) & 0x102n).toBe(0x102n); // the guest enabled vSGIs
    expect(logs[1]).toEqual([3, 3, 3, 3]);
    const r = vm.vcpus[1];
    expect(exitsSince()).toBe(0);
    expect(r.stats.kicks).toBe(0); // nobody kicked the receiver
    expect(v4!.vpes[1].stats.vsgis).toBe(4);
    expect(v4!.vpes[1].stats.direct).toBe(4);
    expect(v4!.vpes[1].sgiInService).toBe(0); // every EOI was recognised as a vSGI's
    expect(r.stats.completed).toBe(0); // nASSGI: no active state, nothing deactivated
    expect(r.stats.acked).toBe(4);
    expect(vm.vcpus[0].stats.exits.reduce((s, x) => s + x, 0)).toBeGreaterThanOrEqual(4); // the sender still traps
  });

  it('the same IPIs without nASSGIreq go through the list registers and exit the receiver', () => {
    const { vm, logs, dev, exitsSince } = sgiVm(false, true);
    vm.run({ until: 60_000 });
    expect(dev.getAttr(CTLR) & 0x100n).toBe(0n);
    expect(logs[1]).toEqual([3, 3, 3, 3]);
    expect(exitsSince()).toBeGreaterThanOrEqual(4);
  });

  it('a vSGI to a vCPU blocked in WFI rings its doorbell', () => {
    const { vm, logs, v4 } = sgiVm(true, false);
    vm.run({ until: 60_000 });
    expect(logs[1]).toEqual([3, 3, 3, 3]);
    expect(v4!.vpes[1].stats.doorbells).toBe(4);
  });

  it('a disabled SGI stays pending in the vPE until enabled', () => {
    const { vm, logs, v4, dev } = sgiVm(true, true, []);
    const k = BigInt(vm.vcpus[1].mpidr) << 32n;
    dev.setAttr({ group: VGIC_GRP.REDIST_REGS, attr: k | 0x10180n }, 1n << 3n); // GICR_ICENABLER0: SGI 3 off
    vm.run({ until: 60_000 });
    expect(logs[1]).toEqual([]);
    expect(v4!.vpes[1].sgiPending).toBe(1 << 3);
    dev.setAttr({ group: VGIC_GRP.REDIST_REGS, attr: k | 0x10100n }, 1n << 3n); // GICR_ISENABLER0
    vm.run({ until: 80_000 });
    expect(logs[1]).toEqual([3]); // SGIs are edge: the four coalesced into one
  });

  it('clearing nASSGIreq hands pending vSGIs back to the software path; setting it takes pending SGIs over', () => {
    const { vm, logs, v4, dev } = sgiVm(true, true, []);
    const k = BigInt(vm.vcpus[1].mpidr) << 32n;
    dev.setAttr({ group: VGIC_GRP.REDIST_REGS, attr: k | 0x10180n }, 1n << 3n); // SGI 3 disabled on vCPU 1
    vm.run({ until: 60_000 });
    expect(v4!.vpes[1].sgiPending).toBe(1 << 3);
    dev.setAttr(CTLR, 0n); // distributor off and nASSGIreq cleared
    expect(v4!.nassgireq).toBe(false);
    expect(v4!.vpes[1].sgiPending).toBe(0);
    expect(dev.getAttr({ group: VGIC_GRP.REDIST_REGS, attr: k | 0x10200n }) & (1n << 3n)).toBe(1n << 3n); // GICR_ISPENDR0
    dev.setAttr(CTLR, 0x100n); // vSGIs again: the pending SGI moves into the vPE
    expect(v4!.vpes[1].sgiPending).toBe(1 << 3);
    expect(dev.getAttr({ group: VGIC_GRP.REDIST_REGS, attr: k | 0x10200n }) & (1n << 3n)).toBe(1n << 3n); // read from the vPE
    dev.setAttr(CTLR, 0x102n);
    dev.setAttr({ group: VGIC_GRP.REDIST_REGS, attr: k | 0x10100n }, 1n << 3n);
    vm.run({ until: 80_000 });
    expect(logs[1]).toEqual([3]);
  });
});
