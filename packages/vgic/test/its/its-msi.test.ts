/** MSIs into the ITS: KVM_SIGNAL_MSI answers (references §3), GSI routes and irqfds, and the translation cache. */
import { Errno, EventFd, Hypervisor } from '@irqflow/core';
import { itsSetMsi } from '../../src/its';
import { DOORBELL, makeItsVm, msi } from './support/its-harness';
import { errno } from './support/errno';

function ready() {
  const t = makeItsVm({ vcpus: 3 });
  t.g.setup();
  for (let i = 8192; i < 8192 + 32; i++) t.g.prop(i, 0x80, true);
  t.g.mapd(0, 4);
  t.g.mapd(1, 4);
  t.g.mapc(0, 0);
  t.g.mapc(1, 1);
  t.g.mapti(0, 0, 8192, 0);
  t.g.mapti(0, 1, 8193, 1);
  t.g.mapti(1, 0, 8194, 0);
  t.g.mapti(1, 1, 8195, 1);
  return t;
}

describe('KVM_SIGNAL_MSI into the ITS', () => {
  it('answers 1 delivered, 0 for unmapped device/event/collection, EINVAL/EBUSY/ENODEV errors', () => {
    const { vm, host, g } = ready();
    expect(msi(vm, 0, 0)).toBe(1);
    expect(msi(vm, 9, 0)).toBe(0);
    expect(msi(vm, 0, 3)).toBe(0);
    g.mapti(0, 2, 8196, 2); // collection 2 never mapped
    expect(msi(vm, 0, 2)).toBe(0);
    expect(errno(() => vm.signalMsi({ address: DOORBELL, data: 0, devid: 0 }))).toBe(Errno.EINVAL);
    expect(errno(() => msi(vm, 0, 0, 0x1000))).toBe(Errno.EINVAL);
    g.mapc(2, 2);
    host.setLpis(2, false);
    expect(errno(() => msi(vm, 0, 2))).toBe(Errno.EBUSY);
    g.write(0, 0, 4); // GITS_CTLR.Enable = 0
    expect(errno(() => msi(vm, 0, 0))).toBe(Errno.EBUSY);
    const hv = new Hypervisor({ traceCapacity: 16 });
    const bare = hv.createVm();
    expect(errno(() => itsSetMsi(bare, { address: DOORBELL, data: 0, devid: 0, flags: 1 }))).toBe(Errno.ENODEV);
  });

  it('any address inside the ITS frame reaches it (KVM looks the device up on the MMIO bus)', () => {
    const { vm, host } = ready();
    expect(msi(vm, 1, 1, DOORBELL - 0x10040 + 0x8)).toBe(1);
    expect(host.pendingOn(1)).toEqual([8195]);
  });

  it('MSI routes require the DeviceID flag; an irqfd on an MSI route injects (cached path after the first)', () => {
    const { vm, host, its } = ready();
    expect(errno(() => vm.setGsiRouting([{ gsi: 3, type: 'msi', msi: { address: DOORBELL, data: 1 } }]))).toBe(Errno.EINVAL);
    vm.setGsiRouting([{ gsi: 3, type: 'msi', msi: { address: DOORBELL, data: 1, devid: 1, flags: 1 } }]);
    const fd = new EventFd();
    vm.irqfd({ fd, gsi: 3 });
    fd.signal();
    expect(host.pendingOn(1)).toEqual([8195]);
    expect(its.stats.cacheMisses).toBe(1);
    host.ack(1, 8195);
    fd.signal();
    expect(host.pendingOn(1)).toEqual([8195]);
    expect(its.stats.cacheHits).toBe(1);
    expect(vm.routing.setIrq(3, true)).toBe(1);
  });
});

describe('translation cache', () => {
  /** Warms the cache for all four events and returns the keys cached. */
  function warm(t: ReturnType<typeof ready>): number[] {
    for (const [d, e] of [
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ])
      msi(t.vm, d, e);
    for (const [d, e] of [
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ])
      t.host.ack(e, 8192 + d * 2 + e);
    return [...t.its.cache.keys()].sort((a, b) => a - b);
  }
  const K = (d: number, e: number) => d * 65536 + e;

  it('a repeated MSI hits the cache', () => {
    const t = ready();
    msi(t.vm, 0, 0);
    t.host.ack(0, 8192);
    msi(t.vm, 0, 0);
    expect(t.its.stats.cacheMisses).toBe(1);
    expect(t.its.stats.cacheHits).toBe(1);
    expect(t.host.pendingOn(0)).toEqual([8192]);
  });

  it.each([
    ['MAPD (remap) drops that device', (t: ReturnType<typeof ready>) => t.g.mapd(0, 4), [K(1, 0), K(1, 1)]],
    ['MAPD V=0 drops that device', (t: ReturnType<typeof ready>) => t.g.mapd(1, 4, undefined, false), [K(0, 0), K(0, 1)]],
    ['MAPC drops that collection', (t: ReturnType<typeof ready>) => t.g.mapc(1, 2), [K(0, 0), K(1, 0)]],
    ['MAPC V=0 drops that collection', (t: ReturnType<typeof ready>) => t.g.mapc(0, 0, false), [K(0, 1), K(1, 1)]],
    ['MOVI drops that event', (t: ReturnType<typeof ready>) => t.g.movi(1, 0, 1), [K(0, 0), K(0, 1), K(1, 1)]],
    ['DISCARD drops that event', (t: ReturnType<typeof ready>) => t.g.discard(0, 1), [K(0, 0), K(1, 0), K(1, 1)]],
    ['MOVALL drops everything', (t: ReturnType<typeof ready>) => t.g.movall(0, 2), []],
    ['INV keeps everything', (t: ReturnType<typeof ready>) => t.g.inv(0, 0), [K(0, 0), K(0, 1), K(1, 0), K(1, 1)]],
    ['CLEAR keeps everything', (t: ReturnType<typeof ready>) => t.g.clear(0, 0), [K(0, 0), K(0, 1), K(1, 0), K(1, 1)]],
    ['disabling the ITS drops everything', (t: ReturnType<typeof ready>) => t.g.write(0, 0, 4), []],
    ['EnableLPIs = 0 drops everything', (t: ReturnType<typeof ready>) => t.host.setLpis(2, false), []],
  ])('%s', (_name, act, left) => {
    const t = ready();
    expect(warm(t)).toEqual([K(0, 0), K(0, 1), K(1, 0), K(1, 1)]);
    act(t);
    expect([...t.its.cache.keys()].sort((a, b) => a - b)).toEqual(left);
  });

  it('after MOVI the next MSI translates to the new target (no stale translation)', () => {
    const t = ready();
    warm(t);
    t.g.movi(0, 0, 1);
    msi(t.vm, 0, 0);
    expect(t.host.pendingOn(1)).toEqual([8192]);
    expect(t.host.pendingOn(0)).toEqual([]);
  });
});

describe('translation cache: a DeviceID that is not an integer', () => {
  // KVM's DeviceID is a u32; a JS number that is not one names no mapped device. Its cache key
  // (DeviceID × 2^16 + EventID) must not be taken for the key of a mapped event: 1.3 × 2^16 + 0 truncates to the
  // key of device 1 event 19660, 1.5 × 2^16 + 0 is exactly the key of device 1 event 32768.
  it.each([
    [1.3, 19660],
    [1.5, 32768],
  ])('DeviceID %p reaches no LPI, also once device 1 event %p is cached', (devid, ev) => {
    const t = makeItsVm({ vcpus: 1 });
    t.g.setup();
    t.g.prop(8192, 0x80, true);
    t.g.mapd(1, 16);
    t.g.mapc(0, 0);
    t.g.mapti(1, ev, 8192, 0);
    expect(msi(t.vm, 1, ev)).toBe(1); // cached now
    t.host.ack(0, 8192);
    for (let i = 0; i < 2; i++) {
      expect(msi(t.vm, devid, 0)).toBe(0);
      expect(t.host.pendingOn(0)).toEqual([]);
    }
    // the irqfd path (the cache only) does not deliver it either
    t.vm.setGsiRouting([{ gsi: 5, type: 'msi', msi: { address: DOORBELL, data: 0, devid, flags: 1 } }]);
    const fd = new EventFd();
    t.vm.irqfd({ fd, gsi: 5 });
    fd.signal();
    expect(t.host.pendingOn(0)).toEqual([]);
  });
});
