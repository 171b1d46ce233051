/**
 * The GICv3 CPU interface system registers (Arm IHI 0069, 12.2 "ICC_* registers"), as the guest reaches them
 * through the virtual CPU interface (ICV_* behaviour, 12.3) and as userspace reaches them through
 * KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS (upstream vgic-sys-reg-v3.c). IAR, EOIR, HPPIR, RPR, PMR, BPR, CTLR, IGRPEN
 * and the APRs are served by the hardware model without a trap (charged cpuifAccess); ICC_SGI1R/ASGI1R/SGI0R
 * always trap; ICC_DIR_EL1 always traps (ICH_HCR_EL2.TDIR kept set — see vgic.ts). With 5 priority bits only
 * ICC_AP0R0/AP1R0 exist; AP*R1..3 are UNDEFINED to the guest; userspace sees them listed (HAS_ATTR) but
 * their get/set are EINVAL, as KVM.
 *
 * @module
 */
import { CostComponent, Errno, fail, SYSREGS, type Vcpu } from '@irqflow/core';
import type { Vgic } from './vgic';
import type { VgicCpu } from './vgic-cpu';
import { sendVsgi } from './v4/vsgi';
import { v4HooksCell, type V4HooksCell } from './v4/v4-hooks';
import { VGIC_NR_SGIS } from './vgic-irq';

/** ICC_CTLR_EL1 as read: PRIbits = 4 (5 bits), IDbits = 0 (16-bit INTIDs), EOImode, CBPR. */
function ctlrValue(c: VgicCpu): number {
  const h = c.cpuif;
  return ((4 << 8) | (h.eoim ? 2 : 0) | (h.cbpr ? 1 : 0)) >>> 0;
}

/** Userspace view of the CPU interface registers: encoding → accessors. */
const USER_SYSREGS = new Map<number, { get(c: VgicCpu): number; set(c: VgicCpu, v: number): void }>([
  [SYSREGS.ICC_PMR_EL1, { get: (c) => c.cpuif.pmr, set: (c, v) => void (c.cpuif.pmr = v & 0xf8) }],
  [SYSREGS.ICC_BPR0_EL1, { get: (c) => c.cpuif.bpr0, set: (c, v) => void (c.cpuif.bpr0 = Math.max(2, v & 7)) }],
  [SYSREGS.ICC_BPR1_EL1, { get: (c) => c.cpuif.bpr1, set: (c, v) => void (c.cpuif.bpr1 = Math.max(3, v & 7)) }],
  [
    SYSREGS.ICC_CTLR_EL1,
    {
      get: ctlrValue,
      set: (c, v) => {
        if (((v >>> 8) & 7) !== 4) fail(Errno.EINVAL, 'ICC_CTLR_EL1.PRIbits must be 4 (5 priority bits)');
        if (((v >>> 11) & 7) > 1) fail(Errno.EINVAL, 'ICC_CTLR_EL1.IDbits must describe 16 or 24 INTID bits');
        c.cpuif.eoim = (v & 2) !== 0;
        c.cpuif.cbpr = (v & 1) !== 0;
      },
    },
  ],
  [
    SYSREGS.ICC_SRE_EL1,
    {
      get: () => 7,
      set: (_c, v) => {
        if ((v & 1) === 0) fail(Errno.EINVAL, 'ICC_SRE_EL1.SRE is RAO: the vGICv3 has no memory-mapped CPU interface');
      },
    },
  ],
  [SYSREGS.ICC_IGRPEN0_EL1, { get: (c) => (c.cpuif.eng0 ? 1 : 0), set: (c, v) => void (c.cpuif.eng0 = (v & 1) !== 0) }],
  [SYSREGS.ICC_IGRPEN1_EL1, { get: (c) => (c.cpuif.eng1 ? 1 : 0), set: (c, v) => void (c.cpuif.eng1 = (v & 1) !== 0) }],
  [SYSREGS.ICC_AP0R0_EL1, { get: (c) => c.cpuif.ap0r, set: (c, v) => void (c.cpuif.ap0r = v >>> 0) }],
  [SYSREGS.ICC_AP1R0_EL1, { get: (c) => c.cpuif.ap1r, set: (c, v) => void (c.cpuif.ap1r = v >>> 0) }],
  // KVM lists ICC_AP0R1..3 / AP1R1..3 whatever the priority bits (HAS_ATTR succeeds); with PRIbits = 4 (5 bits,
  // one APR each) their get/set are EINVAL (vgic-sys-reg-v3.c get/set_gic_ap0r/ap1r: idx > max_apr_idx).
  unimplementedApr(SYSREGS.ICC_AP0R1_EL1, 'ICC_AP0R1_EL1'),
  unimplementedApr(SYSREGS.ICC_AP0R2_EL1, 'ICC_AP0R2_EL1'),
  unimplementedApr(SYSREGS.ICC_AP0R3_EL1, 'ICC_AP0R3_EL1'),
  unimplementedApr(SYSREGS.ICC_AP1R1_EL1, 'ICC_AP1R1_EL1'),
  unimplementedApr(SYSREGS.ICC_AP1R2_EL1, 'ICC_AP1R2_EL1'),
  unimplementedApr(SYSREGS.ICC_AP1R3_EL1, 'ICC_AP1R3_EL1'),
]);

/** An active-priority register beyond what PRIbits implements: listed (HAS_ATTR), but get/set EINVAL. */
function unimplementedApr(enc: number, name: string): [number, { get(c: VgicCpu): number; set(c: VgicCpu, v: number): void }] {
  const refuse = (): never => fail(Errno.EINVAL, `${name}: not implemented with 5 priority bits (ICC_CTLR_EL1.PRIbits = 4)`);
  return [enc, { get: refuse, set: refuse }];
}

/** CPU_SYSREGS get. @throws KvmError ENXIO for a register KVM does not expose */
export function getCpuSysreg(c: VgicCpu, enc: number): bigint {
  const r = USER_SYSREGS.get(enc);
  if (!r) fail(Errno.ENXIO, `CPU_SYSREGS: register encoding 0x${enc.toString(16)} is not accessible`);
  return BigInt(r.get(c) >>> 0);
}

/** CPU_SYSREGS set. @throws KvmError ENXIO for an unknown register, EINVAL for an inconsistent value */
export function setCpuSysreg(c: VgicCpu, enc: number, value: bigint): void {
  const r = USER_SYSREGS.get(enc);
  if (!r) fail(Errno.ENXIO, `CPU_SYSREGS: register encoding 0x${enc.toString(16)} is not accessible`);
  r.set(c, Number(value & 0xffffffffn));
  c.cpuif.refresh();
}

/** Whether userspace can reach `enc`. */
export function hasCpuSysreg(enc: number): boolean {
  return USER_SYSREGS.has(enc);
}

/**
 * CostComponent.SgiDispatch, read once: `@irqflow/core`'s exports object is in dictionary mode (re-exports are
 * getters), so reading an enum through it is a generic lookup and a getter call at every SGI.
 */
const SGI_DISPATCH = CostComponent.SgiDispatch;

/**
 * Sends SGIs from an ICC_SGI1R/ASGI1R/SGI0R value (lo, hi halves): TargetList[15:0], Aff1[23:16], INTID[27:24],
 * Aff2[39:32], IRM[40] (every vCPU but the sender), RS[47:44] (Aff0 range selector), Aff3[55:48].
 */
export function dispatchSgi(vg: Vgic, vcpu: Vcpu, lo: number, hi: number, group: number, v4: V4HooksCell = v4HooksCell(vg.vm)): void {
  const intid = (lo >>> 24) & 0xf;
  const self = vg.cpu(vcpu);
  // the trapped write's dispatch: decode, target lookup, queue (vgic_v3_dispatch_sgi)
  const d = vg.vm.costNs.sgiDispatch; // added in place: a double passed as an argument would be boxed
  vcpu.clock += d;
  vcpu.costBy[SGI_DISPATCH] += d;
  if ((hi >>> 8) & 1) {
    for (const c of vg.cpus) if (c !== self) sgiTo(vg, c, intid, self, group, v4);
    return;
  }
  if ((hi >>> 16) & 0xff) return; // Aff3 != 0: no vCPU
  const targets = lo & 0xffff;
  // Aff2.Aff1 and RS * 16 as Aff0's base: target t is at MPIDR base | t
  const base = ((hi & 0xff) << 16) | (((lo >>> 16) & 0xff) << 8) | (((hi >>> 12) & 0xf) << 4);
  // the set TargetList bits only, lowest first: one step for an IPI's single target
  for (let rest = targets; rest !== 0; rest &= rest - 1) {
    const v = vg.vm.vcpuByMpidr(base | (31 - Math.clz32(rest & -rest)));
    if (v !== undefined) sgiTo(vg, vg.cpu(v), intid, self, group, v4);
  }
}

function sgiTo(vg: Vgic, c: VgicCpu, intid: number, from: VgicCpu, group: number, v4: V4HooksCell): void {
  if (intid >= VGIC_NR_SGIS || c.privateIrqs[intid].group !== group) return;
  if (sendVsgi(vg, c, intid, v4)) return; // GICv4.1 vSGI: pending in the target vPE directly
  vg.sendSgi(c, intid, from.index);
}

/** Registers the guest-facing ICC_* system registers on the VM. */
export function registerIccSysregs(vg: Vgic): void {
  const s = vg.vm.sysregs;
  const hw = (v: Vcpu) => vg.cpu(v).cpuif;
  // The untrapped ICC_* registers act on this vCPU's virtual CPU interface only (local under lookahead), except
  // an EOI that deactivates a hardware-mapped interrupt: that reaches the host interrupt, so it keeps exact order.
  const eoiLocal = (v: Vcpu) => !hw(v).holdsHwLr();
  s.register(SYSREGS.ICC_IAR1_EL1, { trapped: false, local: true, hot: true, read: (v) => hw(v).ack(1) });
  s.register(SYSREGS.ICC_IAR0_EL1, { trapped: false, local: true, hot: true, read: (v) => hw(v).ack(0) });
  s.register(SYSREGS.ICC_EOIR1_EL1, { trapped: false, local: eoiLocal, hot: true, write: (v, lo) => hw(v).eoi(lo) });
  s.register(SYSREGS.ICC_EOIR0_EL1, { trapped: false, local: eoiLocal, hot: true, write: (v, lo) => hw(v).eoi(lo) });
  s.register(SYSREGS.ICC_HPPIR1_EL1, { trapped: false, local: true, read: (v) => hw(v).hppir(1) });
  s.register(SYSREGS.ICC_HPPIR0_EL1, { trapped: false, local: true, read: (v) => hw(v).hppir(0) });
  s.register(SYSREGS.ICC_RPR_EL1, { trapped: false, local: true, read: (v) => hw(v).rpr() });
  s.register(SYSREGS.ICC_PMR_EL1, { trapped: false, local: true, read: (v) => hw(v).pmr, write: (v, lo) => hw(v).setPmr(lo) });
  const vmcr = (set: (c: VgicCpu, lo: number) => void) => (v: Vcpu, lo: number) => {
    const c = vg.cpu(v);
    set(c, lo);
    c.cpuif.refresh();
  };
  s.register(SYSREGS.ICC_BPR0_EL1, {
    trapped: false,
    local: true,
    read: (v) => hw(v).bpr0,
    write: vmcr((c, lo) => (c.cpuif.bpr0 = Math.max(2, lo & 7))),
  });
  s.register(SYSREGS.ICC_BPR1_EL1, {
    trapped: false,
    local: true,
    read: (v) => (hw(v).cbpr ? Math.min(7, hw(v).bpr0 + 1) : hw(v).bpr1),
    write: vmcr((c, lo) => {
      if (!c.cpuif.cbpr) c.cpuif.bpr1 = Math.max(3, lo & 7);
    }),
  });
  s.register(SYSREGS.ICC_CTLR_EL1, {
    trapped: false,
    local: true,
    read: (v) => ctlrValue(vg.cpu(v)),
    write: vmcr((c, lo) => {
      c.cpuif.eoim = (lo & 2) !== 0;
      c.cpuif.cbpr = (lo & 1) !== 0;
    }),
  });
  s.register(SYSREGS.ICC_SRE_EL1, { trapped: false, local: true, read: () => 7, write: () => {} });
  s.register(SYSREGS.ICC_IGRPEN0_EL1, {
    trapped: false,
    local: true,
    read: (v) => (hw(v).eng0 ? 1 : 0),
    write: vmcr((c, lo) => (c.cpuif.eng0 = (lo & 1) !== 0)),
  });
  s.register(SYSREGS.ICC_IGRPEN1_EL1, {
    trapped: false,
    local: true,
    read: (v) => (hw(v).eng1 ? 1 : 0),
    write: vmcr((c, lo) => (c.cpuif.eng1 = (lo & 1) !== 0)),
  });
  s.register(SYSREGS.ICC_AP0R0_EL1, {
    trapped: false,
    local: true,
    read: (v) => hw(v).ap0r,
    write: vmcr((c, lo) => (c.cpuif.ap0r = lo >>> 0)),
  });
  s.register(SYSREGS.ICC_AP1R0_EL1, {
    trapped: false,
    local: true,
    read: (v) => hw(v).ap1r,
    write: vmcr((c, lo) => (c.cpuif.ap1r = lo >>> 0)),
  });
  s.register(SYSREGS.ICC_DIR_EL1, {
    trapped: true,
    write: (v, lo) => {
      const c = vg.cpu(v);
      if (!c.cpuif.eoim) return;
      const irq = vg.irq(c, lo & 0xffffff);
      if (irq) vg.deactivate(irq, 0);
    },
  });
  const v4 = v4HooksCell(vg.vm); // kept: a GICv4 host registered later is seen through the cell
  // hot: the IPI every ping-pong interrupt sends, from a call site of its own (SYSREG_HOT_LANES)
  s.register(SYSREGS.ICC_SGI1R_EL1, { trapped: true, hot: true, write: (v, lo, hi) => dispatchSgi(vg, v, lo, hi, 1, v4) });
  s.register(SYSREGS.ICC_ASGI1R_EL1, { trapped: true, write: (v, lo, hi) => dispatchSgi(vg, v, lo, hi, 0, v4) });
  s.register(SYSREGS.ICC_SGI0R_EL1, { trapped: true, write: (v, lo, hi) => dispatchSgi(vg, v, lo, hi, 0, v4) });
}

/** Removes what {@link registerIccSysregs} registered. */
export function unregisterIccSysregs(vg: Vgic): void {
  for (const [k, e] of Object.entries(SYSREGS)) if (k.startsWith('ICC_')) vg.vm.sysregs.unregister(e);
}
