/**
 * GICv4.1 direct injection of virtual SGIs (Arm IHI 0069, 5.4 "Direct injection of virtual SGIs"; 12.9.16
 * GICD_TYPER2.nASSGIcap [8]; 12.9.4 GICD_CTLR.nASSGIreq [8]) as KVM implements it (vgic-mmio-v3.c,
 * vgic-v4.c: vgic_v4_configure_vsgis):
 * - GICD_TYPER2.nASSGIcap reads the VM's setting (default: the host is GICv4.1). Userspace may write it through
 *   DIST_REGS, also before KVM_DEV_ARM_VGIC_CTRL_INIT; any other bit differing from the read value is EINVAL, setting
 *   it on a host without GICv4.1 is EINVAL, changing it once the vGIC is initialised is EBUSY.
 * - GICD_CTLR.nASSGIreq is writable by the guest (and userspace) only when nASSGIcap is set; while the
 *   distributor stays enabled (a group enabled before and after the write) the bit keeps its value, as KVM does.
 *   Setting it moves pending group 1 SGIs (not in a list register) into the vPEs; clearing it moves the vPEs'
 *   pending vSGIs back (vgic_v4_enable_vsgis / vgic_v4_disable_vsgis). With it set SGIs have no active state.
 * - With nASSGIreq set, a group 1 SGI written to ICC_SGI1R_EL1 still traps on the sender, but the hypervisor
 *   makes it pending in the target vPE directly ({@link Vpe.setVsgiPending}): no ap_list, no list register, no
 *   kick, no exit on the receiving side; a blocked target gets its doorbell.
 * - The redistributor's SGI registers follow the vPE ({@link vsgiRegister}, KVM's vgic-mmio.c on `irq->hw` SGIs):
 *   IGROUPR0 / IS-ICENABLER0 / IPRIORITYR writes reconfigure the vSGI at once (vgic_update_vsgi / enable_irq:
 *   re-presented to a resident vPE, doorbell for a blocked one with a pending vSGI now deliverable); GICR_ISPENDR0 /
 *   ICPENDR0 reads and writes, guest and userspace, get and set the vPE's pending bits (irq_get/set_irqchip_state),
 *   so save/restore sees them; ISACTIVER0 writes to vSGIs are ignored (no active state).
 *
 * @module
 */
import { Errno, fail } from '@irqflow/core';
import type { Vgic } from '../vgic';
import type { VgicCpu } from '../vgic-cpu';
import { VGIC_NR_SGIS } from '../vgic-irq';
import type { RegHandler, VgicAccess, VgicRegister } from '../vgic-mmio';
import { GicV4, gicV4Of } from './gic-v4';
import { v4HooksCell, type V4HooksCell } from './v4-hooks';
import type { Vpe } from './vpe';

/** GICD_TYPER2.nASSGIcap. */
export const GICD_TYPER2_NASSGICAP = 1 << 8;
/** GICD_CTLR.nASSGIreq. */
export const GICD_CTLR_NASSGIREQ = 1 << 8;
/** Offset of GICD_TYPER2. */
export const GICD_TYPER2_OFFSET = 0x000c;

/** GICD_TYPER2 value of the vGIC's VM. */
export function readTyper2(vg: Vgic): number {
  return gicV4Of(vg.vm)?.nassgicap ? GICD_TYPER2_NASSGICAP : 0;
}

/**
 * Userspace write of GICD_TYPER2 (KVM_DEV_ARM_VGIC_GRP_DIST_REGS), in KVM's order (newest mainline
 * vgic_mmio_uaccess_write_v3_misc): the current value is always accepted; any change once the vGIC is
 * initialised is EBUSY (before the capability check, so also on a host without GICv4.1); then a read-only bit
 * EINVAL, then nASSGIcap without a GICv4.1 host EINVAL.
 * @throws KvmError EBUSY for a change after init, EINVAL for a read-only bit or nASSGIcap without a GICv4.1 host
 */
export function userWriteTyper2(vg: Vgic, value: number): void {
  const cur = readTyper2(vg);
  if (value === cur) return;
  if (vg.initialized) fail(Errno.EBUSY, 'GICD_TYPER2 cannot change once the vGIC is initialised');
  if (((cur ^ value) & ~GICD_TYPER2_NASSGICAP) !== 0) fail(Errno.EINVAL, 'only GICD_TYPER2.nASSGIcap is writable');
  const want = (value & GICD_TYPER2_NASSGICAP) !== 0;
  const v4 = gicV4Of(vg.vm);
  if (want && v4?.version !== '4.1') fail(Errno.EINVAL, 'nASSGIcap needs a GICv4.1 host');
  if (v4) v4.nassgicap = want;
}

/** GICD_CTLR.nASSGIreq as read. */
export function readNassgireq(vg: Vgic): number {
  return gicV4Of(vg.vm)?.nassgireq ? GICD_CTLR_NASSGIREQ : 0;
}

/**
 * GICD_CTLR write, nASSGIreq part. Call with the group enables as they were before the write and as they are
 * after it (the value written).
 */
export function writeNassgireq(vg: Vgic, value: number, wasEnabled: boolean, isEnabled: boolean): void {
  const v4 = gicV4Of(vg.vm);
  if (!v4 || !v4.nassgicap) return;
  if (wasEnabled && isEnabled) return; // RO while the distributor stays enabled
  const on = (value & GICD_CTLR_NASSGIREQ) !== 0;
  if (on === v4.nassgireq) return;
  v4.nassgireq = on;
  for (const c of vg.cpus) {
    const p = c ? v4.vpe(c.index) : undefined;
    if (!p) continue;
    if (on) {
      // vgic_v4_enable_vsgis: pending group 1 SGIs not in a list register move to the vPE
      for (let id = 0; id < VGIC_NR_SGIS; id++) {
        const irq = c.privateIrqs[id];
        if (irq.group !== 1 || !irq.pendingLatch || irq.lrCpu !== null) continue;
        vg.clearPending(irq);
        p.setVsgiPending(id);
      }
    } else {
      // vgic_v4_disable_vsgis: the vPE's pending vSGIs become software pending SGIs
      let bits = p.takeVsgis();
      while (bits !== 0) {
        const id = 31 - Math.clz32(bits & -bits);
        bits &= bits - 1;
        vg.sendSgi(c, id, c.index);
      }
    }
  }
}

/**
 * The hypervisor side of a trapped ICC_SGI1R write for one target: with vSGIs enabled the SGI is made pending in
 * the target vPE and true is returned; false = the usual software path. A per-SGI caller passes the VM's
 * hooks cell (`v4HooksCell(vg.vm)`, kept) so the SGI needs no WeakMap lookup.
 */
export function sendVsgi(vg: Vgic, target: VgicCpu, intid: number, cell: V4HooksCell = v4HooksCell(vg.vm)): boolean {
  const h = cell.hooks;
  if (h === undefined) return false;
  const v4 = h instanceof GicV4 ? h : undefined;
  if (!v4 || !v4.nassgireq || target.privateIrqs[intid].group !== 1) return false;
  const p = v4.vpe(target.index);
  if (!p) return false;
  p.setVsgiPending(intid);
  return true;
}

/** The vPE holding `a`'s redistributor SGIs, when vSGIs are enabled (GICD_CTLR.nASSGIreq); else undefined. */
function vsgiVpe(a: VgicAccess): Vpe | undefined {
  const v4 = gicV4Of(a.vg.vm);
  if (!v4 || !v4.nassgireq || a.cpu === null) return undefined;
  return v4.vpe(a.cpu.index);
}

/** Group 1 SGIs of `a`'s redistributor: the ones delivered as vSGIs (bit per INTID 0..15). */
function vsgiMask(a: VgicAccess): number {
  const irqs = a.cpu!.privateIrqs;
  let m = 0;
  for (let id = 0; id < VGIC_NR_SGIS; id++) if (irqs[id].group === 1) m |= 1 << id;
  return m;
}

/** Scratch value handed to the wrapped handler with the vSGI bits taken out (no allocation per access). */
const rest = { lo: 0, hi: 0 };

/** Reads with the vPE's pending vSGIs ORed in. */
const withVsgiPending =
  (h: RegHandler): RegHandler =>
  (a, off, len, val) => {
    h(a, off, len, val);
    const p = vsgiVpe(a);
    if (p) val.lo = (val.lo | p.sgiPending) >>> 0;
  };

/** A write of the SGI bits `act` takes over (vSGIs on); the remaining bits go to `h`. */
const vsgiWrite =
  (h: RegHandler, act: ((p: Vpe, id: number) => void) | null): RegHandler =>
  (a, off, len, val) => {
    const p = vsgiVpe(a);
    if (!p) return h(a, off, len, val);
    const mine = val.lo & vsgiMask(a);
    if (act !== null) {
      for (let bits = mine; bits !== 0; bits &= bits - 1) act(p, 31 - Math.clz32(bits & -bits));
    }
    rest.lo = val.lo & ~mine;
    rest.hi = val.hi;
    h(a, off, len, rest);
  };

/** A configuration write (enable, priority, group): done as usual, then the vPE re-reads it (vgic_update_vsgi). */
const reconfigure =
  (h: RegHandler): RegHandler =>
  (a, off, len, val) => {
    h(a, off, len, val);
    vsgiVpe(a)?.configChanged();
  };

/**
 * Makes a redistributor SGI_base per-interrupt register (GICR_IGROUPR0, IS/ICENABLER0, IS/ICPENDR0,
 * IS/ICACTIVER0, IPRIORITYR0-7) vSGI-aware, for the guest and for userspace (REDIST_REGS); every other register is
 * returned as is. Without GICv4.1 vSGIs enabled the wrapped handlers only cost one lookup.
 */
export function vsgiRegister(r: VgicRegister): VgicRegister {
  const pick = (h: RegHandler | undefined, f: (h: RegHandler) => RegHandler): RegHandler | undefined => (h ? f(h) : undefined);
  switch (r.name) {
    case 'IGROUPR':
    case 'ISENABLER':
    case 'ICENABLER':
    case 'IPRIORITYR':
      return { ...r, write: reconfigure(r.write), uwrite: pick(r.uwrite, reconfigure) };
    case 'ISPENDR': {
      const set = (h: RegHandler): RegHandler => vsgiWrite(h, (p, id) => p.setVsgiPending(id));
      return {
        ...r,
        read: withVsgiPending(r.read),
        uread: pick(r.uread, withVsgiPending),
        write: set(r.write),
        uwrite: pick(r.uwrite, set),
      };
    }
    case 'ICPENDR': {
      const clr = (h: RegHandler): RegHandler => vsgiWrite(h, (p, id) => p.clearVsgiPending(id));
      // userspace reads ICPENDR as 0 and ignores writes: its own handlers stay
      return { ...r, read: withVsgiPending(r.read), write: clr(r.write) };
    }
    case 'ISACTIVER': {
      const ignore = (h: RegHandler): RegHandler => vsgiWrite(h, null); // nASSGI: no active state to set
      return { ...r, write: ignore(r.write), uwrite: pick(r.uwrite, ignore) };
    }
    default:
      return r;
  }
}
