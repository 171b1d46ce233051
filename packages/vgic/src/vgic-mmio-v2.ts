/**
 * GICv2 MMIO frames as declarative tables, mirroring upstream's vgic-mmio-v2.c: the distributor (GICD, 4 KiB,
 * Arm IHI 0048B 4.3) with banked private interrupts, ITARGETSR, GICD_SGIR and the SGI pending-source
 * registers; and the CPU interface as the guest sees it through GICV (8 KiB, 5.5 "GIC virtual CPU interface"):
 * page 0 (CTLR, PMR, BPR, IAR, EOIR, RPR, HPPIR, ABPR, AIAR, AEOIR, AHPPIR, APR, NSAPR, IIDR) is served by
 * hardware without a trap; page 1 (GICC_DIR) is left unmapped so DIR traps (see vgic.ts). The userspace
 * CPU_REGS view exports GICC_PMR in VMCR format (5 bits) and the APRs in the no-security-extensions format.
 *
 * @module
 */
import { CostComponent, Errno, fail } from '@irqflow/core';
import type { VgicCpu } from './vgic-cpu';
import { VgicRegisterTable, W, configReg, priorityReg, razwi, reg32, stateRegs, wi, type VgicAccess, type VgicRegister } from './vgic-mmio';
import { readIidr, userWriteIidr } from './vgic-iidr';
import { VGIC_NR_PRIVATE_IRQS, VGIC_NR_SGIS } from './vgic-irq';
import { hiddenNow } from './vgic-visibility';

/** GICv2 distributor frame size. */
export const GICV2_DIST_SIZE = 0x1000;
/** GICv2 CPU interface frame size. */
export const GICV2_CPU_SIZE = 0x2000;
/** KVM's GICC_IIDR: product 0x4b, architecture 2, implementer Arm. */
export const GICC_IIDR = ((0x4b << 20) | (2 << 16) | 0x43b) >>> 0;

const cpuOf = (a: VgicAccess): VgicCpu => a.cpu!;

const itargetsr: VgicRegister = {
  name: 'GICD_ITARGETSR',
  offset: 0x800,
  length: 0x400,
  bpi: 8,
  widths: W.B | W.W,
  read: (a, off, len, v) => {
    let r = 0;
    for (let i = 0; i < len; i++) {
      const id = off - 0x800 + i;
      if (id < VGIC_NR_PRIVATE_IRQS) r |= a.cpu ? (1 << a.cpu.index) << (8 * i) : 0;
      else {
        const irq = a.vg.irq(null, id);
        if (irq) r |= irq.targets << (8 * i);
      }
    }
    v.lo = r >>> 0;
  },
  write: (a, off, len, v) => {
    const mask = (1 << a.vg.cpus.length) - 1;
    for (let i = 0; i < len; i++) {
      const id = off - 0x800 + i;
      if (id < VGIC_NR_PRIVATE_IRQS) continue;
      const irq = a.vg.irq(null, id);
      if (!irq) continue;
      irq.targets = (v.lo >>> (8 * i)) & 0xff & mask;
      a.vg.retarget(irq);
    }
  },
};

const sgiSources = (name: string, offset: number, set: boolean): VgicRegister => ({
  name,
  offset,
  length: 0x10,
  bpi: 8,
  widths: W.B | W.W,
  banked: true, // the SGIs of the accessing CPU: none without a CPU (RAZ/WI)
  read: (a, off, len, v) => {
    let r = 0;
    for (let i = 0; i < len; i++) {
      const irq = cpuOf(a).privateIrqs[off - offset + i];
      // a source another vCPU added is not seen before its kick's instant (one stamp per SGI: vgic-visibility.ts)
      if (!hiddenNow(a.vg, irq)) r |= (irq.source & 0xff) << (8 * i);
    }
    v.lo = r >>> 0;
  },
  write: (a, off, len, v) => {
    for (let i = 0; i < len; i++) {
      const irq = cpuOf(a).privateIrqs[off - offset + i];
      const bits = (v.lo >>> (8 * i)) & 0xff;
      if (bits === 0) continue;
      if (set) {
        irq.source |= bits;
        irq.pendingLatch = true;
        a.vg.queue(irq);
      } else {
        irq.source &= ~bits;
        if (irq.source === 0) a.vg.clearPending(irq);
      }
    }
  },
});

/** The GICv2 distributor register table. */
export const GICD_V2_TABLE = new VgicRegisterTable([
  reg32(
    'GICD_CTLR',
    0x000,
    (a, o, l, v) => (v.lo = (a.vg.enableGrp0 ? 1 : 0) | (a.vg.enableGrp1 ? 2 : 0)),
    (a, o, l, v) => {
      const g0 = (v.lo & 1) !== 0;
      const g1 = (v.lo & 2) !== 0;
      if (g0 === a.vg.enableGrp0 && g1 === a.vg.enableGrp1) return;
      a.vg.enableGrp0 = g0;
      a.vg.enableGrp1 = g1;
      a.vg.groupEnablesChanged();
    },
  ),
  reg32('GICD_TYPER', 0x004, (a, o, l, v) => (v.lo = ((a.vg.nrIrqs >> 5) - 1) | ((a.vg.cpus.length - 1) << 5))),
  reg32('GICD_IIDR', 0x008, readIidr, wi, { uwrite: userWriteIidr }), // Revision: src/vgic-iidr.ts
  ...stateRegs(0, 0x80, false),
  priorityReg(0x400, 0x400, false),
  itargetsr,
  configReg(0xc00, 0x100, false),
  razwi('GICD_NSACR', 0xe00, 0x100),
  reg32(
    'GICD_SGIR',
    0xf00,
    (a, o, l, v) => (v.lo = 0),
    (a, o, l, v) => {
      const src = a.cpu;
      if (src === null) return;
      // KVM's SGIR handler decodes the value, looks the targets up and queues (vgic_mmio_write_sgir)
      const d = a.vg.vm.costNs.sgiDispatch;
      src.vcpu.clock += d;
      src.vcpu.costBy[CostComponent.SgiDispatch] += d;
      const intid = v.lo & 0xf;
      const filter = (v.lo >>> 24) & 3;
      const list = (v.lo >>> 16) & 0xff;
      for (const c of a.vg.cpus) {
        const hit = filter === 0 ? ((list >>> c.index) & 1) !== 0 : filter === 1 ? c !== src : filter === 2 ? c === src : false;
        if (hit) a.vg.sendSgi(c, intid, src.index);
      }
    },
  ),
  sgiSources('GICD_CPENDSGIR', 0xf10, false),
  sgiSources('GICD_SPENDSGIR', 0xf20, true),
  {
    name: 'PIDR',
    offset: 0xfd0,
    length: 0x30,
    bpi: 0,
    widths: W.W,
    read: (a, off, len, v) => (v.lo = off === 0xfe8 ? 0x2b : 0),
    write: () => {},
  },
]);

const ctlrRead = (c: VgicCpu): number => {
  const h = c.cpuif;
  return ((h.eng0 ? 1 : 0) | (h.eng1 ? 2 : 0) | (h.ackCtl ? 4 : 0) | (h.fiqEn ? 8 : 0) | (h.cbpr ? 16 : 0) | (h.eoim ? 0x200 : 0)) >>> 0;
};
const ctlrWrite = (c: VgicCpu, v: number): void => {
  const h = c.cpuif;
  h.eng0 = (v & 1) !== 0;
  h.eng1 = (v & 2) !== 0;
  h.ackCtl = (v & 4) !== 0;
  h.fiqEn = (v & 8) !== 0;
  h.cbpr = (v & 16) !== 0;
  h.eoim = (v & 0x200) !== 0;
  h.refresh();
};

/**
 * One view of the GICC acknowledge registers (IHI 0048B 4.4): the binary point, IAR, EOIR and HPPIR. The GICV
 * frame has no security extensions, so the plain view serves both groups (its IAR answers 1022 for a group 1
 * interrupt unless GICC_CTLR.AckCtl is set) with the group 0 (with CBPR, the common) binary point; the aliased
 * view (ABPR, AIAR, AEOIR, AHPPIR) serves group 1 with the group 1 binary point.
 */
interface GiccGroupView {
  /** Name prefix: 'GICC_' or 'GICC_A'. */
  readonly prefix: string;
  /** The group IAR and HPPIR look at: -1 either group, 1 group 1 only. */
  readonly group: -1 | 1;
  /** The VMCR binary point field the view's BPR holds. */
  readonly bpr: 'bpr0' | 'bpr1';
  /** The binary point's minimum (a smaller write reads back as the minimum). */
  readonly bprMin: number;
  /** Offsets of the view's BPR, IAR, EOIR and HPPIR. */
  readonly offsets: readonly [bpr: number, iar: number, eoir: number, hppir: number];
}

const GICC_VIEW: GiccGroupView = { prefix: 'GICC_', group: -1, bpr: 'bpr0', bprMin: 2, offsets: [0x08, 0x0c, 0x10, 0x18] };
const GICC_ALIAS_VIEW: GiccGroupView = { prefix: 'GICC_A', group: 1, bpr: 'bpr1', bprMin: 3, offsets: [0x1c, 0x20, 0x24, 0x28] };

/** The BPR, IAR, EOIR and HPPIR of one view; userspace accesses neither acknowledge nor complete. */
function giccGroupView(w: GiccGroupView): VgicRegister[] {
  const [bpr, iar, eoir, hppir] = w.offsets;
  const { group, bprMin } = w;
  const field = w.bpr;
  return [
    reg32(
      `${w.prefix}BPR`,
      bpr,
      (a, o, l, v) => (v.lo = cpuOf(a).cpuif[field]),
      (a, o, l, v) => {
        const h = cpuOf(a).cpuif;
        h[field] = Math.max(bprMin, v.lo & 7);
        h.refresh();
      },
    ),
    reg32(
      `${w.prefix}IAR`,
      iar,
      (a, o, l, v) => (v.lo = cpuOf(a).cpuif.ack(group)),
      () => {},
      { uread: (a, o, l, v) => (v.lo = 0) },
    ),
    reg32(
      `${w.prefix}EOIR`,
      eoir,
      (a, o, l, v) => (v.lo = 0),
      (a, o, l, v) => cpuOf(a).cpuif.eoi(v.lo),
      { uwrite: () => {} },
    ),
    reg32(`${w.prefix}HPPIR`, hppir, (a, o, l, v) => (v.lo = cpuOf(a).cpuif.hppir(group))),
  ];
}

/** Every register of a CPU interface frame is the accessing CPU's: RAZ/WI for an access with no CPU. */
const bankedAll = (regs: VgicRegister[]): VgicRegister[] => regs.map((r) => ({ ...r, banked: true }));

/**
 * The GICv2 CPU interface (GICV page 0, untrapped) register table, with the userspace CPU_REGS variants. A bus
 * access with no CPU reaches no CPU interface: RAZ/WI.
 */
export const GICC_TABLE = new VgicRegisterTable(
  bankedAll([
    reg32(
      'GICC_CTLR',
      0x00,
      (a, o, l, v) => (v.lo = ctlrRead(cpuOf(a))),
      (a, o, l, v) => ctlrWrite(cpuOf(a), v.lo),
    ),
    reg32(
      'GICC_PMR',
      0x04,
      (a, o, l, v) => (v.lo = cpuOf(a).cpuif.pmr),
      (a, o, l, v) => cpuOf(a).cpuif.setPmr(v.lo),
      {
        uread: (a, o, l, v) => (v.lo = cpuOf(a).cpuif.pmr >>> 3),
        uwrite: (a, o, l, v) => cpuOf(a).cpuif.setPmr((v.lo & 0x1f) << 3),
      },
    ),
    ...giccGroupView(GICC_VIEW),
    reg32('GICC_RPR', 0x14, (a, o, l, v) => (v.lo = cpuOf(a).cpuif.rpr())),
    ...giccGroupView(GICC_ALIAS_VIEW),
    {
      name: 'GICC_APR',
      offset: 0xd0,
      length: 0x10,
      bpi: 0,
      widths: W.W,
      read: (a, off, len, v) => (v.lo = off === 0xd0 ? cpuOf(a).cpuif.ap0r : 0),
      write: (a, off, len, v) => {
        if (off !== 0xd0) return;
        cpuOf(a).cpuif.ap0r = v.lo >>> 0;
        cpuOf(a).cpuif.refresh();
      },
    },
    {
      name: 'GICC_NSAPR',
      offset: 0xe0,
      length: 0x10,
      bpi: 0,
      widths: W.W,
      read: (a, off, len, v) => (v.lo = off === 0xe0 ? cpuOf(a).cpuif.ap1r : 0),
      write: (a, off, len, v) => {
        if (off !== 0xe0) return;
        cpuOf(a).cpuif.ap1r = v.lo >>> 0;
        cpuOf(a).cpuif.refresh();
      },
    },
    reg32('GICC_IIDR', 0xfc, (a, o, l, v) => (v.lo = GICC_IIDR)),
  ]),
);

/** GICV page 1: GICC_DIR, trapped (deactivation by INTID; SGIs carry the source CPU in bits [12:10]). */
export const GICC_DIR_TABLE = new VgicRegisterTable(
  bankedAll([
    reg32(
      'GICC_DIR',
      0x0,
      (a, o, l, v) => (v.lo = 0),
      (a, o, l, v) => {
        const c = cpuOf(a);
        if (!c.cpuif.eoim) return;
        const id = v.lo & 0x3ff;
        const irq = a.vg.irq(c, id);
        if (irq) a.vg.deactivate(irq, id < VGIC_NR_SGIS ? (v.lo >>> 10) & 7 : 0);
      },
    ),
  ]),
);

/** Userspace CPU_REGS offsets KVM exposes. */
export const GICC_USER_OFFSETS = new Set([0x00, 0x04, 0x08, 0x1c, 0xd0, 0xd4, 0xd8, 0xdc, 0xe0, 0xe4, 0xe8, 0xec, 0xfc]);

/** Checks a CPU_REGS offset. @throws KvmError ENXIO */
export function checkGiccUserOffset(off: number): void {
  if (!GICC_USER_OFFSETS.has(off)) fail(Errno.ENXIO, `CPU_REGS: offset 0x${off.toString(16)} is not accessible`);
}
