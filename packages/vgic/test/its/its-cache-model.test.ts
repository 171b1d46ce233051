/**
 * Model-based check of the translation cache: two identical VMs run the same random command sequence and MSIs;
 * one drops its cache before every MSI. Any stale cached translation would make their answers differ.
 */
import fc from 'fast-check';
import { isKvmError } from '@irqflow/core';
import { makeItsVm, msi, type ItsTestVm } from './support/its-harness';

type Op =
  | { k: 'mapd'; d: number; bits: number; valid: boolean }
  | { k: 'mapc'; icid: number; target: number; valid: boolean }
  | { k: 'mapti'; d: number; e: number; icid: number }
  | { k: 'movi'; d: number; e: number; icid: number }
  | { k: 'discard'; d: number; e: number }
  | { k: 'movall'; from: number; to: number }
  | { k: 'lpis'; v: number; on: boolean }
  | { k: 'ctlr'; on: boolean }
  | { k: 'msi'; d: number; e: number };

const small = (max: number) => fc.integer({ min: 0, max });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('mapd' as const), d: small(3), bits: fc.integer({ min: 1, max: 3 }), valid: fc.boolean() }),
  fc.record({ k: fc.constant('mapc' as const), icid: small(3), target: small(2), valid: fc.boolean() }),
  fc.record({ k: fc.constant('mapti' as const), d: small(3), e: small(7), icid: small(3) }),
  fc.record({ k: fc.constant('movi' as const), d: small(3), e: small(7), icid: small(3) }),
  fc.record({ k: fc.constant('discard' as const), d: small(3), e: small(7) }),
  fc.record({ k: fc.constant('movall' as const), from: small(2), to: small(2) }),
  fc.record({ k: fc.constant('lpis' as const), v: small(2), on: fc.boolean() }),
  fc.record({ k: fc.constant('ctlr' as const), on: fc.boolean() }),
  fc.record({ k: fc.constant('msi' as const), d: small(3), e: small(7) }),
  fc.record({ k: fc.constant('msi' as const), d: small(3), e: small(7) }),
  fc.record({ k: fc.constant('msi' as const), d: small(3), e: small(7) }),
);

function apply(t: ItsTestVm, o: Op, dropCache: boolean): string {
  const g = t.g;
  switch (o.k) {
    case 'mapd':
      g.mapd(o.d, o.bits, undefined, o.valid);
      return '';
    case 'mapc':
      g.mapc(o.icid, o.target, o.valid);
      return '';
    case 'mapti':
      g.mapti(o.d, o.e, 8192 + o.d * 8 + o.e, o.icid);
      return '';
    case 'movi':
      g.movi(o.d, o.e, o.icid);
      return '';
    case 'discard':
      g.discard(o.d, o.e);
      return '';
    case 'movall':
      g.movall(o.from, o.to);
      return '';
    case 'lpis':
      t.host.setLpis(o.v, o.on);
      return '';
    case 'ctlr':
      g.write(0, o.on ? 1 : 0, 4);
      return '';
    case 'msi': {
      if (dropCache) t.its.invalidateCache();
      let r: string;
      try {
        r = String(msi(t.vm, o.d, o.e));
      } catch (e) {
        r = isKvmError(e) ? e.code : 'throw';
      }
      const where = [0, 1, 2].map((v) => t.host.pendingOn(v).join('+')).join('|');
      for (let v = 0; v < 3; v++) for (const i of t.host.pendingOn(v)) t.host.ack(v, i);
      return `${r}@${where}`;
    }
  }
}

describe('translation cache vs. no cache', () => {
  it('random command/MSI sequences give identical answers and targets', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const a = makeItsVm({ vcpus: 3 });
        const b = makeItsVm({ vcpus: 3 });
        for (const t of [a, b]) {
          t.g.setup();
          for (let i = 8192; i < 8192 + 32; i++) t.g.prop(i, 0x80, true);
        }
        for (const o of ops) expect(apply(a, o, false)).toBe(apply(b, o, true));
        expect(a.its.stats.cacheHits + a.its.stats.cacheMisses).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 200 },
    );
  });
});
