/**
 * "A failed call changes nothing" (issue #16, Done-when), as a property on the rVIC's KVM device: a random
 * sequence of VMM calls (KVM_CREATE_VCPU, KVM_{SET,GET,HAS}_DEVICE_ATTR on NR_IRQS, CTRL and the state groups
 * GRP_VCPU_STATE / GRP_RVID, KVM_IRQ_LINE, KVM_RUN) is applied to one VM; the calls that succeeded are applied to
 * a second, fresh VM as well. After every refused call both VMs must read back the same through the public API
 * (the attributes, the vCPUs, the state dump). Refusals must be KvmErrors (never another exception).
 */
import fc from 'fast-check';
import { GuestAsm, Hypervisor, isKvmError, Vm, type KvmDevice } from '@irqflow/core';
import {
  KVM_DEV_ARM_RVIC_CTRL_INIT,
  KVM_DEV_ARM_RVIC_GRP_CTRL,
  KVM_DEV_ARM_RVIC_GRP_NR_IRQS,
  KVM_DEV_ARM_RVIC_GRP_RVID,
  KVM_DEV_ARM_RVIC_GRP_VCPU_STATE,
  KVM_DEV_TYPE_ARM_RVIC,
  RVIC_STATE_ENABLE,
  RVIC_STATE_FIFO,
  RVIC_STATE_IRQ,
  RvicPlugin,
  rvicNrIrqs,
} from '@irqflow/rvic';

type Call =
  | { k: 'vcpu'; id: number }
  | { k: 'set' | 'get' | 'has'; group: number; attr: bigint; value: bigint }
  | { k: 'irq'; line: number; level: number }
  | { k: 'run' };

const IDLE = new GuestAsm().label('main').label('l').wfi().b('l').build();

const nrIrqs = fc.constantFrom(rvicNrIrqs(32, 128), rvicNrIrqs(32, 64), rvicNrIrqs(64, 64), rvicNrIrqs(33, 128), 0n, 1n << 40n);
const mpidr = fc.constantFrom(0n, 0n, 0n, 1n, 2n, 0x999n);
const stateAttr = fc
  .tuple(
    mpidr,
    fc.constantFrom(RVIC_STATE_ENABLE, RVIC_STATE_ENABLE, RVIC_STATE_IRQ, RVIC_STATE_IRQ, RVIC_STATE_FIFO, 3),
    fc.constantFrom(0, 0, 0, 1, 5, 16, 31, 32, 40, 63, 64, 127, 128, 0x10000),
  )
  .map(([m, kind, index]) => (m << 32n) | (BigInt(kind) << 24n) | BigInt(index & 0xffff) | (index > 0xffff ? 1n << 16n : 0n));
const rvidValue = fc.oneof(
  fc
    .tuple(fc.boolean(), fc.boolean(), fc.constantFrom(0n, 1n, 2n), fc.constantFrom(0, 16, 32, 40, 63, 64, 127, 200))
    .map(([v, l, t, id]) => (v ? 1n << 63n : 0n) | (l ? 1n << 62n : 0n) | (t << 32n) | BigInt(id)),
  fc.constantFrom(0n, 1n, 1n << 61n, (1n << 64n) - 1n),
);
const value = fc.constantFrom(0n, 1n, 2n, 3n, 5n, 7n, 8n, 10n, 11n, 15n, 16n, 40n, 1n << 33n);

const call: fc.Arbitrary<Call> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(0, 1, 2, 7).map((id): Call => ({ k: 'vcpu', id })) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(0n, 1n), nrIrqs)
      .map(([attr, v]): Call => ({ k: 'set', group: KVM_DEV_ARM_RVIC_GRP_NR_IRQS, attr, value: v })),
  },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(BigInt(KVM_DEV_ARM_RVIC_CTRL_INIT), 7n)
      .map((attr): Call => ({ k: 'set', group: KVM_DEV_ARM_RVIC_GRP_CTRL, attr, value: 0n })),
  },
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.constantFrom<'set' | 'get' | 'has'>('set', 'set', 'get', 'has'), stateAttr, value)
      .map(([k, attr, v]): Call => ({ k, group: KVM_DEV_ARM_RVIC_GRP_VCPU_STATE, attr, value: v })),
  },
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.constantFrom<'set' | 'get' | 'has'>('set', 'set', 'get', 'has'),
        fc.constantFrom(0n, 1n, 5n, 63n, 96n, 200n, 1n << 20n),
        rvidValue,
      )
      .map(([k, attr, v]): Call => ({ k, group: KVM_DEV_ARM_RVIC_GRP_RVID, attr, value: v })),
  },
  { weight: 1, arbitrary: fc.constantFrom(1, 2, 9).map((group): Call => ({ k: 'get', group, attr: 0n, value: 0n })) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.constantFrom(0, 1, 2, 3),
        fc.constantFrom(0, 1, 5),
        fc.constantFrom(0, 1, 5, 16, 32, 40, 63, 64, 95, 96, 300),
        fc.constantFrom(0, 1),
      )
      .map(([type, cpu, id, level]): Call => ({ k: 'irq', line: (type << 24) | (cpu << 16) | id, level })),
  },
  { weight: 1, arbitrary: fc.constant<Call>({ k: 'run' }) },
);

/** One VM with an rVIC device, and how to apply a call to it. */
class Subject {
  readonly vm: Vm;
  readonly dev: KvmDevice;
  private t = 0;

  constructor(hv: Hypervisor) {
    this.vm = hv.createVm();
    this.vm.createVcpu(0).setProgram(IDLE);
    this.dev = this.vm.createDevice(KVM_DEV_TYPE_ARM_RVIC);
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
    const state: string[] = [];
    for (const v of this.vm.vcpus) {
      const m = BigInt(v.mpidr) << 32n;
      state.push(tryGet(KVM_DEV_ARM_RVIC_GRP_VCPU_STATE, m | (BigInt(RVIC_STATE_ENABLE) << 24n)));
      for (const id of [0, 1, 5, 16, 31, 32, 40, 63, 64, 127])
        state.push(tryGet(KVM_DEV_ARM_RVIC_GRP_VCPU_STATE, m | (BigInt(RVIC_STATE_IRQ) << 24n) | BigInt(id)));
      for (const pos of [0, 1, 2, 3])
        state.push(tryGet(KVM_DEV_ARM_RVIC_GRP_VCPU_STATE, m | (BigInt(RVIC_STATE_FIFO) << 24n) | BigInt(pos)));
    }
    for (const input of [0n, 1n, 5n, 63n, 95n]) state.push(tryGet(KVM_DEV_ARM_RVIC_GRP_RVID, input));
    return {
      nrIrqs: tryGet(KVM_DEV_ARM_RVIC_GRP_NR_IRQS, 0n),
      finalized: this.vm.irqchipFinalized,
      ran: this.vm.anyVcpuRan,
      vcpus: this.vm.vcpus.map((v) => v.id),
      state,
      dump: d.dump?.(),
    };
  }
}

describe('rVIC device calls: a failed call changes nothing', () => {
  it('after every refused call the VM reads back as a replay of the successful calls alone', () => {
    let refused = 0;
    fc.assert(
      // most sequences start sized and initialised, so the state groups are reachable
      fc.property(fc.boolean(), fc.array(call, { minLength: 1, maxLength: 30 }), (ready, more) => {
        const calls: Call[] = ready
          ? [
              { k: 'set', group: KVM_DEV_ARM_RVIC_GRP_NR_IRQS, attr: 0n, value: rvicNrIrqs(32, 128) },
              { k: 'set', group: KVM_DEV_ARM_RVIC_GRP_CTRL, attr: BigInt(KVM_DEV_ARM_RVIC_CTRL_INIT), value: 0n },
              ...more,
            ]
          : more;
        const hv = new Hypervisor({ traceCapacity: 16 }).use(RvicPlugin);
        const subject = new Subject(hv);
        const replay = new Subject(hv);
        for (const c of calls) {
          if (subject.apply(c)) {
            expect(replay.apply(c)).toBe(true);
          } else {
            refused++;
            expect(subject.snapshot()).toEqual(replay.snapshot());
          }
        }
        expect(subject.snapshot()).toEqual(replay.snapshot());
      }),
      { numRuns: 200, seed: 20261203 },
    );
    expect(refused).toBeGreaterThan(100);
  });

  it('the readback sees the state the calls change (a successful state write shows in it)', () => {
    const hv = new Hypervisor({ traceCapacity: 16 }).use(RvicPlugin);
    const a = new Subject(hv);
    const b = new Subject(hv);
    for (const s of [a, b]) {
      s.dev.setAttr(Vm.attr(KVM_DEV_ARM_RVIC_GRP_NR_IRQS, 0), rvicNrIrqs(32, 128));
      s.dev.setAttr(Vm.attr(KVM_DEV_ARM_RVIC_GRP_CTRL, KVM_DEV_ARM_RVIC_CTRL_INIT));
    }
    expect(a.snapshot()).toEqual(b.snapshot());
    // interrupt 40 of vCPU 0 pending (and masked: the reset state)
    expect(a.apply({ k: 'set', group: KVM_DEV_ARM_RVIC_GRP_VCPU_STATE, attr: (BigInt(RVIC_STATE_IRQ) << 24n) | 40n, value: 3n })).toBe(
      true,
    );
    expect(a.snapshot()).not.toEqual(b.snapshot());
  });
});
