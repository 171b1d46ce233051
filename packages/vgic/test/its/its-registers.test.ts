/** GITS_* registers through guest MMIO (Arm IHI 0069 12.19) and the device attributes (arm-vgic-its.rst). */
import { Errno, GuestAsm, Hypervisor, type KvmDevice } from '@irqflow/core';
import { GITS, GITS_TYPER_VALUE, ITS_GRP, itsDeviceType, KVM_VGIC_ITS_ADDR_TYPE, VGIC_ADDR_UNDEF, type ItsKvmDevice } from '../../src/its';
import { FakeLpiHost } from './support/fake-lpi-host';
import { baser, CMDQ_BASE, CT_BASE, DT_BASE, ITS_BASE, makeItsVm, msi } from './support/its-harness';
import { errno } from './support/errno';

const ADDR = (v: bigint | number) => [{ group: ITS_GRP.ADDR, attr: BigInt(KVM_VGIC_ITS_ADDR_TYPE) }, BigInt(v)] as const;
const REG = (off: number) => ({ group: ITS_GRP.ITS_REGS, attr: BigInt(off) });

describe('GITS registers (guest view)', () => {
  it('IIDR, TYPER and the ID registers have KVM values', () => {
    const { g } = makeItsVm();
    expect(g.read(GITS.IIDR, 4)).toBe(BigInt((0x4b << 24) | 0x43b));
    expect(g.read(GITS.TYPER)).toBe(GITS_TYPER_VALUE);
    expect(GITS_TYPER_VALUE & 1n).toBe(1n); // PLPIS
    expect(Number((GITS_TYPER_VALUE >> 4n) & 0xfn)).toBe(7); // 8-byte ITEs
    expect(Number((GITS_TYPER_VALUE >> 8n) & 0x1fn)).toBe(15); // IDbits 16
    expect(Number((GITS_TYPER_VALUE >> 13n) & 0x1fn)).toBe(15); // Devbits 16
    expect(Number((GITS_TYPER_VALUE >> 19n) & 1n)).toBe(0); // PTA
    expect(g.read(0xffe8, 4)).toBe(0x3bn);
    expect(g.read(GITS.TYPER + 4, 4)).toBe(GITS_TYPER_VALUE >> 32n);
  });

  it('GITS_CTLR.Enable is refused until both BASERs and CBASER are valid; Quiescent follows CREADR == CWRITER', () => {
    const { g } = makeItsVm();
    expect(g.read(GITS.CTLR, 4)).toBe(0x80000000n);
    g.write(GITS.CTLR, 1, 4);
    expect(g.read(GITS.CTLR, 4) & 1n).toBe(0n);
    g.setup({ enable: false });
    g.write(GITS.BASER + 8, 0n); // collection table invalid
    g.write(GITS.CTLR, 1, 4);
    expect(g.read(GITS.CTLR, 4) & 1n).toBe(0n);
    g.write(GITS.BASER + 8, baser(CT_BASE));
    g.write(GITS.CTLR, 1, 4);
    expect(g.read(GITS.CTLR, 4)).toBe(0x80000001n);
  });

  it('commands queued while disabled run when the ITS is enabled', () => {
    const { vm, host, g } = makeItsVm();
    g.setup({ enable: false });
    g.prop(8192, 0x80, true);
    g.mapd(0, 4);
    g.mapc(0, 0);
    g.mapti(0, 0, 8192, 0);
    expect(g.read(GITS.CTLR, 4)).toBe(0n); // not quiescent: 3 commands waiting
    expect(g.read(GITS.CREADR)).toBe(0n);
    g.write(GITS.CTLR, 1, 4);
    expect(g.read(GITS.CREADR)).toBe(96n);
    expect(msi(vm, 0, 0)).toBe(1);
    expect(host.pendingOn(0)).toEqual([8192]);
  });

  it('CBASER: ignored while enabled; a write resets CREADR and CWRITER', () => {
    const { g } = makeItsVm();
    g.setup();
    g.sync(0);
    const cb = g.read(GITS.CBASER);
    g.write(GITS.CBASER, (1n << 63n) | BigInt(CMDQ_BASE + 0x10000));
    expect(g.read(GITS.CBASER)).toBe(cb);
    expect(g.read(GITS.CREADR)).toBe(32n);
    g.write(GITS.CTLR, 0, 4);
    g.write(GITS.CBASER, cb);
    expect(g.read(GITS.CREADR)).toBe(0n);
    expect(g.read(GITS.CWRITER)).toBe(0n);
  });

  it('CWRITER keeps bits [19:5]; offsets beyond the queue are ignored; the queue wraps', () => {
    const { g, its } = makeItsVm();
    g.setup({ qPages: 1, enable: false });
    g.write(GITS.CWRITER, 0x1fn | 0x40n);
    expect(g.read(GITS.CWRITER)).toBe(0x40n);
    g.write(GITS.CWRITER, 0x1000n); // = queue size: ignored
    expect(g.read(GITS.CWRITER)).toBe(0x40n);
    g.write(GITS.CWRITER, 0n);
    g.write(GITS.CTLR, 1, 4);
    for (let i = 0; i < 200; i++) g.sync(0); // 200 × 32 B > 4 KiB: wraps
    expect(its.stats.commands).toBe(200);
    expect(g.read(GITS.CREADR)).toBe(BigInt((200 * 32) % 4096));
  });

  it('BASER: Type/Entry_Size/Page_Size read-only, BASER1.Indirect RAZ/WI, BASER2..7 RAZ/WI, 32-bit halves merge', () => {
    const { g } = makeItsVm();
    g.write(GITS.BASER, (7n << 56n) | (31n << 48n) | 0x12340000n | 3n);
    const b0 = g.read(GITS.BASER);
    expect(Number((b0 >> 56n) & 7n)).toBe(1);
    expect(Number((b0 >> 48n) & 0x1fn)).toBe(7);
    expect(Number((b0 >> 8n) & 3n)).toBe(2);
    expect(b0 & 0xffffffffn).toBe(0x12340203n);
    g.write(GITS.BASER + 8, (1n << 62n) | 5n);
    expect(g.read(GITS.BASER + 8) & (1n << 62n)).toBe(0n);
    expect(Number((g.read(GITS.BASER + 8) >> 56n) & 7n)).toBe(4);
    for (let n = 2; n < 8; n++) {
      g.write(GITS.BASER + n * 8, -1n);
      expect(g.read(GITS.BASER + n * 8)).toBe(0n);
    }
    g.write(GITS.BASER + 4, 0x80000000n, 4); // Valid via the upper half
    expect(g.read(GITS.BASER) & (1n << 63n)).toBe(1n << 63n);
    expect(g.read(GITS.BASER) & 0xffffffffn).toBe(0x12340203n);
  });

  it('BASER writes are ignored while enabled; Valid=0 drops that table', () => {
    const { vm, g, its } = makeItsVm();
    g.setup();
    g.prop(8192, 0x80, true);
    g.mapd(0, 4);
    g.mapc(0, 0);
    g.mapti(0, 0, 8192, 0);
    g.write(GITS.BASER, 0n);
    expect(its.devices.size).toBe(1);
    g.write(GITS.CTLR, 0, 4);
    g.write(GITS.BASER + 8, baser(CT_BASE) & ~(1n << 63n));
    expect(its.collections.size).toBe(0);
    expect(its.devices.size).toBe(1);
    g.write(GITS.BASER, baser(DT_BASE) & ~(1n << 63n));
    expect(its.devices.size).toBe(0);
    expect(its.lpis.size).toBe(0);
    expect(() => msi(vm, 0, 0)).toThrow(/disabled/);
  });

  it('any width or offset answers architecturally without throwing', () => {
    const { g } = makeItsVm();
    g.setup();
    for (const off of [0, 1, 2, 3, 4, 6, 0x8, 0xc, 0x10, 0x84, 0x88, 0x100, 0x13c, 0x140, 0xfffc, 0x10000, 0x10040, 0x1fff8, 0x20000]) {
      for (const len of [1, 2, 4, 8] as const) {
        expect(g.write(off, 0xffffffffffffffffn, len)).toBe(true);
        expect(() => g.read(off, len as 4 | 8)).not.toThrow();
      }
    }
    // 8-byte access to a 32-bit register: RAZ/WI.
    expect(g.read(GITS.IIDR - 4, 8)).toBe(0n);
  });

  it('a guest program writing GITS_TRANSLATER raises an MSI from the bus DeviceID', () => {
    const { vm, host, g, its } = makeItsVm();
    g.setup();
    g.prop(8300, 0x10, true);
    its.busDeviceId = 5;
    g.mapd(5, 4);
    g.mapc(0, 1);
    g.mapti(5, 3, 8300, 0);
    const a = new GuestAsm();
    a.label('main')
      .movi(1, 3)
      .stra(1, ITS_BASE + GITS.TRANSLATER, 4)
      .ldra(2, ITS_BASE + GITS.CTLR, 4);
    vm.vcpus[0].setProgram(a.build());
    vm.run({ only: vm.vcpus[0], until: 1e6 });
    expect(host.pendingOn(1)).toEqual([8300]);
    expect(vm.vcpus[0].x(2)).toBe(0x80000001);
  });
});

describe('ARM_VGIC_ITS device attributes', () => {
  function bare() {
    const hv = new Hypervisor({ traceCapacity: 16 });
    hv.registerDeviceType(itsDeviceType((vm) => new FakeLpiHost(vm)));
    const vm = hv.createVm();
    vm.createVcpu();
    return { hv, vm };
  }

  it('ADDR: unset reads VGIC_ADDR_UNDEF; EINVAL misaligned, E2BIG beyond the IPA, EEXIST once set, ENODEV other types', () => {
    const { vm } = bare();
    const d = vm.createDevice(8);
    expect(d.getAttr(ADDR(0)[0])).toBe(VGIC_ADDR_UNDEF);
    expect(errno(() => d.setAttr(...ADDR(0x1000)))).toBe(Errno.EINVAL);
    expect(errno(() => d.setAttr(...ADDR(2n ** 48n - 0x10000n)))).toBe(Errno.E2BIG);
    expect(errno(() => d.setAttr({ group: 0, attr: 2n }, 0x10000n))).toBe(Errno.ENODEV);
    d.setAttr(...ADDR(0x10000));
    expect(d.getAttr(ADDR(0)[0])).toBe(0x10000n);
    expect(errno(() => d.setAttr(...ADDR(0x80000)))).toBe(Errno.EEXIST);
    expect(vm.mmio.find(0x10000 + 0x1ffff)?.dev.name).toBe('ITS0');
  });

  it("ADDR is checked against the VM's IPA size (40 bits by default, as the distributor): E2BIG at or beyond it", () => {
    const d = bare().vm.createDevice(8);
    expect(errno(() => d.setAttr(...ADDR(2n ** 40n)))).toBe(Errno.E2BIG);
    expect(errno(() => d.setAttr(...ADDR(2n ** 40n - 0x10000n)))).toBe(Errno.E2BIG); // the 128 KiB frame ends beyond
    expect(errno(() => d.setAttr(...ADDR(2n ** 44n)))).toBe(Errno.E2BIG);
    expect(d.getAttr(ADDR(0)[0])).toBe(VGIC_ADDR_UNDEF);
    d.setAttr(...ADDR(2n ** 40n - 0x20000n));
    const hv = new Hypervisor({ traceCapacity: 16 });
    hv.registerDeviceType(itsDeviceType((vm) => new FakeLpiHost(vm)));
    const big = hv.createVm({ ipaBits: 44 }).createDevice(8);
    big.setAttr(...ADDR(2n ** 40n));
    expect(big.getAttr(ADDR(0)[0])).toBe(2n ** 40n);
  });

  it('several ITSes per VM; overlapping frames are refused (EINVAL); MSIs go to the ITS owning the address', () => {
    const t = makeItsVm();
    const d2 = t.vm.createDevice(8) as ItsKvmDevice;
    expect(errno(() => d2.setAttr(...ADDR(ITS_BASE + 0x10000)))).toBe(Errno.EINVAL);
    d2.setAttr(...ADDR(ITS_BASE + 0x20000));
    expect(d2.getAttr(ADDR(0)[0])).toBe(BigInt(ITS_BASE + 0x20000));
    expect(errno(() => msi(t.vm, 0, 0, ITS_BASE + 0x20000 + 0x10040))).toBe(Errno.EBUSY); // ITS1 disabled
    t.g.setup();
    expect(msi(t.vm, 0, 0)).toBe(0); // ITS0 enabled, nothing mapped
    expect(errno(() => msi(t.vm, 0, 0, ITS_BASE + 0x40000))).toBe(Errno.EINVAL);
  });

  it('hasAttr / unknown groups and CTRL attributes', () => {
    const { vm } = bare();
    const d: KvmDevice = vm.createDevice(8);
    expect(d.hasAttr({ group: 0, attr: 4n })).toBe(true);
    expect(d.hasAttr({ group: 0, attr: 0n })).toBe(false);
    for (const c of [0n, 1n, 2n, 4n]) expect(d.hasAttr({ group: 4, attr: c })).toBe(true);
    expect(d.hasAttr({ group: 4, attr: 3n })).toBe(false);
    expect(d.hasAttr({ group: 8, attr: 0n })).toBe(true);
    expect(d.hasAttr({ group: 1, attr: 0n })).toBe(false);
    expect(errno(() => d.setAttr({ group: 4, attr: 3n }))).toBe(Errno.ENXIO);
    expect(errno(() => d.setAttr({ group: 1, attr: 0n }))).toBe(Errno.ENXIO);
    expect(errno(() => d.getAttr({ group: 4, attr: 0n }))).toBe(Errno.ENXIO);
    d.setAttr({ group: 4, attr: 0n }); // CTRL_INIT: nothing to do
  });

  it('ITS_REGS: ENXIO before ADDR and for holes, EINVAL misaligned, EBUSY before the vGIC is initialised', () => {
    const { vm } = bare();
    const d = vm.createDevice(8);
    expect(errno(() => d.getAttr(REG(GITS.TYPER)))).toBe(Errno.ENXIO);
    d.setAttr(...ADDR(0x10000));
    expect(errno(() => d.getAttr(REG(GITS.TYPER)))).toBe(Errno.EBUSY);
    vm.finalizeIrqchip();
    expect(d.getAttr(REG(GITS.TYPER))).toBe(GITS_TYPER_VALUE);
    expect(d.getAttr(REG(GITS.IIDR))).toBe(BigInt((0x4b << 24) | 0x43b));
    expect(errno(() => d.getAttr(REG(GITS.CBASER + 4)))).toBe(Errno.EINVAL);
    expect(errno(() => d.getAttr(REG(0x10)))).toBe(Errno.ENXIO);
    expect(errno(() => d.getAttr(REG(GITS.TRANSLATER)))).toBe(Errno.ENXIO);
    expect(errno(() => d.getAttr(REG(0x30000)))).toBe(Errno.ENXIO);
  });

  it('ITS_REGS: IIDR revision and CREADR follow the restore rules; TYPER writes are ignored', () => {
    const { dev, g } = makeItsVm();
    expect(errno(() => dev.setAttr(REG(GITS.IIDR), 1n << 12n))).toBe(Errno.EINVAL);
    dev.setAttr(REG(GITS.IIDR), 0n);
    dev.setAttr(REG(GITS.TYPER), 0n);
    expect(dev.getAttr(REG(GITS.TYPER))).toBe(GITS_TYPER_VALUE);
    dev.setAttr(REG(GITS.CBASER), (1n << 63n) | BigInt(CMDQ_BASE)); // one 4 KiB page
    dev.setAttr(REG(GITS.CREADR), 0x60n);
    expect(dev.getAttr(REG(GITS.CREADR))).toBe(0x60n);
    expect(errno(() => dev.setAttr(REG(GITS.CREADR), 0x1000n))).toBe(Errno.EINVAL);
    dev.setAttr(REG(GITS.CWRITER), 0x60n);
    dev.setAttr(REG(GITS.BASER), baser(DT_BASE));
    dev.setAttr(REG(GITS.BASER + 8), baser(CT_BASE));
    dev.setAttr(REG(GITS.CTLR), 1n);
    expect(dev.getAttr(REG(GITS.CTLR))).toBe(0x80000001n);
    expect(errno(() => dev.setAttr(REG(GITS.CREADR), 0n))).toBe(Errno.EBUSY);
    expect(g.read(GITS.CREADR)).toBe(0x60n);
  });

  it('CTRL_RESET: disabled, quiescent, nothing mapped or cached, BASERs invalid, CBASER/CREADR/CWRITER zero', () => {
    const { vm, dev, g, its } = makeItsVm();
    g.setup();
    g.prop(8192, 0x80, true);
    g.mapd(0, 4);
    g.mapc(0, 0);
    g.mapti(0, 0, 8192, 0);
    msi(vm, 0, 0);
    msi(vm, 0, 0);
    expect(its.cache.size).toBe(1);
    dev.setAttr({ group: 4, attr: 4n });
    expect(g.read(GITS.CTLR, 4)).toBe(0x80000000n);
    expect(g.read(GITS.CBASER)).toBe(0n);
    expect(g.read(GITS.CREADR)).toBe(0n);
    expect(g.read(GITS.CWRITER)).toBe(0n);
    expect(g.read(GITS.BASER) >> 63n).toBe(0n);
    expect(g.read(GITS.BASER + 8) >> 63n).toBe(0n);
    expect(Number((g.read(GITS.BASER) >> 56n) & 7n)).toBe(1);
    expect(its.devices.size + its.collections.size + its.cache.size + its.lpis.size).toBe(0);
    expect(errno(() => msi(vm, 0, 0))).toBe(Errno.EBUSY);
  });
});
