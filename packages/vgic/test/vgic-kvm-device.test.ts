import { DAIF, Errno, GuestAsm, Hypervisor, isKvmError, type KvmDevice, type Vcpu, type Vm } from '@irqflow/core';
import { VGIC_ADDR_TYPE, VGIC_GRP, VgicPlugin } from '@irqflow/vgic';

const SZ_64K = 0x10000n;
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
const region = (index: number, base: bigint, count: number, flags = 0) =>
  (BigInt(count) << 52n) | base | (BigInt(flags) << 12n) | BigInt(index);

function vmWith(n: number): { hv: Hypervisor; vm: Vm } {
  const hv = new Hypervisor().use(VgicPlugin);
  const vm = hv.createVm();
  for (let i = 0; i < n; i++) vm.createVcpu();
  return { hv, vm };
}

function idle(vm: Vm): void {
  const a = new GuestAsm();
  a.label('main').label('l').wfi().b('l');
  for (const v of vm.vcpus) v.setProgram(a.build());
}

describe('device creation rules', () => {
  it('one GIC per VM (EEXIST), none after a vCPU ran (EBUSY), GICv2 at most 8 vCPUs (E2BIG)', () => {
    const { vm } = vmWith(1);
    vm.createDevice(7);
    expect(errno(() => vm.createDevice(7))).toBe(Errno.EEXIST);
    expect(errno(() => vm.createDevice(5))).toBe(Errno.EEXIST);
    const b = vmWith(9);
    expect(errno(() => b.vm.createDevice(5))).toBe(Errno.E2BIG);
    expect(errno(() => b.vm.createDevice(7))).toBe('ok');
    const c = vmWith(1);
    idle(c.vm);
    c.vm.run({ until: 100 });
    expect(errno(() => c.vm.createDevice(7))).toBe(Errno.EBUSY);
  });

  it('vCPUs created after the device get vgic state; after INIT no more vCPUs (EBUSY); GICv2 9th vCPU E2BIG', () => {
    const { vm } = vmWith(0);
    const dev = vm.createDevice(7);
    vm.createVcpu();
    vm.createVcpu();
    dev.setAttr(attr(VGIC_GRP.ADDR, VGIC_ADDR_TYPE.V3_DIST), 0x08000000n);
    dev.setAttr(attr(VGIC_GRP.ADDR, VGIC_ADDR_TYPE.V3_REDIST), 0x080a0000n);
    dev.setAttr(attr(VGIC_GRP.CTRL, 0));
    expect(errno(() => vm.createVcpu())).toBe(Errno.EBUSY);
    const b = vmWith(8);
    b.vm.createDevice(5);
    expect(errno(() => b.vm.createVcpu())).toBe(Errno.E2BIG);
  });
});

describe('GICv3 ADDR group', () => {
  let vm: Vm;
  let dev: KvmDevice;
  beforeEach(() => {
    ({ vm } = vmWith(4));
    dev = vm.createDevice(7);
  });

  it('checks alignment, IPA range, duplicates and model at set time', () => {
    const A = VGIC_GRP.ADDR;
    expect(errno(() => dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_DIST), 0x08001000n))).toBe(Errno.EINVAL);
    expect(errno(() => dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_DIST), 1n << 40n))).toBe(Errno.E2BIG);
    expect(errno(() => dev.setAttr(attr(A, VGIC_ADDR_TYPE.V2_DIST), 0x08000000n))).toBe(Errno.ENXIO);
    expect(errno(() => dev.setAttr(attr(A, 9), 0x08000000n))).toBe(Errno.ENXIO);
    dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_DIST), 0x08000000n);
    expect(errno(() => dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_DIST), 0x09000000n))).toBe(Errno.EEXIST);
    expect(dev.getAttr(attr(A, VGIC_ADDR_TYPE.V3_DIST))).toBe(0x08000000n);
    // a redistributor overlapping the distributor is known now
    expect(errno(() => dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_REDIST), 0x08000000n))).toBe(Errno.EINVAL);
    dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_REDIST), 0x080a0000n);
    expect(errno(() => dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_REDIST), 0x090a0000n))).toBe(Errno.EEXIST);
    expect(errno(() => dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_REDIST_REGION), region(0, 0x0a000000n, 4)))).toBe(Errno.EINVAL);
  });

  it('REDIST_REGION: index order, count, flags, overlap, IPA, reading back (ENOENT for a missing one)', () => {
    const A = VGIC_GRP.ADDR;
    const R = VGIC_ADDR_TYPE.V3_REDIST_REGION;
    expect(errno(() => dev.setAttr(attr(A, R), region(1, 0x0a000000n, 2)))).toBe(Errno.EINVAL);
    expect(errno(() => dev.setAttr(attr(A, R), region(0, 0x0a000000n, 0)))).toBe(Errno.EINVAL);
    expect(errno(() => dev.setAttr(attr(A, R), region(0, 0x0a000000n, 2, 1)))).toBe(Errno.EINVAL);
    expect(errno(() => dev.setAttr(attr(A, R), region(0, (1n << 40n) - SZ_64K * 2n, 2)))).toBe(Errno.E2BIG);
    dev.setAttr(attr(A, R), region(0, 0x0a000000n, 2));
    expect(errno(() => dev.setAttr(attr(A, R), region(1, 0x0a020000n, 2)))).toBe(Errno.EINVAL); // overlaps region 0
    dev.setAttr(attr(A, R), region(1, 0x0b000000n, 2));
    expect(dev.getAttr(attr(A, BigInt(R) | (1n << 32n)))).toBe(region(1, 0x0b000000n, 2));
    expect(errno(() => dev.getAttr(attr(A, BigInt(R) | (2n << 32n))))).toBe(Errno.ENOENT);
    expect(errno(() => dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_REDIST), 0x0c000000n))).toBe(Errno.EINVAL);
  });

  it('first run: uninitialised → EBUSY; missing addresses / too few redistributors → ENXIO', () => {
    idle(vm);
    // KVM checks the redistributors and the distributor (ENXIO) before the INIT (EBUSY)
    expect(errno(() => vm.run({ until: 10 }))).toBe(Errno.ENXIO);
    dev.setAttr(attr(VGIC_GRP.ADDR, VGIC_ADDR_TYPE.V3_DIST), 0x08000000n);
    dev.setAttr(attr(VGIC_GRP.ADDR, VGIC_ADDR_TYPE.V3_REDIST), 0x080a0000n);
    expect(errno(() => vm.run({ until: 10 }))).toBe(Errno.EBUSY);
    const b = vmWith(4);
    const d = b.vm.createDevice(7);
    d.setAttr(attr(VGIC_GRP.CTRL, 0));
    idle(b.vm);
    expect(errno(() => b.vm.run({ until: 10 }))).toBe(Errno.ENXIO);
    const c = vmWith(4);
    const e = c.vm.createDevice(7);
    e.setAttr(attr(VGIC_GRP.ADDR, VGIC_ADDR_TYPE.V3_DIST), 0x08000000n);
    e.setAttr(attr(VGIC_GRP.ADDR, VGIC_ADDR_TYPE.V3_REDIST_REGION), region(0, 0x0a000000n, 3));
    e.setAttr(attr(VGIC_GRP.CTRL, 0));
    idle(c.vm);
    expect(errno(() => c.vm.run({ until: 10 }))).toBe(Errno.ENXIO);
  });

  it('redistributors go to vCPUs in creation order across regions; GICR_TYPER Processor_Number and Last follow', () => {
    const A = VGIC_GRP.ADDR;
    dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_DIST), 0x08000000n);
    dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_REDIST_REGION), region(0, 0x0a000000n, 1));
    dev.setAttr(attr(A, VGIC_ADDR_TYPE.V3_REDIST_REGION), region(1, 0x0c000000n, 3));
    dev.setAttr(attr(VGIC_GRP.CTRL, 0));
    const typers: bigint[] = [];
    const a = new GuestAsm();
    a.label('main');
    for (const base of [0x0a000000, 0x0c000000, 0x0c020000, 0x0c040000])
      a.ldra(1, base + 8, 8).call((v: Vcpu) => void typers.push(v.xBig(1)));
    a.label('l').wfi().b('l');
    vm.vcpus[0].setProgram(a.build());
    for (const v of vm.vcpus.slice(1)) v.setProgram(new GuestAsm().label('main').label('l').wfi().b('l').build());
    vm.run({ until: 10_000 });
    const pn = typers.map((t) => Number((t >> 8n) & 0xffffn));
    const last = typers.map((t) => Number((t >> 4n) & 1n));
    const aff = typers.map((t) => Number(t >> 32n));
    expect(pn).toEqual([0, 1, 2, 3]);
    expect(last).toEqual([1, 0, 0, 1]);
    expect(aff).toEqual(vm.vcpus.map((v) => v.mpidr));
  });
});

describe('NR_IRQS and CTRL', () => {
  it('NR_IRQS 64..1024 in steps of 32, once, before INIT', () => {
    const { vm } = vmWith(1);
    const dev = vm.createDevice(7);
    expect(dev.getAttr(attr(VGIC_GRP.NR_IRQS, 0))).toBe(32n);
    for (const bad of [0n, 32n, 63n, 100n, 1056n]) expect(errno(() => dev.setAttr(attr(VGIC_GRP.NR_IRQS, 0), bad))).toBe(Errno.EINVAL);
    dev.setAttr(attr(VGIC_GRP.NR_IRQS, 0), 128n);
    expect(errno(() => dev.setAttr(attr(VGIC_GRP.NR_IRQS, 0), 128n))).toBe(Errno.EBUSY);
    expect(dev.getAttr(attr(VGIC_GRP.NR_IRQS, 0))).toBe(128n);
    expect(errno(() => dev.setAttr(attr(VGIC_GRP.CTRL, 7)))).toBe(Errno.ENXIO);
    expect(dev.hasAttr(attr(VGIC_GRP.CTRL, 0))).toBe(true);
    expect(dev.hasAttr(attr(VGIC_GRP.CTRL, 7))).toBe(false);
    expect(dev.hasAttr(attr(VGIC_GRP.CPU_REGS, 0))).toBe(false);
  });

  it('GICv3 register groups need INIT (EBUSY), a known vCPU (EINVAL) and a known register (ENXIO)', () => {
    const { vm } = vmWith(2);
    const dev = vm.createDevice(7);
    expect(errno(() => dev.getAttr(attr(VGIC_GRP.DIST_REGS, 0)))).toBe(Errno.EBUSY);
    expect(errno(() => vm.irqLine((1 << 24) | 40, 1))).toBe(Errno.EBUSY);
    dev.setAttr(attr(VGIC_GRP.CTRL, 0));
    expect(errno(() => dev.getAttr(attr(VGIC_GRP.REDIST_REGS, (0x999n << 32n) | 0x14n)))).toBe(Errno.EINVAL);
    expect(errno(() => dev.getAttr(attr(VGIC_GRP.DIST_REGS, 0x5000)))).toBe(Errno.ENXIO);
    expect(errno(() => dev.getAttr(attr(VGIC_GRP.CPU_REGS, 0)))).toBe(Errno.ENXIO);
    expect(errno(() => dev.getAttr(attr(VGIC_GRP.CPU_SYSREGS, 0xc660n)))).toBe(Errno.ENXIO); // ICC_IAR1_EL1
    expect(errno(() => dev.getAttr(attr(VGIC_GRP.LEVEL_INFO, 33)))).toBe(Errno.EINVAL);
    expect(errno(() => dev.getAttr(attr(VGIC_GRP.LEVEL_INFO, (1 << 10) | 32)))).toBe(Errno.EINVAL);
    expect(errno(() => dev.setAttr(attr(VGIC_GRP.CPU_SYSREGS, 0xc665n), 0n))).toBe(Errno.EINVAL); // SRE=0
    expect(errno(() => dev.setAttr(attr(VGIC_GRP.CPU_SYSREGS, 0xc664n), 0n))).toBe(Errno.EINVAL); // PRIbits
    // GICD_IIDR / PIDR2 / TYPER as KVM
    expect(dev.getAttr(attr(VGIC_GRP.DIST_REGS, 0x8))).toBe(0x4b00343bn);
    expect(dev.getAttr(attr(VGIC_GRP.DIST_REGS, 0xffe8))).toBe(0x3bn);
    expect(dev.getAttr(attr(VGIC_GRP.DIST_REGS, 0x4)) & 0x1fn).toBe(7n);
    expect(dev.getAttr(attr(VGIC_GRP.REDIST_REGS, (1n << 32n) | 0xffe8n))).toBe(0x3bn);
  });

  it('GICv2: lazy init for register access and IRQ_LINE; CPU_REGS decode by vCPU index', () => {
    const { vm } = vmWith(2);
    const dev = vm.createDevice(5);
    expect(dev.getAttr(attr(VGIC_GRP.DIST_REGS, 0x4)) & 0xffn).toBe(7n | (1n << 5n));
    expect(errno(() => dev.getAttr(attr(VGIC_GRP.CPU_REGS, (5n << 32n) | 4n)))).toBe(Errno.EINVAL);
    expect(errno(() => dev.getAttr(attr(VGIC_GRP.CPU_REGS, 0x0c)))).toBe(Errno.ENXIO);
    dev.setAttr(attr(VGIC_GRP.CPU_REGS, (1n << 32n) | 4n), 0x1en);
    expect(dev.getAttr(attr(VGIC_GRP.CPU_REGS, (1n << 32n) | 4n))).toBe(0x1en);
    expect(errno(() => dev.getAttr(attr(VGIC_GRP.REDIST_REGS, 0)))).toBe(Errno.ENXIO);
    expect(errno(() => dev.getAttr(attr(VGIC_GRP.LEVEL_INFO, 0)))).toBe(Errno.ENXIO);
    // first run without addresses
    idle(vm);
    expect(errno(() => vm.run({ until: 10 }))).toBe(Errno.ENXIO);
    void DAIF;
  });
});

describe('register attributes name their vCPU first (EINVAL), as KVM parses the attribute before anything else', () => {
  it('GICv3: an mpidr matching no vCPU is EINVAL before CTRL_INIT too (GET, SET, HAS_ATTR); DIST_REGS need a vCPU', () => {
    const { vm } = vmWith(2);
    const dev = vm.createDevice(7);
    const bad = 0x999n << 32n;
    expect(errno(() => dev.getAttr(attr(VGIC_GRP.REDIST_REGS, bad | 0x14n)))).toBe(Errno.EINVAL);
    expect(errno(() => dev.setAttr(attr(VGIC_GRP.REDIST_REGS, bad | 0x14n), 0n))).toBe(Errno.EINVAL);
    expect(errno(() => dev.getAttr(attr(VGIC_GRP.CPU_SYSREGS, bad | 0xc230n)))).toBe(Errno.EINVAL); // ICC_PMR_EL1
    expect(errno(() => dev.setAttr(attr(VGIC_GRP.CPU_SYSREGS, bad | 0xc230n), 0xf8n))).toBe(Errno.EINVAL);
    expect(errno(() => dev.getAttr(attr(VGIC_GRP.LEVEL_INFO, bad | 32n)))).toBe(Errno.EINVAL);
    expect(errno(() => dev.hasAttr(attr(VGIC_GRP.REDIST_REGS, bad | 0x8n)))).toBe(Errno.EINVAL);
    expect(errno(() => dev.hasAttr(attr(VGIC_GRP.CPU_SYSREGS, bad | 0xc230n)))).toBe(Errno.EINVAL);
    // a known vCPU before INIT: EBUSY
    expect(errno(() => dev.getAttr(attr(VGIC_GRP.REDIST_REGS, (1n << 32n) | 0x14n)))).toBe(Errno.EBUSY);
    const none = vmWith(0).vm.createDevice(7);
    expect(errno(() => none.getAttr(attr(VGIC_GRP.DIST_REGS, 0x4)))).toBe(Errno.EINVAL);
    expect(errno(() => none.hasAttr(attr(VGIC_GRP.DIST_REGS, 0x4)))).toBe(Errno.EINVAL);
  });

  it('GICv2: the cpuid field is a vcpu_id; HAS_ATTR for a missing one is EINVAL like GET and SET', () => {
    const hv = new Hypervisor().use(VgicPlugin);
    const vm = hv.createVm();
    vm.createVcpu(4);
    vm.createVcpu(7);
    const dev = vm.createDevice(5);
    dev.setAttr(attr(VGIC_GRP.CPU_REGS, (7n << 32n) | 4n), 0x1en); // GICC_PMR of vCPU id 7 (the second one)
    expect(dev.getAttr(attr(VGIC_GRP.CPU_REGS, (7n << 32n) | 4n))).toBe(0x1en);
    expect(dev.getAttr(attr(VGIC_GRP.CPU_REGS, (4n << 32n) | 4n))).toBe(0n);
    for (const id of [0n, 1n, 5n]) {
      expect(errno(() => dev.hasAttr(attr(VGIC_GRP.CPU_REGS, (id << 32n) | 4n)))).toBe(Errno.EINVAL);
      expect(errno(() => dev.getAttr(attr(VGIC_GRP.CPU_REGS, (id << 32n) | 4n)))).toBe(Errno.EINVAL);
      expect(errno(() => dev.hasAttr(attr(VGIC_GRP.DIST_REGS, (id << 32n) | 0x100n)))).toBe(Errno.EINVAL);
    }
    expect(dev.hasAttr(attr(VGIC_GRP.CPU_REGS, (4n << 32n) | 4n))).toBe(true);
    expect(dev.hasAttr(attr(VGIC_GRP.CPU_REGS, (4n << 32n) | 0x0cn))).toBe(false); // GICC_IAR: not a CPU_REGS register
  });
});

describe('LEVEL_INFO', () => {
  it('a 32-aligned block at or above NR_IRQS (up to 1023) reads as zero and ignores writes; other forms are EINVAL', () => {
    const { vm } = vmWith(1);
    const dev = vm.createDevice(7);
    dev.setAttr(attr(VGIC_GRP.NR_IRQS, 0), 128n);
    dev.setAttr(attr(VGIC_GRP.CTRL, 0));
    for (const id of [128, 512, 992]) {
      expect(dev.getAttr(attr(VGIC_GRP.LEVEL_INFO, id))).toBe(0n);
      dev.setAttr(attr(VGIC_GRP.LEVEL_INFO, id), 0xffffffffn);
      expect(dev.getAttr(attr(VGIC_GRP.LEVEL_INFO, id))).toBe(0n);
    }
    expect(errno(() => dev.getAttr(attr(VGIC_GRP.LEVEL_INFO, 1024)))).toBe(Errno.EINVAL); // info field = 1
    expect(errno(() => dev.getAttr(attr(VGIC_GRP.LEVEL_INFO, 2048 + 32)))).toBe(Errno.EINVAL);
    expect(errno(() => dev.getAttr(attr(VGIC_GRP.LEVEL_INFO, 1000)))).toBe(Errno.EINVAL); // not 32-aligned
    // below NR_IRQS the line levels are still kept: 96..127 (level SPIs by default on a fresh GICv3)
    dev.setAttr(attr(VGIC_GRP.DIST_REGS, 0xc00 + (96 * 2) / 8), 0n); // ICFGR: level
    dev.setAttr(attr(VGIC_GRP.LEVEL_INFO, 96), 0x5n);
    expect(dev.getAttr(attr(VGIC_GRP.LEVEL_INFO, 96))).toBe(0x5n);
  });
});

describe('failed calls change nothing (GICv2 validates before its lazy init)', () => {
  const nrIrqsStillSettable = (dev: KvmDevice): Errno | 'ok' => errno(() => dev.setAttr(attr(VGIC_GRP.NR_IRQS, 0), 128n));

  it('KVM_IRQ_LINE with a bad PPI or an SPI below 32 (or beyond NR_IRQS) is EINVAL and leaves the GIC uninitialised', () => {
    for (const line of [(2 << 24) | 5, (2 << 24) | 32, (1 << 24) | 31, (1 << 24) | 0, (1 << 24) | 300]) {
      const { vm } = vmWith(1);
      const dev = vm.createDevice(5);
      expect(errno(() => vm.irqLine(line, 1))).toBe(Errno.EINVAL);
      expect(nrIrqsStillSettable(dev)).toBe('ok');
    }
    // a good one initialises (lazy init), after which NR_IRQS is frozen
    const { vm } = vmWith(1);
    const dev = vm.createDevice(5);
    vm.irqLine((1 << 24) | 40, 1);
    expect(nrIrqsStillSettable(dev)).toBe(Errno.EBUSY);
  });

  it('GICv3: a bad PPI or SPI number is EINVAL before the uninitialised EBUSY', () => {
    const { vm } = vmWith(1);
    vm.createDevice(7);
    expect(errno(() => vm.irqLine((2 << 24) | 5, 1))).toBe(Errno.EINVAL);
    expect(errno(() => vm.irqLine((1 << 24) | 8, 1))).toBe(Errno.EINVAL);
    expect(errno(() => vm.irqLine((1 << 24) | 40, 1))).toBe(Errno.EBUSY);
  });

  it('attribute calls naming a missing vCPU or a bad offset are refused without initialising', () => {
    const calls: ((d: KvmDevice) => unknown)[] = [
      (d) => d.getAttr(attr(VGIC_GRP.CPU_REGS, (3n << 32n) | 4n)),
      (d) => d.setAttr(attr(VGIC_GRP.DIST_REGS, (3n << 32n) | 0x100n), 1n),
      (d) => d.getAttr(attr(VGIC_GRP.CPU_REGS, 0x0c)),
      (d) => d.getAttr(attr(VGIC_GRP.DIST_REGS, 0xf30)),
      (d) => d.getAttr(attr(VGIC_GRP.DIST_REGS, 0x102)),
      (d) => d.setAttr(attr(VGIC_GRP.DIST_REGS, 0x8), 0x12345678n), // GICD_IIDR: only Revision is writable
    ];
    for (const call of calls) {
      const { vm } = vmWith(1);
      const dev = vm.createDevice(5);
      expect(errno(() => call(dev))).not.toBe('ok');
      expect(nrIrqsStillSettable(dev)).toBe('ok');
    }
  });

  it('a refused first run (addresses missing or overlapping) leaves a GICv2 uninitialised', () => {
    const { vm } = vmWith(1);
    const dev = vm.createDevice(5);
    dev.setAttr(attr(VGIC_GRP.ADDR, VGIC_ADDR_TYPE.V2_DIST), 0x08000000n);
    idle(vm);
    expect(errno(() => vm.run({ until: 10 }))).toBe(Errno.ENXIO);
    expect(nrIrqsStillSettable(dev)).toBe('ok');
  });

  it('NR_IRQS: a bad value is EINVAL even once set (KVM checks the value first)', () => {
    const { vm } = vmWith(1);
    const dev = vm.createDevice(7);
    dev.setAttr(attr(VGIC_GRP.NR_IRQS, 0), 128n);
    expect(errno(() => dev.setAttr(attr(VGIC_GRP.NR_IRQS, 0), 100n))).toBe(Errno.EINVAL);
    expect(errno(() => dev.setAttr(attr(VGIC_GRP.NR_IRQS, 0), 96n))).toBe(Errno.EBUSY);
  });
});
