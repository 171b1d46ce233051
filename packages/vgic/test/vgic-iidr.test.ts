/** GICD_IIDR / GICR_IIDR Revision: guest read-only, userspace-selectable (KVM's uaccess rule), kept by migration. */
import { Errno, GuestAsm, isKvmError, type Vcpu, type Vm } from '@irqflow/core';
import { restoreVgic, saveVgic, VGIC_GRP, vgicDeviceOf } from '@irqflow/vgic';
import { gicVm } from './helpers';

const D = 0x08000000;
const R = 0x080a0000; // redistributor of vCPU 0 on the gic-v3 board
const IIDR = { group: VGIC_GRP.DIST_REGS, attr: 8n };
const iidr = (rev: number) => BigInt((0x4b << 24) | (rev << 12) | 0x43b);
const errno = (f: () => unknown): Errno | 'ok' => {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (isKvmError(e)) return e.errno;
    throw e;
  }
};

/** The guest writes 0 to GICD_IIDR, then reads GICD_IIDR (and GICR_IIDR on v3). */
function guestReads(vm: Vm, v3: boolean): bigint[] {
  const out: bigint[] = [];
  const a = new GuestAsm();
  a.label('main')
    .movi(0, 0)
    .stra(0, D + 8);
  a.ldra(1, D + 8).call((v: Vcpu) => void out.push(v.xBig(1)));
  if (v3) a.ldra(1, R + 4).call((v: Vcpu) => void out.push(v.xBig(1)));
  a.label('end').wfi().b('end');
  vm.vcpus[0].setProgram(a.build());
  vm.run({ until: vm.now + 100_000 });
  return out;
}

describe.each([
  ['gic-v3', 3, [1, 2, 3]],
  ['gic-v2', 2, [1, 2]],
] as const)('%s GICD_IIDR', (name, latest, revs) => {
  it('reads back the latest revision; userspace selects another; bad values are EINVAL and change nothing', () => {
    const { vm, dev } = gicVm(name, 1);
    expect(dev.getAttr(IIDR)).toBe(iidr(latest));
    expect(dev.hasAttr(IIDR)).toBe(true);
    const bad = [iidr(0), iidr(latest + 1), iidr(15), iidr(1) ^ 1n, iidr(1) ^ (1n << 24n), iidr(1) | (1n << 16n)];
    for (const v of bad) expect(errno(() => dev.setAttr(IIDR, v))).toBe(Errno.EINVAL);
    expect(dev.getAttr(IIDR)).toBe(iidr(latest));
    for (const r of revs) {
      dev.setAttr(IIDR, iidr(r));
      expect(dev.getAttr(IIDR)).toBe(iidr(r));
    }
    dev.setAttr(IIDR, iidr(1));
    expect(errno(() => dev.setAttr(IIDR, iidr(latest + 1)))).toBe(Errno.EINVAL);
    expect(dev.getAttr(IIDR)).toBe(iidr(1));
    // the guest sees the chosen revision and cannot change it
    expect(guestReads(vm, name === 'gic-v3')).toEqual(name === 'gic-v3' ? [iidr(1), iidr(1)] : [iidr(1)]);
    expect(dev.getAttr(IIDR)).toBe(iidr(1));
  });

  it('the chosen revision survives save/restore', () => {
    const { hv, vm } = gicVm(name, 1);
    const src = vgicDeviceOf(vm)!;
    src.setAttr(IIDR, iidr(2));
    const saved = saveVgic(vm, src);
    const dst = hv.createVm();
    dst.createVcpu();
    const dev = dst.createDevice(name === 'gic-v3' ? 7 : 5);
    restoreVgic(dev, saved);
    expect(dev.getAttr(IIDR)).toBe(iidr(2));
    const fresh = hv.createVm();
    fresh.createVcpu();
    const other = fresh.createDevice(name === 'gic-v3' ? 7 : 5);
    restoreVgic(other, { ...saved, regs: saved.regs.filter(([g, a]) => !(g === VGIC_GRP.DIST_REGS && a === 8n)) });
    expect(other.getAttr(IIDR)).toBe(iidr(latest)); // a VM that never saw the write keeps the latest
  });
});
