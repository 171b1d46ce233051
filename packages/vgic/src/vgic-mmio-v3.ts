/**
 * GICv3 MMIO frames as declarative tables, mirroring upstream's vgic-mmio-v3.c: the distributor (GICD, 64 KiB,
 * Arm IHI 0069 12.9) with affinity routing always enabled (private INTIDs RAZ/WI in GICD, IROUTER.IRM RAZ/WI as
 * KVM) and each redistributor as RD_base + SGI_base (128 KiB, 12.11). GICR_WAKER is modelled (ProcessorSleep
 * writable, ChildrenAsleep follows it) where KVM makes it RAZ/WI; both satisfy Linux's wake-up sequence.
 *
 * @module
 */
import { type VgicCpu } from './vgic-cpu';
import {
  VgicRegisterTable,
  W,
  configReg,
  priorityReg,
  raz,
  razwi,
  reg32,
  stateRegs,
  wi,
  type VgicAccess,
  type VgicRegister,
} from './vgic-mmio';
import { VGIC_NR_PRIVATE_IRQS } from './vgic-irq';
import { readIidr, userWriteIidr } from './vgic-iidr';
import { redistIsLast } from './vgic-redist';
import { readNassgireq, readTyper2, userWriteTyper2, vsgiRegister, writeNassgireq } from './v4/vsgi';

/** GICv3 ID register PIDR2 (ArchRev 3). */
export const GICV3_PIDR2 = 0x3b;
/** Size of the GICv3 distributor frame. */
export const GICV3_DIST_SIZE = 0x10000;
/** Size of one redistributor (RD_base + SGI_base). */
export const GICV3_REDIST_SIZE = 0x20000;
/** SGI_base offset inside a redistributor. */
export const SGI_BASE = 0x10000;

const idregs = (): VgicRegister[] => [
  {
    name: 'PIDR',
    offset: 0xffd0,
    length: 0x30,
    bpi: 0,
    widths: W.W,
    read: (a, off, len, v) => (v.lo = off === 0xffe8 ? GICV3_PIDR2 : 0),
    write: wi,
  },
];

/** The GICv3 distributor register table. */
export const GICD_V3_TABLE = new VgicRegisterTable([
  reg32(
    'GICD_CTLR',
    0x0000,
    (a, o, l, v) => {
      v.lo = ((a.vg.enableGrp0 ? 1 : 0) | (a.vg.enableGrp1 ? 2 : 0) | 0x10 | 0x40 | readNassgireq(a.vg)) >>> 0;
    },
    (a, o, l, v) => {
      const g0 = (v.lo & 1) !== 0;
      const g1 = (v.lo & 2) !== 0;
      writeNassgireq(a.vg, v.lo, a.vg.enableGrp0 || a.vg.enableGrp1, g0 || g1); // GICv4.1 (src/v4/vsgi.ts)
      if (g0 === a.vg.enableGrp0 && g1 === a.vg.enableGrp1) return;
      a.vg.enableGrp0 = g0;
      a.vg.enableGrp1 = g1;
      a.vg.groupEnablesChanged();
    },
  ),
  reg32('GICD_TYPER', 0x0004, (a, o, l, v) => {
    // ITLinesNumber, IDbits = 9 (10 bits of INTID: no ITS yet), LPIS/MBIS clear.
    v.lo = (((a.vg.nrIrqs >> 5) - 1) | (9 << 19) | (a.vg.lpiSupport ? (15 << 19) | (1 << 17) : 0)) >>> 0;
  }),
  reg32('GICD_IIDR', 0x0008, readIidr, wi, { uwrite: userWriteIidr }), // Revision: src/vgic-iidr.ts
  reg32('GICD_TYPER2', 0x000c, (a, o, l, v) => (v.lo = readTyper2(a.vg)), wi, {
    uwrite: (a, o, l, v) => userWriteTyper2(a.vg, v.lo >>> 0),
  }),
  reg32('GICD_STATUSR', 0x0010, raz),
  razwi('GICD_SETSPI_NSR..CLRSPI_SR', 0x0040, 0x20),
  ...stateRegs(0, 0x80, true),
  priorityReg(0x0400, 0x400, true),
  configReg(0x0c00, 0x100, true),
  razwi('GICD_IGRPMODR', 0x0d00, 0x80),
  razwi('GICD_NSACR', 0x0e00, 0x100),
  {
    name: 'GICD_IROUTER',
    offset: 0x6000,
    length: 0x2000,
    bpi: 64,
    widths: W.W | W.D,
    read: (a, off, len, v) => {
      const id = (off - 0x6000) >> 3;
      const irq = id >= VGIC_NR_PRIVATE_IRQS ? a.vg.irq(null, id) : undefined;
      if (irq === undefined) return;
      if ((off & 4) === 0) v.lo = irq.mpidr >>> 0;
      // Aff3 (bits [39:32]) is 0: KVM does not implement it.
    },
    write: (a, off, len, v) => {
      const id = (off - 0x6000) >> 3;
      const irq = id >= VGIC_NR_PRIVATE_IRQS ? a.vg.irq(null, id) : undefined;
      if (irq === undefined || (off & 4) !== 0) return;
      irq.mpidr = v.lo & 0xffffff;
      a.vg.retarget(irq);
    },
  },
  ...idregs(),
]);

const cpuOf = (a: { cpu: VgicCpu | null }): VgicCpu => a.cpu!;

/** A 64-bit LPI base register (32-bit halves allowed); writes are ignored while EnableLPIs is set. */
function baser(name: string, offset: number, get: (a: VgicAccess) => bigint, set: (a: VgicAccess, v: bigint) => void): VgicRegister {
  return {
    name,
    offset,
    length: 8,
    bpi: 0,
    widths: W.W | W.D,
    read: (a, off, len, v) => {
      const x = get(a);
      const lo = Number(x & 0xffffffffn);
      const hi = Number(x >> 32n);
      if (len === 8) {
        v.lo = lo;
        v.hi = hi;
      } else v.lo = off === offset ? lo : hi;
    },
    write: (a, off, len, v) => {
      if (a.vg.lpiHost.lpisEnabled(cpuOf(a).index)) return;
      const x = get(a);
      let n: bigint;
      if (len === 8) n = (BigInt(v.hi >>> 0) << 32n) | BigInt(v.lo >>> 0);
      else if (off === offset) n = (x & 0xffffffff00000000n) | BigInt(v.lo >>> 0);
      else n = (x & 0xffffffffn) | (BigInt(v.lo >>> 0) << 32n);
      set(a, n);
    },
  };
}

/** GICR_CTLR.CES (bit 1) and IR (bit 2). */
const GICR_CTLR_CES = 2;
const GICR_CTLR_IR = 4;

/** A 64-bit invalidation register (GICR_INVLPIR / GICR_INVALLR, GICv3.1): RAZ; a guest write acts, userspace WI. */
function invReg(name: string, offset: number, act: (a: VgicAccess, lo: number) => void): VgicRegister {
  return {
    name,
    offset,
    length: 8,
    bpi: 0,
    widths: W.W | W.D,
    read: raz,
    write: (a, off, len, v) => {
      if (off === offset) act(a, v.lo >>> 0);
    },
    uwrite: wi, // userspace (REDIST_REGS): WI, as KVM
  };
}

/** The GICv3 redistributor table (RD_base at 0, SGI_base at 0x10000). */
export const GICR_TABLE = new VgicRegisterTable([
  reg32(
    'GICR_CTLR',
    0x0000,
    // EnableLPIs [0]; CES [1] and IR [2] read as one (IIDR revision 3, as KVM): GICR_INVLPIR/INVALLR/SYNCR exist.
    (a, o, l, v) => (v.lo = (a.vg.lpiHost.lpisEnabled(cpuOf(a).index) ? 1 : 0) | GICR_CTLR_CES | GICR_CTLR_IR),
    (a, o, l, v) => a.vg.lpiHost.setEnableLpis(cpuOf(a).index, (v.lo & 1) !== 0),
  ),
  reg32('GICR_IIDR', 0x0004, readIidr),
  {
    name: 'GICR_TYPER',
    offset: 0x0008,
    length: 8,
    bpi: 0,
    widths: W.W | W.D,
    read: (a, off, len, v) => {
      // As KVM (vgic_mmio_read_v3r_typer): Processor_Number [23:8] is the vcpu_id userspace gave the vCPU (not
      // its creation order), Affinity [63:32] its MPIDR; Last [4] per src/vgic-redist.ts.
      const c = cpuOf(a);
      const lo = (((c.vcpu.id & 0xffff) << 8) | (redistIsLast(a.vg, c) ? 0x10 : 0) | (a.vg.lpiSupport ? 1 : 0)) >>> 0;
      const hi = c.vcpu.mpidr >>> 0;
      if (len === 8) {
        v.lo = lo;
        v.hi = hi;
      } else v.lo = off === 0x8 ? lo : hi;
    },
    write: wi,
  },
  reg32('GICR_STATUSR', 0x0010, raz),
  reg32(
    'GICR_WAKER',
    0x0014,
    (a, o, l, v) => {
      const s = cpuOf(a).processorSleep;
      v.lo = s ? 6 : 0;
    },
    (a, o, l, v) => {
      cpuOf(a).processorSleep = (v.lo & 2) !== 0;
    },
  ),
  baser(
    'GICR_PROPBASER',
    0x0070,
    (a) => a.vg.lpiHost.propBaserValue,
    (a, v) => (a.vg.lpiHost.propBaserValue = v),
  ),
  baser(
    'GICR_PENDBASER',
    0x0078,
    (a) => a.vg.lpiHost.pendBaser(cpuOf(a).index),
    (a, v) => (a.vg.lpiHost.pendBasers[cpuOf(a).index] = v),
  ),
  invReg('GICR_INVLPIR', 0x00a0, (a, lo) => a.vg.lpiHost.invalidateLpi(cpuOf(a).index, lo)),
  invReg('GICR_INVALLR', 0x00b0, (a) => a.vg.lpiHost.invalidateAll(cpuOf(a).index)),
  reg32('GICR_SYNCR', 0x00c0, raz), // Busy = 0: invalidation is synchronous
  ...idregs(),
  // GICv4.1: with vSGIs enabled the SGIs' state lives in the vPE (src/v4/vsgi.ts)
  ...stateRegs(SGI_BASE, 4, false).map(vsgiRegister),
  vsgiRegister(priorityReg(SGI_BASE + 0x0400, 0x20, false)),
  configReg(SGI_BASE + 0x0c00, 8, false),
  razwi('GICR_IGRPMODR0', SGI_BASE + 0x0d00, 4),
  razwi('GICR_NSACR', SGI_BASE + 0x0e00, 4),
]);
