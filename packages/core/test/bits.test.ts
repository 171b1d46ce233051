/** 64-bit helpers, errno errors and the seeded RNG. */
import fc from 'fast-check';
import { bigField, bigHi, bigLo, Errno, fail, field32, hi32, isKvmError, join64, KvmError, lo32, Rng, toBig, u64 } from '../src';

describe('bits', () => {
  it('lo32/hi32/join64 round-trip safe integers; toBig/bigLo/bigHi round-trip 64-bit values', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (v) => {
        expect(join64(lo32(v), hi32(v))).toBe(v);
      }),
    );
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (v) => {
        expect(toBig(bigLo(v), bigHi(v))).toBe(v);
      }),
    );
    expect(bigField(0xabcd_0000_0000n, 47, 32)).toBe(0xabcd);
    expect(u64(-1n)).toBe((1n << 64n) - 1n);
    expect(field32(0xf0f0_0000, 31, 28)).toBe(0xf);
    expect(field32(0x8000_0001, 31, 0)).toBe(0x8000_0001);
  });
});

describe('errno', () => {
  it('KvmError carries errno and symbolic code; fail throws it', () => {
    const e = new KvmError(Errno.EBUSY, 'vCPU running');
    expect(e).toBeInstanceOf(Error);
    expect(e.errno).toBe(16);
    expect(e.code).toBe('EBUSY');
    expect(e.message).toBe('EBUSY: vCPU running');
    expect(() => fail(Errno.ENXIO, 'x')).toThrow(KvmError);
    expect(isKvmError(e, Errno.EBUSY)).toBe(true);
    expect(isKvmError(e, Errno.EINVAL)).toBe(false);
    expect(isKvmError(new Error('x'))).toBe(false);
  });
});

describe('Rng', () => {
  it('is deterministic per seed and differs across seeds; int stays in range', () => {
    const seq = (s: number): number[] => {
      const r = new Rng(s);
      return Array.from({ length: 8 }, () => r.nextU32());
    };
    expect(seq(1)).toEqual(seq(1));
    expect(seq(1)).not.toEqual(seq(2));
    const r = new Rng(9);
    for (let i = 0; i < 1000; i++) {
      const x = r.int(7);
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(7);
      const f = r.float();
      expect(f).toBeGreaterThanOrEqual(0);
      expect(f).toBeLessThan(1);
    }
  });
});
