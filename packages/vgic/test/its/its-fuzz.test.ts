/** Property tests: random command queues, register traffic and corrupted tables never break the model. */
import fc from 'fast-check';
import { isKvmError } from '@irqflow/core';
import { GITS, ITS_GRP } from '../../src/its';
import { CMDQ_BASE, CT_BASE, DT_BASE, ITT_BASE, makeItsVm, msi } from './support/its-harness';

const CMDS = [0x01, 0x03, 0x04, 0x05, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f];

/** A command with fields drawn mostly from small, interesting ranges. */
const command = fc.record({
  cmd: fc.oneof(fc.constantFrom(...CMDS), fc.integer({ min: 0, max: 255 })),
  devid: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 0xffffffff })),
  event: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 0xffffffff })),
  intid: fc.oneof(fc.integer({ min: 8180, max: 8220 }), fc.integer({ min: 0, max: 0xffffffff })),
  size: fc.integer({ min: 0, max: 31 }),
  icid: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 0xffff })),
  target: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 0xfffff })),
  valid: fc.boolean(),
  itt: fc.oneof(
    fc.integer({ min: 0, max: 15 }).map((i) => ITT_BASE + i * 0x1000),
    fc.integer({ min: 0, max: 0xffffff }).map((x) => x * 256),
  ),
  raw: fc.option(fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 8, maxLength: 8 }), { freq: 8 }),
});
type Cmd = typeof command extends fc.Arbitrary<infer T> ? T : never;

function words(c: Cmd): number[] {
  if (c.raw) return c.raw;
  const w = new Array<number>(8).fill(0);
  w[0] = c.cmd;
  w[1] = c.devid >>> 0;
  w[2] = c.cmd === 0x08 ? c.size : c.event >>> 0;
  w[3] = c.intid >>> 0;
  if (c.cmd === 0x08) {
    w[4] = (c.itt % 4294967296) >>> 0;
    w[5] = (Math.floor(c.itt / 4294967296) | (c.valid ? 0x80000000 : 0)) >>> 0;
  } else {
    w[4] = ((c.target & 0xffff) << 16) | c.icid;
    w[5] = ((c.target >>> 16) | (c.valid ? 0x80000000 : 0)) >>> 0;
  }
  w[6] = (c.target & 0xffff) << 16;
  w[7] = c.target >>> 16;
  return w;
}

const regWrite = fc.record({
  off: fc.oneof(
    fc.constantFrom(0, 4, 8, 0x80, 0x84, 0x88, 0x8c, 0x90, 0x100, 0x104, 0x108, 0x10c, 0x110, 0x10040),
    fc.integer({ min: 0, max: 0x1ffff }),
  ),
  len: fc.constantFrom(1, 2, 4, 8),
  lo: fc.integer({ min: 0, max: 0xffffffff }),
  hi: fc.integer({ min: 0, max: 0xffffffff }),
});

describe('fuzzed ITS', () => {
  it('random command queues: no throw, the queue always drains, state bounded by the tables', () => {
    fc.assert(
      fc.property(
        fc.array(command, { maxLength: 120 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 8 })), { maxLength: 20 }),
        (cmds, msis) => {
          const t = makeItsVm({ vcpus: 4 });
          t.g.setup({ qPages: 1 });
          for (let i = 8180; i < 8230; i++) t.g.prop(i, i & 0xfc, (i & 3) !== 0);
          t.vm.memory.writeU32(CMDQ_BASE, 0); // the queue page itself
          const mem0 = t.vm.memory.allocatedBytes;
          let w = 0;
          for (const c of cmds) {
            const ws = words(c);
            for (let i = 0; i < 8; i++) t.vm.memory.writeU32(CMDQ_BASE + w + i * 4, ws[i]);
            w = (w + 32) % 4096;
            t.g.write(GITS.CWRITER, BigInt(w));
            expect(t.g.read(GITS.CREADR)).toBe(BigInt(w));
          }
          for (const [d, e] of msis) {
            try {
              expect(msi(t.vm, d, e)).toBeGreaterThanOrEqual(0);
            } catch (err) {
              expect(isKvmError(err)).toBe(true);
            }
          }
          expect(t.vm.memory.allocatedBytes).toBe(mem0); // commands never write guest memory
          expect(t.its.devices.size).toBeLessThanOrEqual(8192);
          expect(t.its.collections.size).toBeLessThanOrEqual(8192);
          let ites = 0;
          for (const d of t.its.devices.values()) {
            expect(d.ites.size).toBeLessThanOrEqual(2 ** d.eventBits);
            expect(d.eventBits).toBeLessThanOrEqual(16);
            ites += d.ites.size;
          }
          expect(t.its.lpis.size).toBeLessThanOrEqual(ites);
          expect(t.its.cache.size).toBeLessThanOrEqual(ites);
          for (const l of t.its.lpis.all()) expect(l.vcpu).toBeLessThan(4);
          // Whatever state the queue built saves and restores (or refuses cleanly).
          t.g.write(0, 0, 4);
          try {
            t.dev.setAttr({ group: ITS_GRP.CTRL, attr: 1n });
          } catch (err) {
            expect(isKvmError(err)).toBe(true);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('random register traffic of any width and offset never throws and keeps CREADR/CWRITER inside the queue', () => {
    fc.assert(
      fc.property(fc.array(regWrite, { maxLength: 60 }), (writes) => {
        const t = makeItsVm({ vcpus: 2 });
        t.g.setup();
        for (const wr of writes) {
          const dev = t.vm.mmio.find(t.g.base)!.dev;
          expect(dev.write(null, wr.off, wr.len, { lo: wr.lo, hi: wr.hi })).toBe(true);
          const v = { lo: 0, hi: 0 };
          expect(dev.read(null, wr.off, wr.len, v)).toBe(true);
          const cb = t.g.read(GITS.CBASER);
          const qsize = (Number(cb & 0xffn) + 1) * 4096;
          expect(Number(t.g.read(GITS.CREADR))).toBeLessThan(qsize);
          expect(Number(t.g.read(GITS.CWRITER))).toBeLessThan(qsize);
        }
        expect(t.vm.memory.allocatedBytes).toBeLessThanOrEqual(0x10000 * 4);
      }),
      { numRuns: 150 },
    );
  });

  it('corrupted saved tables: restore either succeeds or fails with nothing restored; it always terminates', () => {
    const corruption = fc.array(
      fc.record({
        area: fc.constantFrom(DT_BASE, CT_BASE, ITT_BASE, ITT_BASE + 0x1000, ITT_BASE + 0x3000),
        index: fc.integer({ min: 0, max: 40 }),
        lo: fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0, 0x20000000, 0x20010001)),
        hi: fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0, 0x80000000, 0x80010000, 0x00010000)),
      }),
      { minLength: 1, maxLength: 6 },
    );
    fc.assert(
      fc.property(corruption, (cs) => {
        const t = makeItsVm({ vcpus: 2 });
        t.g.setup();
        for (let i = 8192; i < 8200; i++) t.g.prop(i, 0x80, true);
        t.g.mapd(0, 4);
        t.g.mapd(1, 3, ITT_BASE + 0x1000);
        t.g.mapd(3, 2);
        t.g.mapc(0, 0);
        t.g.mapc(1, 1);
        t.g.mapti(0, 1, 8192, 0);
        t.g.mapti(1, 2, 8193, 1);
        t.g.mapti(3, 3, 8194, 1);
        t.dev.setAttr({ group: ITS_GRP.CTRL, attr: 1n });
        t.dev.setAttr({ group: ITS_GRP.CTRL, attr: 4n }); // reset: empty ITS, tables stay in memory
        t.g.setup({ enable: false });
        for (const c of cs) {
          t.vm.memory.writeU32(c.area + c.index * 8, c.lo);
          t.vm.memory.writeU32(c.area + c.index * 8 + 4, c.hi);
        }
        const mem0 = t.vm.memory.allocatedBytes;
        try {
          t.dev.setAttr({ group: ITS_GRP.CTRL, attr: 2n });
          for (const d of t.its.devices.values()) for (const ite of d.ites.values()) expect(ite.lpi.intid).toBeGreaterThanOrEqual(8192);
        } catch (err) {
          expect(isKvmError(err)).toBe(true);
          expect(t.its.devices.size + t.its.collections.size + t.its.lpis.size).toBe(0);
        }
        expect(t.vm.memory.allocatedBytes).toBe(mem0);
      }),
      { numRuns: 80 },
    );
  });
});
