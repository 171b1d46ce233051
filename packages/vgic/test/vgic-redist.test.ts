/**
 * Redistributor regions and their association with vCPUs, driven as a VMM does (KVM_CREATE_VCPU, the ADDR
 * group, CTRL_INIT, GRP_REDIST_REGS, KVM_RUN), against KVM's behaviour (selftests vgic_init: the GICR_TYPER
 * accesses, the Last bit across regions, the IPA range checks at vCPU creation and at the first run).
 */
import { Errno, GuestAsm, Hypervisor, isKvmError, type KvmDevice, type Vcpu, type Vm } from '@irqflow/core';
import { VGIC_ADDR_TYPE, VGIC_GRP, VgicPlugin } from '@irqflow/vgic';

const A = VGIC_GRP.ADDR;
const RD = 0x20000;
const attr = (group: number, a: number | bigint) => ({ group, attr: BigInt(a) });
const errno = (f: () => unknown): Errno | 'ok' => {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (isKvmError(e)) return e.errno;
    throw e;
  }
};
const region = (index: number, base: number, count: number) => (BigInt(count) << 52n) | BigInt(base) | BigInt(index);

function gicVm(ids: number[], opts: { ipaBits?: number } = {}): { vm: Vm; dev: KvmDevice } {
  const vm = new Hypervisor().use(VgicPlugin).createVm(opts);
  for (const id of ids) vm.createVcpu(id);
  return { vm, dev: vm.createDevice(7) };
}

/** GICR_TYPER of `v`'s redistributor read through KVM_DEV_ARM_VGIC_GRP_REDIST_REGS (both halves). */
function typer(dev: KvmDevice, v: Vcpu): { pn: number; last: number; aff: number } {
  const k = BigInt(v.mpidr) << 32n;
  const lo = dev.getAttr(attr(VGIC_GRP.REDIST_REGS, k | 0x8n));
  const hi = dev.getAttr(attr(VGIC_GRP.REDIST_REGS, k | 0xcn));
  return { pn: Number((lo >> 8n) & 0xffffn), last: Number((lo >> 4n) & 1n), aff: Number(hi) };
}
const lasts = (dev: KvmDevice, vm: Vm): number[] => vm.vcpus.map((v) => typer(dev, v).last);

function idle(vm: Vm): void {
  for (const v of vm.vcpus) v.setProgram(new GuestAsm().label('main').label('l').wfi().b('l').build());
}

describe('GICR_TYPER.Processor_Number and Affinity follow the vcpu_id', () => {
  it('vCPUs created out of id order (a restore) read their own id and MPIDR, before and after the first run', () => {
    const { vm, dev } = gicVm([2, 0, 3, 1]);
    dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_DIST), 0x08000000n);
    dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_REDIST_REGION), region(0, 0x0a000000, 4));
    dev.setAttr(attr(VGIC_GRP.CTRL, 0));
    for (const v of vm.vcpus) expect(typer(dev, v)).toMatchObject({ pn: v.id, aff: v.mpidr });
    // the guest reading each redistributor slot sees the vCPU created first in slot 0, and so on
    const seen: number[] = [];
    const a = new GuestAsm().label('main');
    for (let k = 0; k < 4; k++) a.ldra(1, 0x0a000000 + k * RD + 8, 4).call((v: Vcpu) => void seen.push(v.x(1)));
    a.label('l').wfi().b('l');
    idle(vm);
    vm.vcpus[0].setProgram(a.build());
    vm.run({ until: 10_000 });
    expect(seen.map((t) => (t >>> 8) & 0xffff)).toEqual([2, 0, 3, 1]);
    for (const v of vm.vcpus) expect(typer(dev, v).pn).toBe(v.id);
  });
});

describe('redistributors are associated when vCPUs and regions exist, not at the first run', () => {
  it('GICR_TYPER.Last is right after CTRL_INIT and before the first run; before CTRL_INIT the access is EBUSY', () => {
    const { vm, dev } = gicVm([0, 1, 2, 3]);
    dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_DIST), 0x08000000n);
    dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_REDIST_REGION), region(0, 0x0a000000, 2));
    dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_REDIST_REGION), region(1, 0x0c000000, 3));
    expect(errno(() => typer(dev, vm.vcpus[0]))).toBe(Errno.EBUSY);
    dev.setAttr(attr(VGIC_GRP.CTRL, 0));
    // region 0: vCPUs 0, 1 (1 is its last); region 1: vCPUs 2, 3 of 3 slots (3 is the highest in use)
    expect(lasts(dev, vm)).toEqual([0, 1, 0, 1]);
  });

  it("a full region's last redistributor is not Last when a region starting at its end is in use", () => {
    const { vm, dev } = gicVm([0, 1, 2, 3]);
    dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_DIST), 0x08000000n);
    dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_REDIST_REGION), region(0, 0x0a000000, 2));
    dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_REDIST_REGION), region(1, 0x0a000000 + 2 * RD, 3));
    dev.setAttr(attr(VGIC_GRP.CTRL, 0));
    expect(lasts(dev, vm)).toEqual([0, 0, 0, 1]);
  });

  it('a contiguous region with no redistributor in use does not clear Last', () => {
    const { vm, dev } = gicVm([0, 1]);
    dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_DIST), 0x08000000n);
    dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_REDIST_REGION), region(0, 0x0a000000, 2));
    dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_REDIST_REGION), region(1, 0x0a000000 + 2 * RD, 2));
    dev.setAttr(attr(VGIC_GRP.CTRL, 0));
    expect(lasts(dev, vm)).toEqual([0, 1]);
  });

  it('vCPUs created after the regions get their redistributors at creation, in creation order', () => {
    const { vm, dev } = gicVm([]);
    dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_DIST), 0x08000000n);
    dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_REDIST_REGION), region(0, 0x0a000000, 1));
    dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_REDIST_REGION), region(1, 0x0c000000, 2));
    for (const id of [5, 3, 4]) vm.createVcpu(id);
    dev.setAttr(attr(VGIC_GRP.CTRL, 0));
    expect(lasts(dev, vm)).toEqual([1, 0, 1]);
    expect(vm.vcpus.map((v) => typer(dev, v).pn)).toEqual([5, 3, 4]);
  });

  it('the legacy REDIST region: only the highest vCPU is Last', () => {
    const { vm, dev } = gicVm([0, 1, 2]);
    dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_DIST), 0x08000000n);
    dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_REDIST), 0x0a000000n);
    dev.setAttr(attr(VGIC_GRP.CTRL, 0));
    expect(lasts(dev, vm)).toEqual([0, 0, 1]);
  });
});

describe('first-run checks in KVM order', () => {
  it('a vCPU without a redistributor is ENXIO even when initialised; an unset distributor is ENXIO', () => {
    const a = gicVm([0, 1]);
    a.dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_REDIST_REGION), region(0, 0x0a000000, 1));
    a.dev.setAttr(attr(VGIC_GRP.CTRL, 0));
    idle(a.vm);
    expect(errno(() => a.vm.run({ until: 10 }))).toBe(Errno.ENXIO);
    const b = gicVm([0]);
    b.dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_REDIST), 0x0a000000n);
    idle(b.vm);
    expect(errno(() => b.vm.run({ until: 10 }))).toBe(Errno.ENXIO); // no distributor, not initialised either
  });

  it('a distributor overlapping the redistributors is accepted when set and EINVAL at the first run, before EBUSY', () => {
    const { vm, dev } = gicVm([0, 1]);
    dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_REDIST), 0x0n);
    dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_DIST), 0x10000n); // inside vCPU 0's redistributor
    idle(vm);
    expect(errno(() => vm.run({ until: 10 }))).toBe(Errno.EINVAL); // not initialised, but EINVAL comes first
    dev.setAttr(attr(VGIC_GRP.CTRL, 0));
    expect(errno(() => vm.run({ until: 10 }))).toBe(Errno.EINVAL);
  });

  it('the legacy region covers online vCPUs x 128 KiB: E2BIG when set, EINVAL at vCPU creation and at the first run', () => {
    const ipa = 2 ** 40;
    // set: 4 vCPUs need 512 KiB
    const a = gicVm([0, 1, 2, 3]);
    expect(errno(() => a.dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_REDIST), BigInt(ipa - RD)))).toBe(Errno.E2BIG);
    expect(a.dev.getAttr(attr(A, VGIC_ADDR_TYPE.V3_REDIST))).toBe(0xffffffffffffffffn); // nothing set
    // vCPU creation: the region is checked for the vCPUs already online
    const b = gicVm([]);
    b.dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_REDIST), BigInt(ipa - 2 * RD));
    for (const id of [0, 1, 2]) b.vm.createVcpu(id);
    expect(errno(() => b.vm.createVcpu(3))).toBe(Errno.EINVAL);
    expect(b.vm.vcpus.length).toBe(3);
    // first run (selftest redist_ipa_range_check_at_vcpu_run): room for 3, 4 vCPUs → EINVAL, never E2BIG
    const c = gicVm([0]);
    c.dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_REDIST), BigInt(ipa - 3 * RD));
    c.dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_DIST), 0n);
    for (const id of [1, 2, 3]) c.vm.createVcpu(id);
    c.dev.setAttr(attr(VGIC_GRP.CTRL, 0));
    idle(c.vm);
    expect(errno(() => c.vm.run({ until: 10 }))).toBe(Errno.EINVAL);
  });

  it('a REDIST_REGION colliding with the distributor is refused when a vCPU would use it (EINVAL, nothing added)', () => {
    const { vm, dev } = gicVm([0, 1]);
    dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_DIST), 0x260000n);
    dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_REDIST_REGION), region(0, 0x200000, 1));
    expect(errno(() => dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_REDIST_REGION), region(1, 0x260000, 2)))).toBe(Errno.EINVAL);
    expect(errno(() => dev.getAttr(attr(A, BigInt(VGIC_ADDR_TYPE.V3_REDIST_REGION) | (1n << 32n))))).toBe(Errno.ENOENT);
    dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_REDIST_REGION), region(1, 0x300000, 1));
    dev.setAttr(attr(VGIC_GRP.CTRL, 0));
    expect(lasts(dev, vm)).toEqual([1, 1]);
  });

  it("the VM's IPA size bounds every frame (ipaBits; 40 by default)", () => {
    const { dev } = gicVm([0], { ipaBits: 36 });
    expect(errno(() => dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_DIST), BigInt(2 ** 36 - 0x8000)))).toBe(Errno.EINVAL);
    expect(errno(() => dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_DIST), BigInt(2 ** 36)))).toBe(Errno.E2BIG);
    dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_DIST), BigInt(2 ** 36 - 0x10000));
    const big = gicVm([0], { ipaBits: 44 });
    big.dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_DIST), BigInt(2 ** 40));
    expect(errno(() => new Hypervisor().createVm({ ipaBits: 20 }))).toBe(Errno.EINVAL);
  });
});
