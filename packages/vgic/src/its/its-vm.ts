/**
 * The ITS side of one VM: its ITS instances, the shared LPI table, and the entry points the vGICv3's irqchip
 * flow calls — KVM_SIGNAL_MSI / MSI routes / irqfds (KVM's vgic_its_inject_msi, vgic_msi_to_its and
 * kvm_arch_set_irq_inatomic), GSI route validation (msis_require_devid), and the redistributor hooks
 * (GICR_CTLR.EnableLPIs, GICR_INVLPIR/INVALLR, SAVE_PENDING_TABLES). Errors follow references §3: no ITS → ENODEV;
 * no DeviceID flag or an address outside every ITS frame → EINVAL; ITS disabled or target LPIs disabled →
 * EBUSY; otherwise > 0 delivered and 0 blocked by the guest's translation.
 *
 * @module
 */
import { Errno, fail, MSI_VALID_DEVID, type Msi, type RoutingEntry, type Vm } from '@irqflow/core';
import type { LpiHost, LpiHostProvider } from './lpi-host';
import { LpiTable } from './lpi-table';
import type { VgicIts } from './vgic-its';

/** The ITS state of one VM. */
export class ItsVm {
  /** The VM's ITSes in creation order. */
  readonly itss: VgicIts[] = [];
  /** The VM's LPIs. */
  readonly lpis: LpiTable;

  /** @param host - the redistributor side */
  constructor(readonly host: LpiHost) {
    this.lpis = new LpiTable(host);
  }

  /** @internal The ITS the last lookup found (cleared when an ITS is destroyed). */
  lastIts: VgicIts | undefined;

  /** The ITS whose frame contains `addr`. */
  itsAt(addr: number): VgicIts | undefined {
    const c = this.lastIts;
    if (c !== undefined && c.contains(addr)) return c;
    const l = this.itss;
    for (let i = 0; i < l.length; i++) if (l[i].contains(addr)) return (this.lastIts = l[i]);
    return undefined;
  }
}

/** KVM_MSI_VALID_DEVID bound once: reading it through the package index costs a getter call per MSI. */
const VALID_DEVID = MSI_VALID_DEVID;

const registry = new WeakMap<Vm, ItsVm>();

/** The ITS state of `vm`, if it has created an ITS. */
export function itsVmOf(vm: Vm): ItsVm | undefined {
  return registry.get(vm);
}

/** @internal Creates the ITS state of `vm` on first use (the provider is asked once per VM). */
export function ensureItsVm(vm: Vm, provider: LpiHostProvider): ItsVm {
  let s = registry.get(vm);
  if (s === undefined) {
    s = new ItsVm(provider(vm));
    registry.set(vm, s);
  }
  return s;
}

/** Whether `vm` has at least one ITS (KVM's vgic_has_its). */
export function vgicHasIts(vm: Vm): boolean {
  const s = registry.get(vm);
  return s !== undefined && s.itss.length > 0;
}

/**
 * The irqchip flow's `setMsi` for a VM with ITSes (KVM_SIGNAL_MSI, MSI routes, irqfds): > 0 delivered,
 * 0 blocked by the guest's translation (unmapped device, event or collection).
 * @throws KvmError ENODEV without an ITS, EINVAL without KVM_MSI_VALID_DEVID or for an address outside every
 * ITS frame, EBUSY when the ITS is disabled or the target redistributor has LPIs disabled
 */
export function itsSetMsi(vm: Vm, msi: Msi): number {
  return itsSetMsiOn(registry.get(vm), msi);
}

/**
 * {@link itsSetMsi} on a VM's ITS state already looked up (the vGICv3's flow keeps it, so an MSI costs no
 * WeakMap lookup).
 */
export function itsSetMsiOn(s: ItsVm | undefined, msi: Msi): number {
  // the refusals are built in msiRefused, out of line: this stays small enough for the JIT to inline into the flow
  if (s === undefined || s.itss.length === 0 || ((msi.flags ?? 0) & VALID_DEVID) === 0) return msiRefused(s, msi, undefined);
  const its = s.itsAt(msi.address);
  if (its === undefined) return msiRefused(s, msi, its);
  const r = its.inject(msi.devid ?? 0, msi.data >>> 0);
  return r < 0 ? msiRefused(s, msi, its) : r;
}

/**
 * Throws the KvmError {@link itsSetMsiOn} answers for a refused MSI, checked in its order: no ITS (ENODEV), no
 * DeviceID flag or an address outside every ITS frame (EINVAL), or `its` refused it (EBUSY).
 */
function msiRefused(s: ItsVm | undefined, msi: Msi, its: VgicIts | undefined): never {
  if (s === undefined || s.itss.length === 0) fail(Errno.ENODEV, 'the VM has no ITS');
  if (((msi.flags ?? 0) & VALID_DEVID) === 0) fail(Errno.EINVAL, 'an MSI to an ITS needs KVM_MSI_VALID_DEVID');
  if (its === undefined) fail(Errno.EINVAL, `MSI address 0x${msi.address.toString(16)} is not in an ITS frame`);
  fail(
    Errno.EBUSY,
    its.enabled ? `the target redistributor of device ${msi.devid} event ${msi.data} has LPIs disabled` : 'the ITS is disabled',
  );
}

/**
 * The flow's `setIrqInatomic` for MSI routes (kvm_arch_set_irq_inatomic): 0 when the translation cache
 * delivered the MSI, -EWOULDBLOCK (-11) to take the slow path (`setMsi`). Irqchip routes always answer -11 here.
 */
export function itsSetIrqInatomic(vm: Vm, route: RoutingEntry, level: boolean): number {
  return itsSetIrqInatomicOn(registry.get(vm), route, level);
}

/** {@link itsSetIrqInatomic} on a VM's ITS state already looked up. */
export function itsSetIrqInatomicOn(s: ItsVm | undefined, route: RoutingEntry, level: boolean): number {
  if (route.type !== 'msi' || !level) return -Errno.EAGAIN;
  if (s === undefined) return -Errno.EAGAIN;
  const m = route.msi;
  if (((m.flags ?? 0) & VALID_DEVID) === 0) return -Errno.EAGAIN;
  const its = s.itsAt(m.address);
  if (its === undefined || !its.injectCached(m.devid ?? 0, m.data >>> 0)) return -Errno.EAGAIN;
  return 0;
}

/**
 * The flow's `validateRoute`: once the VM has an ITS, MSI routes must carry KVM_MSI_VALID_DEVID (KVM's
 * msis_require_devid).
 * @throws KvmError EINVAL for an MSI route without a DeviceID
 */
export function itsValidateRoute(vm: Vm, route: RoutingEntry): void {
  if (route.type !== 'msi' || !vgicHasIts(vm)) return;
  if (((route.msi.flags ?? 0) & MSI_VALID_DEVID) === 0)
    fail(Errno.EINVAL, `GSI ${route.gsi}: MSI routes need KVM_MSI_VALID_DEVID on a VM with an ITS`);
}

/**
 * Redistributor hook: GICR_CTLR.EnableLPIs of `vcpuIndex` changed. Enabling loads the pending table into the
 * LPIs targeting it; disabling drops their pending state and every cached translation. No-op without an ITS.
 */
export function itsLpisEnabledChanged(vm: Vm, vcpuIndex: number, enabled: boolean): void {
  const s = registry.get(vm);
  if (s === undefined) return;
  if (!enabled) for (const its of s.itss) its.invalidateCache();
  s.lpis.lpisEnabledChanged(vcpuIndex, enabled);
}

/**
 * Redistributor hook for GICR_INVLPIR / GICR_INVALLR (if implemented): re-read the configuration of one LPI, or
 * of every LPI targeting `vcpuIndex` when `intid` is omitted.
 */
export function itsInvalidateLpi(vm: Vm, vcpuIndex: number, intid?: number): void {
  const s = registry.get(vm);
  if (s === undefined) return;
  if (intid === undefined) s.lpis.invalidateAll(vcpuIndex);
  else {
    const l = s.lpis.get(intid);
    if (l !== undefined) s.lpis.readConfig(l);
  }
}

/**
 * KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES (a CTRL attribute of the vGICv3 device): writes each LPI's pending bit
 * into its target's pending table. No-op without an ITS.
 * @throws KvmError EFAULT when a pending table is not RAM
 */
export function itsSavePendingTables(vm: Vm): void {
  registry.get(vm)?.lpis.savePendingTables();
}
