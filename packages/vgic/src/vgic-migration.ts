/**
 * Save and restore of a vgic through the KVM device attribute groups only, in the order a VMM such as QEMU uses
 * (hw/intc/arm_gicv3_kvm.c, arm_gic_kvm.c): configuration and routing first (SPI targets before any pending or
 * active state, so an active SPI is restored on its own vCPU), then enables, pending latches,
 * active states and line levels, then the CPU interfaces, and the distributor control register last.
 * Works on any KvmDevice of type ARM_VGIC_V2/V3 (Documentation/virt/kvm/devices/arm-vgic*.rst).
 *
 * Mainline gaps this save inherits (no attribute carries the state): a GICv2 SGI active at the save point comes
 * back with source CPU 0 (GICD_SPENDSGIR has the pending sources only), so the guest's EOI naming another source
 * no longer matches; a GICv2 level interrupt whose line is high comes back with its pending latch set (userspace
 * ISPENDR reads latch OR line and writes the latch; there is no LEVEL_INFO for GICv2), so it is taken once more
 * after the line drops. GICv3 has neither gap (the latch alone, and LEVEL_INFO for the line).
 *
 * LPIs (GICv3): each redistributor's GICR_PROPBASER and GICR_PENDBASER are restored before its GICR_CTLR, so
 * EnableLPIs finds the tables (arm-vgic-v3.rst; devices/arm-vgic-its.rst "ITS Restore Sequence": redistributors
 * first, then the ITS). The LPI pending state travels in guest memory: {@link saveVgicToGuestMemory} runs
 * KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES before memory is copied, and the ITS's RESTORE_TABLES reads it back.
 *
 * @module
 */
import { Errno, fail, KVM_DEV_TYPE, SYSREGS, type KvmDevice, type Vm } from '@irqflow/core';
import { v4HooksOf } from './v4/v4-hooks';
import { VGIC_CTRL, VGIC_GRP, type VgicDevice } from './vgic-kvm-device';
import { isSavedHidden, restoreHidden, saveHidden, type SavedHidden } from './vgic-visibility';

/** GICR_CTLR, GICR_PROPBASER and GICR_PENDBASER (RD_base offsets; REDIST_REGS attributes). */
const GICR_CTLR = 0x0000;
const GICR_PROPBASER = 0x0070;
const GICR_PENDBASER = 0x0078;

/** One saved attribute (group, attr, value). */
export type SavedAttr = readonly [group: number, attr: bigint, value: bigint];

/** A saved vgic: the attributes to replay, in order. */
export interface SavedVgic {
  /** Device type. */
  readonly type: number;
  /** NR_IRQS. */
  readonly nrIrqs: number;
  /** Addresses (ADDR group) to set before INIT. */
  readonly addrs: SavedAttr[];
  /** Register attributes that are frozen at INIT (GICD_TYPER2.nASSGIcap), set before it. */
  readonly preInit?: SavedAttr[];
  /** Register attributes replayed after INIT. */
  readonly regs: SavedAttr[];
  /**
   * GICv4: the model's run-loop part of the vPEs, which no attribute carries (when each pending vLPI/vSGI
   * reaches its vCPU under causal delivery; V4Hooks.saveRunLoop). Absent without a GICv4 host.
   */
  readonly v4?: unknown;
  /**
   * The model's run-loop part of the ap_lists, which no attribute carries: (vCPU index, INTID, visibleAt) of each
   * entry another vCPU queued whose kick has not reached its target yet (vgic-visibility.ts). Absent when none.
   */
  readonly hidden?: SavedHidden;
}

const V3_CPU_SYSREGS = [
  SYSREGS.ICC_CTLR_EL1,
  SYSREGS.ICC_PMR_EL1,
  SYSREGS.ICC_BPR0_EL1,
  SYSREGS.ICC_BPR1_EL1,
  SYSREGS.ICC_AP0R0_EL1,
  SYSREGS.ICC_AP1R0_EL1,
  SYSREGS.ICC_IGRPEN0_EL1,
  SYSREGS.ICC_IGRPEN1_EL1,
];

/** Per-IRQ register blocks in restore order: [offset, offset of the matching clear register or -1, bits per IRQ]. */
const BLOCKS: [number, number, number][] = [
  [0xc00, -1, 2], // ICFGR
  [0x400, -1, 8], // IPRIORITYR
  [0x080, -1, 1], // IGROUPR
  [0x100, 0x180, 1], // ISENABLER / ICENABLER
  [0x200, -1, 1], // ISPENDR (latch)
  [0x300, 0x380, 1], // ISACTIVER / ICACTIVER
];

/** Saves the whole state of `dev` (a vgic of `vm`). */
export function saveVgic(vm: Vm, dev: KvmDevice): SavedVgic {
  const v3 = dev.type === KVM_DEV_TYPE.ARM_VGIC_V3;
  const get = (group: number, attr: bigint): bigint => dev.getAttr({ group, attr });
  const nrIrqs = Number(get(VGIC_GRP.NR_IRQS, 0n));
  const addrs: SavedAttr[] = [];
  const regs: SavedAttr[] = [];
  const keep = (group: number, attr: bigint): void => void regs.push([group, attr, get(group, attr)]);
  if (v3) {
    addrs.push([VGIC_GRP.ADDR, 2n, get(VGIC_GRP.ADDR, 2n)]);
    const legacy = get(VGIC_GRP.ADDR, 3n);
    if (legacy !== BigInt.asUintN(64, -1n)) addrs.push([VGIC_GRP.ADDR, 3n, legacy]);
    else {
      for (let i = 0; ; i++) {
        try {
          addrs.push([VGIC_GRP.ADDR, 5n, get(VGIC_GRP.ADDR, 5n | (BigInt(i) << 32n))]);
        } catch {
          break;
        }
      }
    }
  } else {
    addrs.push([VGIC_GRP.ADDR, 0n, get(VGIC_GRP.ADDR, 0n)], [VGIC_GRP.ADDR, 1n, get(VGIC_GRP.ADDR, 1n)]);
  }
  // The vCPU field of a register attribute: GICv3 the MPIDR, GICv2 the vcpu_id (KVM's vgic_v2_parse_attr), so
  // vCPUs created out of id order round-trip. GICv2 DIST_REGS name a vCPU too: its banked registers are reached
  // through the first vCPU's key, so every GICv2 distributor attribute carries it.
  const cpuKey = (i: number): bigint => BigInt(v3 ? vm.vcpus[i].mpidr : vm.vcpus[i].id) << 32n;
  const distKey = v3 ? 0n : cpuKey(0);
  // GICD_TYPER2.nASSGIcap is fixed at INIT: a source running without vSGIs must not come back with them.
  const preInit: SavedAttr[] = v3 ? [[VGIC_GRP.DIST_REGS, 0xcn, get(VGIC_GRP.DIST_REGS, 0xcn)]] : [];
  keep(VGIC_GRP.DIST_REGS, distKey | 8n); // GICD_IIDR first: its Revision selects how the rest is interpreted
  // SPI routing (IROUTER / ITARGETSR) before any pending or active state: an interrupt made active stays on the
  // vCPU it was queued on, so restored after ISACTIVER an active SPI would stay on the reset target (vCPU 0)
  if (v3) for (let id = 32; id < nrIrqs; id++) keep(VGIC_GRP.DIST_REGS, BigInt(0x6000 + 8 * id));
  else for (let id = 32; id < nrIrqs; id += 4) keep(VGIC_GRP.DIST_REGS, distKey | BigInt(0x800 + id));
  // Distributor: shared interrupts (GICv3) or everything banked by vCPU 0 plus SPIs (GICv2).
  for (const [set, , bpi] of BLOCKS) {
    const first = v3 ? 32 : 0;
    for (let id = first; id < nrIrqs; id += 32 / bpi) keep(VGIC_GRP.DIST_REGS, distKey | BigInt(set + (id * bpi) / 8));
  }
  for (let i = 0; i < vm.vcpus.length; i++) {
    const k = cpuKey(i);
    if (v3) {
      for (const [set, , bpi] of BLOCKS)
        for (let id = 0; id < 32; id += 32 / bpi) keep(VGIC_GRP.REDIST_REGS, k | BigInt(0x10000 + set + (id * bpi) / 8));
      keep(VGIC_GRP.REDIST_REGS, k | 0x14n);
      for (const enc of V3_CPU_SYSREGS) keep(VGIC_GRP.CPU_SYSREGS, k | BigInt(enc));
      keep(VGIC_GRP.LEVEL_INFO, k | 0n);
      // LPIs: the tables before EnableLPIs (which ignores later base writes and loads the pending table)
      keep(VGIC_GRP.REDIST_REGS, k | BigInt(GICR_PROPBASER));
      keep(VGIC_GRP.REDIST_REGS, k | BigInt(GICR_PENDBASER));
      keep(VGIC_GRP.REDIST_REGS, k | BigInt(GICR_CTLR));
    } else {
      if (i > 0)
        for (const [set, , bpi] of BLOCKS)
          for (let id = 0; id < 32; id += 32 / bpi) keep(VGIC_GRP.DIST_REGS, k | BigInt(set + (id * bpi) / 8));
      for (const off of [0xf20, 0xf24, 0xf28, 0xf2c]) keep(VGIC_GRP.DIST_REGS, k | BigInt(off));
      for (const off of [0x00, 0x04, 0x08, 0x1c, 0xd0, 0xe0]) keep(VGIC_GRP.CPU_REGS, k | BigInt(off));
    }
  }
  if (v3) for (let id = 32; id < nrIrqs; id += 32) keep(VGIC_GRP.LEVEL_INFO, cpuKey(0) | BigInt(id));
  keep(VGIC_GRP.DIST_REGS, distKey | 0n);
  const v4 = v3 ? v4HooksOf(vm)?.saveRunLoop() : undefined;
  const saved: SavedVgic =
    v4 === undefined ? { type: dev.type, nrIrqs, addrs, preInit, regs } : { type: dev.type, nrIrqs, addrs, preInit, regs, v4 };
  const vg = (dev as Partial<VgicDevice>).vgic;
  const hidden = vg !== undefined ? saveHidden(vg) : [];
  return hidden.length > 0 ? { ...saved, hidden } : saved;
}

/**
 * Before guest memory is saved: KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES writes every LPI's pending bit into its
 * redistributor's pending table (GICv3; nothing to do for a GICv2).
 * @throws KvmError as the CTRL call does (EFAULT for a pending table outside RAM)
 */
export function saveVgicToGuestMemory(dev: KvmDevice): void {
  if (dev.type === KVM_DEV_TYPE.ARM_VGIC_V3) dev.setAttr({ group: VGIC_GRP.CTRL, attr: BigInt(VGIC_CTRL.SAVE_PENDING_TABLES) });
}

function replayRegs(dev: KvmDevice, saved: SavedVgic): void {
  const set = (group: number, attr: bigint, value: bigint): void => dev.setAttr({ group, attr }, value);
  for (const [g, a, v] of saved.regs) {
    if (g === VGIC_GRP.DIST_REGS || g === VGIC_GRP.REDIST_REGS) {
      // Set/clear pairs: clear every bit first so the restored value is exact (ISENABLER, ISACTIVER).
      const off = Number(a & 0xffffffffn);
      const base = off >= 0x10000 ? off - 0x10000 : off;
      if ((base >= 0x100 && base < 0x180) || (base >= 0x300 && base < 0x380)) set(g, a + 0x80n, 0xffffffffn);
    }
    set(g, a, v);
  }
}

/**
 * Restores `saved` into `dev`, a vgic of a fresh VM that was set up the same way and is already initialised
 * (KVM_DEV_ARM_VGIC_CTRL_INIT done, e.g. by the irqchip descriptor): checks that NR_IRQS, the addresses and
 * the INIT-time registers match, then replays the register state; with `vm` (the device's VM), a GICv4 host also
 * gets its vPEs' run-loop part back ({@link SavedVgic.v4}).
 * @throws KvmError EINVAL when the configuration differs; what the attribute calls throw
 */
export function restoreVgicState(dev: KvmDevice, saved: SavedVgic, vm?: Vm): void {
  if (saved === null || typeof saved !== 'object' || !Array.isArray(saved.regs) || !Array.isArray(saved.addrs))
    fail(Errno.EINVAL, 'not a saved vgic');
  if (dev.type !== saved.type) fail(Errno.EINVAL, `vgic type ${dev.type} differs from the saved ${saved.type}`);
  const vg = (dev as Partial<VgicDevice>).vgic;
  if (saved.hidden !== undefined && !isSavedHidden(saved.hidden, vg?.cpus.length ?? 0))
    fail(Errno.EINVAL, 'malformed hidden ap_list entries (vCPU index, INTID, visibleAt)');
  const get = (group: number, attr: bigint): bigint => dev.getAttr({ group, attr });
  if (Number(get(VGIC_GRP.NR_IRQS, 0n)) !== saved.nrIrqs) fail(Errno.EINVAL, `NR_IRQS differs from the saved ${saved.nrIrqs}`);
  for (const [g, a, v] of [...saved.addrs, ...(saved.preInit ?? [])])
    if (get(g, a) !== v) fail(Errno.EINVAL, `attribute ${g}/0x${a.toString(16)} differs from the saved configuration`);
  replayRegs(dev, saved);
  // the vPEs' arrival times, once the replay made their entries pending (at the restore's instant)
  if (saved.v4 !== undefined && vm !== undefined) v4HooksOf(vm)?.restoreRunLoop(saved.v4);
  // the ap_list entries still hidden from their vCPU (LPIs: once the ITS has restored them, at first run)
  if (saved.hidden !== undefined && vg !== undefined) restoreHidden(vg, saved.hidden);
}

/**
 * Restores `saved` into `dev`, a freshly created vgic of the same type on a VM with the same vCPUs.
 * @throws KvmError as the attribute calls do
 */
export function restoreVgic(dev: KvmDevice, saved: SavedVgic): void {
  const set = (group: number, attr: bigint, value: bigint): void => dev.setAttr({ group, attr }, value);
  set(VGIC_GRP.NR_IRQS, 0n, BigInt(saved.nrIrqs));
  for (const [g, a, v] of saved.addrs) set(g, a, v);
  for (const [g, a, v] of saved.preInit ?? []) set(g, a, v);
  set(VGIC_GRP.CTRL, 0n, 0n);
  replayRegs(dev, saved);
}
