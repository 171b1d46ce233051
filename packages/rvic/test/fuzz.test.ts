/* Bad input never throws: random function ids in both windows with random 64-bit arguments. */
import fc from 'fast-check';
import { RVIC_FN_BASE, RVID_FN_BASE } from '@irqflow/rvic';
import { GuestAsm, makeVm, off } from './helpers';

describe('hypercall fuzzing', () => {
  it('answers every call with NOT_SUPPORTED or a well-formed status word, and zeroes x2/x3', () => {
    const argArb = fc.oneof(
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.integer({ min: 0, max: 300 }).map(BigInt),
      fc.constantFrom(0n, 1n, 0x80000001n, 0xffffffffn, 1n << 32n),
    );
    const callArb = fc.record({
      fid: fc.oneof(
        fc.integer({ min: 0, max: 0xff }).map((n) => RVIC_FN_BASE + n),
        fc.integer({ min: 0, max: 12 }).map((n) => RVIC_FN_BASE + n),
        fc.integer({ min: 0, max: 4 }).map((n) => RVID_FN_BASE + n),
      ),
      args: fc.tuple(argArb, argArb, argArb),
    });
    fc.assert(
      fc.property(fc.array(callArb, { minLength: 1, maxLength: 40 }), (calls) => {
        const { vm } = makeVm(2);
        const bad: string[] = [];
        const a = new GuestAsm();
        a.label('main');
        for (const c of calls) {
          a.movi(1, c.args[0]).movi(2, c.args[1]).movi(3, c.args[2]).movi(0, c.fid).hvc(0);
          a.call((cpu) => {
            const x0 = BigInt.asIntN(64, cpu.xBig(0));
            const okStatus = x0 === -1n || (x0 >= 0n && x0 < 0x10000n && (x0 & 0xffn) <= 4n);
            if (!okStatus) bad.push(`fid ${c.fid.toString(16)} x0=${x0}`);
            if (x0 !== -1n && (cpu.x(2) !== 0 || cpu.x(3) !== 0)) bad.push(`fid ${c.fid.toString(16)} x2/x3 not zero`);
          });
        }
        off(a);
        vm.vcpus[0].setProgram(a.build());
        expect(() => vm.run({ until: 1e9 })).not.toThrow();
        expect(bad).toEqual([]);
        expect(vm.dump()).toContain('rVIC');
      }),
      { numRuns: 60, seed: 7 },
    );
  });
});
