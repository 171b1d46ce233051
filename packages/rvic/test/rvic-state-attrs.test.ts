/**
 * The rVIC device's state attributes (README "Saving and restoring"): GRP_VCPU_STATE (ENABLE, per-interrupt
 * state, the delivery FIFO in order) and GRP_RVID, their errnos and ordering rules, and a save/restore round
 * trip through saveRvic/restoreRvic that keeps the FIFO order (which is not interrupt order).
 */
import { GuestAsm, isKvmError, Vm, type KvmDevice } from '@irqflow/core';
import {
  KVM_DEV_ARM_RVIC_GRP_RVID as RVID,
  KVM_DEV_ARM_RVIC_GRP_VCPU_STATE as STATE,
  RVIC_IRQ_ACKED,
  RVIC_IRQ_LINE,
  RVIC_IRQ_MASKED,
  RVIC_IRQ_PENDING,
  RVIC_STATE_ENABLE as ENABLE,
  RVIC_STATE_FIFO as FIFO,
  RVIC_STATE_IRQ as IRQ,
  restoreRvic,
  rvicStateAttr,
  rvidEntry,
  saveRvic,
  type RvicDevice,
} from '@irqflow/rvic';
import { makeVm } from './helpers';

const at = (mpidr: number, kind: number, index: number) => Vm.attr(STATE, rvicStateAttr(mpidr, kind, index));
function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isKvmError(e) ? e.code : 'not a KvmError';
  }
  return undefined;
}
const fifo = (dev: KvmDevice, mpidr: number) => {
  const out: bigint[] = [];
  for (let k = 0; ; k++) {
    if (code(() => dev.getAttr(at(mpidr, FIFO, k))) === 'ENOENT') return out;
    out.push(dev.getAttr(at(mpidr, FIFO, k)));
  }
};

describe('rVIC GRP_VCPU_STATE', () => {
  it('reads and writes ENABLE and per-interrupt state; pending+unmasked while enabled joins the FIFO tail', () => {
    const { dev } = makeVm(2);
    expect(dev.getAttr(at(0, ENABLE, 0))).toBe(0n);
    dev.setAttr(at(0, ENABLE, 0), 1n);
    dev.setAttr(at(0, IRQ, 40), BigInt(RVIC_IRQ_PENDING));
    dev.setAttr(at(0, IRQ, 3), BigInt(RVIC_IRQ_PENDING));
    dev.setAttr(at(0, IRQ, 20), BigInt(RVIC_IRQ_PENDING | RVIC_IRQ_MASKED));
    dev.setAttr(at(0, IRQ, 21), BigInt(RVIC_IRQ_MASKED | RVIC_IRQ_ACKED | RVIC_IRQ_LINE));
    expect(fifo(dev, 0)).toEqual([40n, 3n]);
    expect(dev.getAttr(at(0, IRQ, 21))).toBe(BigInt(RVIC_IRQ_MASKED | RVIC_IRQ_ACKED | RVIC_IRQ_LINE));
    expect(dev.getAttr(at(0, IRQ, 5))).toBe(BigInt(RVIC_IRQ_MASKED)); // reset: masked, idle
    dev.setAttr(at(0, FIFO, 0), 40n); // 40 to the tail
    expect(fifo(dev, 0)).toEqual([3n, 40n]);
    dev.setAttr(at(0, IRQ, 3), BigInt(RVIC_IRQ_MASKED | RVIC_IRQ_PENDING)); // masked: leaves the FIFO
    expect(fifo(dev, 0)).toEqual([40n]);
    dev.setAttr(at(0, ENABLE, 0), 0n);
    expect(fifo(dev, 0)).toEqual([]);
    expect(fifo(dev, 1)).toEqual([]);
  });

  it('errnos: EBUSY before INIT and while a vCPU runs; ENXIO for attributes that do not exist; EINVAL for values; ENOENT past the FIFO', () => {
    expect(code(() => makeVm(1, { init: false }).dev.getAttr(at(0, ENABLE, 0)))).toBe('EBUSY');
    const { vm, dev } = makeVm(2);
    expect(code(() => dev.getAttr(Vm.attr(STATE, rvicStateAttr(0, ENABLE, 0) | (1n << 16n))))).toBe('ENXIO'); // reserved bits
    expect(code(() => dev.getAttr(at(0, 3, 0)))).toBe('ENXIO'); // unknown kind
    expect(code(() => dev.getAttr(at(0, ENABLE, 1)))).toBe('ENXIO');
    expect(code(() => dev.getAttr(at(0, IRQ, 128)))).toBe('ENXIO'); // beyond NR_IRQS total
    expect(code(() => dev.getAttr(at(0x100, IRQ, 1)))).toBe('EINVAL'); // no such MPIDR
    expect(code(() => dev.setAttr(at(0, ENABLE, 0), 2n))).toBe('EINVAL');
    expect(code(() => dev.setAttr(at(0, IRQ, 40), 16n))).toBe('EINVAL'); // undefined bit
    expect(code(() => dev.setAttr(at(0, IRQ, 40), BigInt(RVIC_IRQ_ACKED)))).toBe('EINVAL'); // in service but unmasked
    expect(code(() => dev.setAttr(at(0, IRQ, 2), BigInt(RVIC_IRQ_LINE | RVIC_IRQ_MASKED)))).toBe('EINVAL'); // an IPI has no line
    expect(code(() => dev.setAttr(at(0, FIFO, 0), 40n))).toBe('EINVAL'); // not on the FIFO
    expect(code(() => dev.setAttr(at(0, FIFO, 1), 40n))).toBe('EINVAL'); // a FIFO write appends at position 0
    expect(code(() => dev.getAttr(at(0, FIFO, 0)))).toBe('ENOENT');
    expect(dev.getAttr(at(0, IRQ, 40))).toBe(BigInt(RVIC_IRQ_MASKED)); // the failed writes changed nothing
    expect(dev.hasAttr(at(0, IRQ, 127))).toBe(true);
    expect(dev.hasAttr(at(0, IRQ, 128))).toBe(false);
    let inside: string | undefined;
    vm.vcpus[0].setProgram(
      new GuestAsm()
        .label('main')
        .call(() => void (inside = code(() => dev.getAttr(at(0, ENABLE, 0)))))
        .label('l')
        .wfi()
        .b('l')
        .build(),
    );
    vm.vcpus[1].setProgram(new GuestAsm().label('main').label('l').wfi().b('l').build());
    vm.run({ until: 1000 });
    expect(inside).toBe('EBUSY');
  });
});

describe('rVIC GRP_RVID', () => {
  it("reads and writes routes and line levels with MAP's checks; no edge, no change to the interrupt", () => {
    const { dev } = makeVm(2);
    dev.setAttr(Vm.attr(RVID, 5), rvidEntry(true, true, 1, 40));
    expect(dev.getAttr(Vm.attr(RVID, 5))).toBe(rvidEntry(true, true, 1, 40));
    expect(dev.getAttr(at(1, IRQ, 40))).toBe(BigInt(RVIC_IRQ_MASKED)); // no edge was generated
    expect(dev.getAttr(Vm.attr(RVID, 6))).toBe(0n);
    expect(code(() => dev.setAttr(Vm.attr(RVID, 96), 0n))).toBe('ENXIO'); // 96 inputs
    expect(code(() => dev.setAttr(Vm.attr(RVID, 6), rvidEntry(true, false, 7, 41)))).toBe('EINVAL'); // MPIDR
    expect(code(() => dev.setAttr(Vm.attr(RVID, 6), rvidEntry(true, false, 1, 20)))).toBe('EINVAL'); // trusted
    expect(code(() => dev.setAttr(Vm.attr(RVID, 6), rvidEntry(true, false, 1, 40)))).toBe('EINVAL'); // 40 fed by input 5
    expect(code(() => dev.setAttr(Vm.attr(RVID, 6), 1n << 20n))).toBe('EINVAL'); // reserved bits
    expect(code(() => dev.setAttr(Vm.attr(RVID, 6), 40n))).toBe('EINVAL'); // unmapped with a target
    dev.setAttr(Vm.attr(RVID, 5), rvidEntry(false, false, 0, 0));
    dev.setAttr(Vm.attr(RVID, 6), rvidEntry(true, false, 1, 40)); // 40 is free again
    expect(dev.getAttr(Vm.attr(RVID, 6))).toBe(rvidEntry(true, false, 1, 40));
  });
});

describe('saveRvic / restoreRvic', () => {
  it('round-trips every vCPU and the rVID, keeping a FIFO order that is not interrupt order', () => {
    const a = makeVm(2);
    const d = a.dev as RvicDevice;
    d.setAttr(Vm.attr(RVID, 2), rvidEntry(true, true, 0, 50));
    for (const m of [0, 1]) d.setAttr(at(m, ENABLE, 0), 1n);
    for (const i of [60, 33, 47, 5]) d.setAttr(at(1, IRQ, i), BigInt(RVIC_IRQ_PENDING));
    d.setAttr(at(1, FIFO, 0), 33n);
    d.setAttr(at(1, FIFO, 0), 5n);
    d.setAttr(at(0, IRQ, 50), BigInt(RVIC_IRQ_PENDING | RVIC_IRQ_LINE));
    const saved = saveRvic(a.vm, d);
    expect(saved.cpus[1].fifo).toEqual([60n, 47n, 33n, 5n]); // joined 60, 33, 47, 5; then 33 and 5 moved to the tail
    const b = makeVm(2);
    restoreRvic(b.vm, b.dev, saved);
    expect(fifo(b.dev, 1)).toEqual(fifo(d, 1));
    expect(fifo(b.dev, 1)).toEqual([60n, 47n, 33n, 5n]);
    expect(saveRvic(b.vm, b.dev)).toEqual(saved);
    const other = makeVm(2, { total: 96 });
    expect(code(() => restoreRvic(other.vm, other.dev, saved))).toBe('EINVAL'); // another sizing
  });
});
