/** The MMIO bus: registration, overlap refusal, lookup, and ioeventfd registration rules. */
import fc from 'fast-check';
import { Errno, EventFd, Hypervisor, type MmioBus, type MmioDevice } from '../../src';
import { errno } from '../support/errno';

const dev = (name: string): MmioDevice => ({ name, read: () => true, write: () => true });

function bus(): MmioBus {
  return new Hypervisor({ traceCapacity: 16 }).createVm().mmio;
}

describe('device registration', () => {
  it('refuses overlapping ranges with EEXIST and keeps the first registration', () => {
    const b = bus();
    const d1 = dev('GICD');
    b.register(0x8000000, 0x10000, d1);
    expect(errno(() => b.register(0x800f000, 0x2000, dev('X')))).toBe(Errno.EEXIST);
    expect(errno(() => b.register(0x7fff000, 0x1001, dev('Y')))).toBe(Errno.EEXIST);
    expect(errno(() => b.register(0x8004000, 0x10, dev('Z')))).toBe(Errno.EEXIST);
    expect(errno(() => b.register(0x8010000, 0x10000, dev('GICR')))).toBe('ok');
    expect(errno(() => b.register(0x7ff0000, 0x10000, dev('below')))).toBe('ok');
    expect(b.devices.map((r) => r.dev.name)).toEqual(['below', 'GICD', 'GICR']);
    expect(b.find(0x800ffff)?.dev).toBe(d1);
  });

  it('refuses empty, negative and unsafe ranges with EINVAL', () => {
    const b = bus();
    expect(errno(() => b.register(0x1000, 0, dev('a')))).toBe(Errno.EINVAL);
    expect(errno(() => b.register(-1, 0x10, dev('a')))).toBe(Errno.EINVAL);
    expect(errno(() => b.register(2 ** 60, 0x10, dev('a')))).toBe(Errno.EINVAL);
    expect(b.devices).toHaveLength(0);
  });

  it('refuses a device over an existing ioeventfd (EEXIST)', () => {
    const b = bus();
    b.addIoEventFd({ addr: 0x5000, len: 4, fd: new EventFd() });
    expect(errno(() => b.register(0x4000, 0x2000, dev('a')))).toBe(Errno.EEXIST);
  });

  it('unregister removes every range of the device', () => {
    const b = bus();
    const d = dev('a');
    b.register(0x1000, 0x100, d);
    b.register(0x3000, 0x100, d);
    expect(b.find(0x1000)?.dev).toBe(d);
    b.unregister(d);
    expect(b.find(0x1000)).toBeUndefined();
    expect(b.find(0x3050)).toBeUndefined();
  });

  it('find agrees with a linear scan for random non-overlapping layouts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 1, max: 8 })), { maxLength: 20 }),
        fc.array(fc.integer({ min: 0, max: 2000 }), { maxLength: 40 }),
        (specs, probes) => {
          const b = bus();
          const placed: [number, number, MmioDevice][] = [];
          for (const [slot, size] of specs) {
            const base = slot * 10;
            const d = dev(`d${slot}`);
            const overlaps = placed.some(([pb, ps]) => base < pb + ps && pb < base + size);
            expect(errno(() => b.register(base, size, d))).toBe(overlaps ? Errno.EEXIST : 'ok');
            if (!overlaps) placed.push([base, size, d]);
          }
          for (const p of probes) {
            const want = placed.find(([pb, ps]) => p >= pb && p < pb + ps)?.[2];
            expect(b.find(p)?.dev).toBe(want);
          }
        },
      ),
    );
  });
});

describe('ioeventfd registration', () => {
  it('refuses a duplicate (same address, length and datamatch) with EEXIST', () => {
    const b = bus();
    b.addIoEventFd({ addr: 0x1000, len: 4, fd: new EventFd() });
    expect(errno(() => b.addIoEventFd({ addr: 0x1000, len: 4, fd: new EventFd() }))).toBe(Errno.EEXIST);
    b.addIoEventFd({ addr: 0x2000, len: 4, datamatch: 1, fd: new EventFd() });
    expect(errno(() => b.addIoEventFd({ addr: 0x2000, len: 4, datamatch: 1, fd: new EventFd() }))).toBe(Errno.EEXIST);
    expect(errno(() => b.addIoEventFd({ addr: 0x2000, len: 4, datamatch: 2, fd: new EventFd() }))).toBe('ok');
    expect(errno(() => b.addIoEventFd({ addr: 0x1000, len: 8, fd: new EventFd() }))).toBe('ok');
  });

  it('a wildcard collides with any datamatch at the same address and length (KVM ioeventfd_check_collision)', () => {
    const b = bus();
    b.addIoEventFd({ addr: 0x1000, len: 4, datamatch: 5, fd: new EventFd() });
    expect(errno(() => b.addIoEventFd({ addr: 0x1000, len: 4, fd: new EventFd() }))).toBe(Errno.EEXIST);
    const c = bus();
    c.addIoEventFd({ addr: 0x1000, len: 4, fd: new EventFd() });
    expect(errno(() => c.addIoEventFd({ addr: 0x1000, len: 4, datamatch: 5, fd: new EventFd() }))).toBe(Errno.EEXIST);
  });

  it('a zero-length (any width) registration collides with every registration at its address', () => {
    const b = bus();
    b.addIoEventFd({ addr: 0x1000, len: 0, fd: new EventFd() });
    expect(errno(() => b.addIoEventFd({ addr: 0x1000, len: 2, datamatch: 1, fd: new EventFd() }))).toBe(Errno.EEXIST);
  });

  it('refuses bad lengths, misaligned addresses and overlaps with devices', () => {
    const b = bus();
    b.register(0x8000, 0x100, dev('a'));
    expect(errno(() => b.addIoEventFd({ addr: 0x1000, len: 3, fd: new EventFd() }))).toBe(Errno.EINVAL);
    expect(errno(() => b.addIoEventFd({ addr: 0x1002, len: 4, fd: new EventFd() }))).toBe(Errno.EINVAL);
    expect(errno(() => b.addIoEventFd({ addr: 0x8010, len: 4, fd: new EventFd() }))).toBe(Errno.EEXIST);
    expect(b.hasIoEventFds).toBe(false);
  });

  it('matching honours length (0 = any) and 64-bit datamatch', () => {
    const b = bus();
    const any = new EventFd('any');
    const dm = new EventFd('dm');
    b.addIoEventFd({ addr: 0x1000, len: 0, fd: any });
    b.addIoEventFd({ addr: 0x2000, len: 8, datamatch: 0x1_0000_0002n, fd: dm });
    expect(b.findIoEventFd(0x1000, 1, 0, 0)).toBe(any);
    expect(b.findIoEventFd(0x1000, 8, 9, 9)).toBe(any);
    expect(b.findIoEventFd(0x2000, 8, 2, 1)).toBe(dm);
    expect(b.findIoEventFd(0x2000, 8, 2, 0)).toBeNull();
    expect(b.findIoEventFd(0x2000, 4, 2, 1)).toBeNull();
  });

  it('deassign of an unknown registration → ENOENT', () => {
    const b = bus();
    expect(errno(() => b.removeIoEventFd({ addr: 0x1000, len: 4, fd: new EventFd() }))).toBe(Errno.ENOENT);
  });
});
