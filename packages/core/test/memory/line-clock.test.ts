/**
 * LineClock save/restore (the snapshot's coherence state): a restore replaces everything, including the
 * one-page lookup cache of the page last touched, and a malformed snapshot changes nothing.
 */
import { CostComponent, Errno, Hypervisor, KvmError, LineClock, type SavedLineClock } from '@irqflow/core';

const ADDR = 0x4000_0040;

function twoVcpus() {
  const vm = new Hypervisor().createVm();
  return [vm.createVcpu(), vm.createVcpu()] as const;
}

describe('LineClock restore', () => {
  it('forgets the stores it replaces, the last page touched too', () => {
    const [a, b] = twoVcpus();
    const lc = new LineClock(100);
    const empty = lc.save();
    a.clock = 1000;
    lc.store(ADDR, 8, a); // vCPU 0's store: the page is cached as the last one looked up
    lc.restore(empty);
    b.clock = 1010;
    lc.load(ADDR, 8, b);
    expect(b.clock).toBe(1010); // no store to wait for
    expect(b.costBy[CostComponent.CacheLineTransfer]).toBe(0);
    expect(lc.save()).toEqual([[Math.floor(ADDR / 65536), 1, -Infinity, null, null]]);
  });

  it('brings back the stores it saved: a load of another vCPU waits for the line', () => {
    const [a, b] = twoVcpus();
    const lc = new LineClock(100);
    a.clock = 1000;
    lc.store(ADDR, 8, a);
    const saved = lc.save();
    const copy = new LineClock(100);
    copy.restore(saved);
    b.clock = 1010;
    copy.load(ADDR, 8, b);
    expect(b.clock).toBe(1100);
    expect(b.costBy[CostComponent.CacheLineTransfer]).toBe(90);
  });

  it('rejects a malformed snapshot with EINVAL and keeps its state', () => {
    const [a] = twoVcpus();
    const lc = new LineClock(100);
    a.clock = 5;
    lc.store(ADDR, 4, a);
    const before = lc.save();
    const bad = [...before, [1, 0, 0, new Float64Array(3), null]] as unknown as SavedLineClock;
    let err: unknown;
    try {
      lc.restore(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KvmError);
    expect((err as KvmError).errno).toBe(Errno.EINVAL);
    expect(lc.save()).toEqual(before);
  });
});
