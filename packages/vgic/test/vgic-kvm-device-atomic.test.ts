/**
 * "A failed call changes nothing", as a property: a random sequence of VMM calls on a vGICv2 / vGICv3 VM
 * (KVM_CREATE_VCPU, KVM_{SET,GET,HAS}_DEVICE_ATTR on every group, KVM_IRQ_LINE, KVM_RUN) is applied to one VM;
 * the calls that succeeded are applied to a second, fresh VM as well. After every refused call both VMs must read
 * back the same through the public API (attributes, vCPUs, bus frames, the vgic-state dump). Refusals must be
 * KvmErrors (never another exception).
 */
import fc from 'fast-check';
import { GuestAsm, Hypervisor, isKvmError, type KvmDevice, type Vm } from '@irqflow/core';
import { VGIC_GRP, VgicPlugin } from '@irqflow/vgic';

type Call =
  | { k: 'vcpu'; id: number }
  | { k: 'set' | 'get' | 'has'; group: number; attr: bigint; value: bigint }
  | { k: 'irq'; line: number; level: number }
  | { k: 'run' };

const IDLE = new GuestAsm().label('main').label('l').wfi().b('l').build();

const addrs = [
  0n,
  0x1000n,
  0x800n,
  0x08000000n,
  0x08001000n,
  0x08010000n,
  0x080a0000n,
  0x080c0000n,
  (1n << 40n) - 0x10000n,
  (1n << 40n) - 0x40000n,
  1n << 40n,
];
const region = fc
  .record({
    index: fc.integer({ min: 0, max: 2 }),
    base: fc.constantFrom(...addrs),
    count: fc.integer({ min: 0, max: 3 }),
    flags: fc.constantFrom(0, 0, 0, 1),
  })
  .map((r) => (BigInt(r.count) << 52n) | ((r.base >> 16n) << 16n) | (BigInt(r.flags) << 12n) | BigInt(r.index));
const cpuField = fc.constantFrom(0n, 1n, 2n, 3n, 5n, 0x999n);
const offsets = [
  0x0, 0x4, 0x8, 0xc, 0x80, 0x100, 0x104, 0x180, 0x200, 0x300, 0x400, 0x404, 0x800, 0x820, 0xc00, 0xc04, 0xd0, 0xe0, 0xf10, 0xf20, 0xf30,
  0x102, 0x14, 0x6100, 0xffe8, 0x10100, 0x10200,
];
const sysregs = [0xc230, 0xc643, 0xc663, 0xc664, 0xc665, 0xc667, 0xc644, 0xc645, 0xc649, 0xc660];
const levelInfo = [0, 32, 33, 64, 96, 992, 1024, 2080];
const u32 = fc.oneof(
  fc.constantFrom(0n, 1n, 0xffffffffn, 0x402n, 0x100n, 0x4b00243bn, 0x4b00343bn, 0x407n),
  fc.bigInt({ min: 0n, max: 0xffffffffn }),
);

const regAttr = fc.oneof(
  fc
    .tuple(fc.constantFrom(VGIC_GRP.DIST_REGS, VGIC_GRP.CPU_REGS, VGIC_GRP.REDIST_REGS), cpuField, fc.constantFrom(...offsets))
    .map(([group, c, off]) => ({ group, attr: (c << 32n) | BigInt(off) })),
  fc.tuple(cpuField, fc.constantFrom(...sysregs)).map(([c, enc]) => ({ group: VGIC_GRP.CPU_SYSREGS, attr: (c << 32n) | BigInt(enc) })),
  fc.tuple(cpuField, fc.constantFrom(...levelInfo)).map(([c, off]) => ({ group: VGIC_GRP.LEVEL_INFO, attr: (c << 32n) | BigInt(off) })),
);

const call: fc.Arbitrary<Call> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(0, 1, 2, 3, 9).map((id): Call => ({ k: 'vcpu', id })) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(0n, 32n, 64n, 100n, 128n, 256n, 1024n, 1056n)
      .map((value): Call => ({ k: 'set', group: VGIC_GRP.NR_IRQS, attr: 0n, value })),
  },
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.constantFrom(0, 1, 2, 3, 4, 6), fc.constantFrom(...addrs))
      .map(([t, value]): Call => ({ k: 'set', group: VGIC_GRP.ADDR, attr: BigInt(t), value })),
  },
  { weight: 3, arbitrary: region.map((value): Call => ({ k: 'set', group: VGIC_GRP.ADDR, attr: 5n, value })) },
  { weight: 2, arbitrary: fc.constantFrom(0n, 3n, 7n).map((attr): Call => ({ k: 'set', group: VGIC_GRP.CTRL, attr, value: 0n })) },
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.constantFrom<'set' | 'get' | 'has'>('set', 'get', 'has'), regAttr, u32)
      .map(([k, a, value]): Call => ({ k, ...a, value })),
  },
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.constantFrom(0, 1, 2, 3),
        fc.constantFrom(0, 1, 2, 5),
        fc.constantFrom(0, 1, 5, 16, 27, 31, 32, 40, 100, 255, 256, 300, 1019, 1020),
        fc.constantFrom(0, 1),
      )
      .map(([type, cpu, id, level]): Call => ({ k: 'irq', line: (type << 24) | (cpu << 16) | id, level })),
  },
  { weight: 1, arbitrary: fc.constant<Call>({ k: 'run' }) },
);

/** One VM with a GIC of the given type, and how to apply a call to it. */
class Subject {
  readonly vm: Vm;
  readonly dev: KvmDevice;
  private t = 0;

  constructor(
    hv: Hypervisor,
    readonly type: 5 | 7,
  ) {
    this.vm = hv.createVm();
    this.vm.createVcpu(0).setProgram(IDLE);
    this.dev = this.vm.createDevice(type);
  }

  /** Applies `c`; returns whether it succeeded. Anything but a KvmError is rethrown. */
  apply(c: Call): boolean {
    try {
      switch (c.k) {
        case 'vcpu':
          this.vm.createVcpu(c.id).setProgram(IDLE);
          break;
        case 'set':
          this.dev.setAttr({ group: c.group, attr: c.attr }, c.value);
          break;
        case 'get':
          this.dev.getAttr({ group: c.group, attr: c.attr });
          break;
        case 'has':
          this.dev.hasAttr({ group: c.group, attr: c.attr });
          break;
        case 'irq':
          this.vm.irqLine(c.line, c.level);
          break;
        case 'run':
          this.t += 1000;
          this.vm.run({ until: this.t });
          break;
      }
      return true;
    } catch (e) {
      if (isKvmError(e)) return false;
      throw e;
    }
  }

  /** Everything a VMM can read back without changing anything. */
  snapshot(): unknown {
    const d = this.dev;
    const tryGet = (group: number, attr: bigint): string => {
      try {
        return d.getAttr({ group, attr }).toString(16);
      } catch (e) {
        if (isKvmError(e)) return `errno ${e.errno}`;
        throw e;
      }
    };
    const out: Record<string, unknown> = {
      nrIrqs: tryGet(VGIC_GRP.NR_IRQS, 0n),
      finalized: this.vm.irqchipFinalized,
      ran: this.vm.anyVcpuRan,
      vcpus: this.vm.vcpus.map((v) => v.id),
      frames: this.vm.mmio.devices.map((r) => `${r.dev.name}@${r.base.toString(16)}+${r.size.toString(16)}`),
      dump: d.dump?.(),
    };
    if (this.type === 5) out.addrs = [0n, 1n].map((t) => tryGet(VGIC_GRP.ADDR, t));
    else out.addrs = [2n, 3n, 5n, 5n | (1n << 32n), 5n | (2n << 32n)].map((t) => tryGet(VGIC_GRP.ADDR, t));
    // registers: only once initialised (a GICv2 read would otherwise initialise it)
    if (this.vm.irqchipFinalized) {
      const regs: string[] = [];
      for (const v of this.vm.vcpus) {
        const k = BigInt(this.type === 5 ? v.id : v.mpidr) << 32n;
        if (this.type === 7) {
          regs.push(tryGet(VGIC_GRP.REDIST_REGS, k | 0x8n), tryGet(VGIC_GRP.REDIST_REGS, k | 0xcn), tryGet(VGIC_GRP.LEVEL_INFO, k | 0n));
          for (const enc of sysregs) regs.push(tryGet(VGIC_GRP.CPU_SYSREGS, k | BigInt(enc)));
        } else for (const off of [0x0n, 0x4n, 0x8n, 0x1cn, 0xd0n, 0xe0n]) regs.push(tryGet(VGIC_GRP.CPU_REGS, k | off));
      }
      for (const off of [0x0n, 0x4n, 0x8n, 0xcn]) regs.push(tryGet(VGIC_GRP.DIST_REGS, off));
      out.regs = regs;
    }
    return out;
  }
}

describe('vgic device calls: a failed call changes nothing', () => {
  it.each([
    ['GICv2', 5],
    ['GICv3', 7],
  ] as const)('%s: after every refused call the VM reads back as a replay of the successful calls alone', (_name, type) => {
    fc.assert(
      fc.property(fc.array(call, { minLength: 1, maxLength: 30 }), (calls) => {
        const hv = new Hypervisor({ traceCapacity: 16 }).use(VgicPlugin);
        const subject = new Subject(hv, type);
        const replay = new Subject(hv, type);
        for (const c of calls) {
          if (subject.apply(c)) {
            expect(replay.apply(c)).toBe(true);
          } else {
            expect(subject.snapshot()).toEqual(replay.snapshot());
          }
        }
        expect(subject.snapshot()).toEqual(replay.snapshot());
      }),
      { numRuns: 120, seed: 20261203 },
    );
  });
});
