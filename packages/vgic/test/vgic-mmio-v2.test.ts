/**
 * The GICv2 CPU interface's two acknowledge views (IHI 0048B 4.4) through the GICV frame: GICC_IAR / HPPIR
 * see either group (a group 1 interrupt acknowledges as 1022 unless AckCtl), GICC_AIAR / AHPPIR / AEOIR
 * group 1; GICC_BPR and GICC_ABPR are separate binary points with minimums 2 and 3.
 */
import { GuestAsm, type Vcpu } from '@irqflow/core';
import { gicVm } from './helpers';

const D = 0x08000000;
const C = 0x08010000;
const SPI = 40;

/** vCPU 0 makes SPI 40 a pending group 1 interrupt, then runs `body`; returns what it recorded. */
function run(ctlr: number, body: (a: GuestAsm, rec: (r: number) => void) => void) {
  const { vm, dev } = gicVm('gic-v2', 1);
  const out: number[] = [];
  const a = new GuestAsm();
  a.label('main');
  a.movi(0, 3).stra(0, D); // GICD_CTLR: both groups
  a.movi(0, 0xf0).stra(0, C + 0x04);
  a.movi(0, ctlr).stra(0, C);
  a.movi(0, 0xa0).stra(0, D + 0x400 + SPI, 1);
  a.movi(0, 1).stra(0, D + 0x800 + SPI, 1);
  a.movi(0, 1 << (SPI & 31)).stra(0, D + 0x080 + 4); // IGROUPR1: group 1
  a.movi(0, 1 << (SPI & 31)).stra(0, D + 0x100 + 4);
  a.movi(0, 1 << (SPI & 31)).stra(0, D + 0x200 + 4); // ISPENDR1: pending
  body(a, (r) => a.call((v: Vcpu) => void out.push(v.x(r))));
  a.label('end').wfi().b('end');
  vm.vcpus[0].setProgram(a.build());
  vm.run({ until: 100_000 });
  return { out, dev };
}

describe('gic-v2 GICC acknowledge views', () => {
  it('HPPIR and AHPPIR show the group 1 interrupt; IAR gives 1022 without AckCtl, AIAR acknowledges it', () => {
    const { out } = run(3, (a, rec) => {
      for (const off of [0x18, 0x28, 0x0c, 0x20, 0x14]) {
        a.ldra(1, C + off);
        rec(1);
      }
      a.movi(0, SPI).stra(0, C + 0x24); // AEOIR: priority drop and deactivation
      for (const off of [0x14, 0x28, 0x20]) {
        a.ldra(1, C + off);
        rec(1);
      }
    });
    expect(out).toEqual([SPI, SPI, 1022, SPI, 0xa0, 0xff, 1023, 1023]);
  });

  it('IAR acknowledges a group 1 interrupt with AckCtl set, and EOIR completes it', () => {
    const { out } = run(3 | 4, (a, rec) => {
      a.ldra(1, C + 0x0c);
      rec(1);
      a.ldra(1, C + 0x14);
      rec(1);
      a.movi(0, SPI).stra(0, C + 0x10);
      a.ldra(1, C + 0x14);
      rec(1);
    });
    expect(out).toEqual([SPI, 0xa0, 0xff]);
  });

  it('BPR and ABPR are separate binary points with minimums 2 and 3', () => {
    const { out, dev } = run(3, (a, rec) => {
      for (const [off, val] of [
        [0x08, 0],
        [0x1c, 0],
      ]) {
        a.movi(0, val).stra(0, C + off);
        a.ldra(1, C + off);
        rec(1);
      }
      a.movi(0, 5).stra(0, C + 0x1c);
      for (const off of [0x08, 0x1c]) {
        a.ldra(1, C + off);
        rec(1);
      }
    });
    expect(out).toEqual([2, 3, 2, 5]);
    const cpuRegs = (off: bigint) => dev.getAttr({ group: 2, attr: off });
    expect([cpuRegs(0x08n), cpuRegs(0x1cn)]).toEqual([2n, 5n]);
  });
});
