/**
 * The rVIC device's state attributes, the ABI a VMM saves and restores an rVIC VM with (package README,
 * "Saving and restoring"; designed the way KVM exposes the vgic: Documentation/virt/kvm/devices/arm-vgic-v3.rst
 * REDIST_REGS/LEVEL_INFO, keyed by MPIDR). ARM-DEN-0103 and the 2020 series define no such ABI.
 *
 * - GRP_VCPU_STATE (5): attr = MPIDR Aff3..Aff0[63:32] | kind[31:24] | 0[23:16] | index[15:0]:
 *   ENABLE (index 0: 0/1), IRQ (index = intid: PENDING | MASKED | LINE | ACKED), FIFO (get: the intid at
 *   position `index` of the delivery list; set: index 0, `value` — which must be on the list — moves to its tail).
 * - GRP_RVID (6): attr = input[15:0]; value = V[63] | LEVEL[62] | target Aff2.Aff1.Aff0[55:32] | intid[15:0].
 *
 * Errnos, checked in this order: EBUSY before CTRL INIT or while a vCPU runs (called from inside `vm.run`);
 * ENXIO for an attribute that does not exist (reserved attr bits, unknown kind, intid/input/position beyond the
 * sizing); EINVAL for a bad value or an MPIDR that names no vCPU; ENOENT reading a FIFO position past the end.
 * A failed call changes nothing.
 *
 * @module
 */
import { Errno, fail, type Vcpu } from '@irqflow/core';
import {
  RVIC_IRQ_ACKED,
  RVIC_IRQ_LINE,
  RVIC_IRQ_MASKED,
  RVIC_IRQ_PENDING,
  RVIC_NR_IPIS,
  RVIC_STATE_ENABLE,
  RVIC_STATE_FIFO,
  RVIC_STATE_IRQ,
  RVID_ENTRY_LEVEL,
  RVID_ENTRY_VALID,
  rvidEntry,
} from './abi';
import type { Rvic } from './rvic';
import { F_ACKED, F_LINE, F_MASKED, F_PENDING, F_QUEUED, type RvicCpu } from './rvic-cpu';

const IRQ_BITS = RVIC_IRQ_PENDING | RVIC_IRQ_MASKED | RVIC_IRQ_LINE | RVIC_IRQ_ACKED;
/** GRP_RVID value bits that must be zero. */
const RVID_RESERVED = ~(RVID_ENTRY_VALID | RVID_ENTRY_LEVEL | (0xffffffn << 32n) | 0xffffn) & 0xffff_ffff_ffff_ffffn;

function usable(rvic: Rvic): void {
  if (!rvic.initialized) fail(Errno.EBUSY, 'rVIC state is accessible once the device is initialised (CTRL INIT)');
  if (rvic.vm.scheduler.current !== null) fail(Errno.EBUSY, 'a vCPU is running');
}

interface StateAttr {
  vcpu: Vcpu;
  c: RvicCpu;
  kind: number;
  index: number;
}

function decodeState(rvic: Rvic, attr: bigint): StateAttr {
  if (attr < 0n || attr > 0xffff_ffff_ffff_ffffn || (attr & 0x00ff_0000n) !== 0n)
    fail(Errno.ENXIO, `rVIC state attribute 0x${attr.toString(16)} has reserved bits set`);
  const kind = Number((attr >> 24n) & 0xffn);
  const index = Number(attr & 0xffffn);
  if (kind === RVIC_STATE_ENABLE ? index !== 0 : kind === RVIC_STATE_IRQ || kind === RVIC_STATE_FIFO ? index >= rvic.nrTotal : true)
    fail(Errno.ENXIO, `rVIC state attribute kind ${kind} index ${index} does not exist`);
  const mpidr = Number(attr >> 32n);
  const vcpu = rvic.vm.vcpuByMpidr(mpidr);
  const c = vcpu === undefined || (mpidr & 0x80000000) !== 0 ? undefined : rvic.cpu(vcpu);
  if (c === undefined) fail(Errno.EINVAL, `no vCPU with MPIDR 0x${mpidr.toString(16)}`);
  return { vcpu: vcpu!, c, kind, index };
}

/** Whether GRP_VCPU_STATE attribute `attr` exists (KVM_HAS_DEVICE_ATTR). */
export function hasRvicState(rvic: Rvic, attr: bigint): boolean {
  if (!rvic.initialized) return false;
  try {
    decodeState(rvic, attr);
    return true;
  } catch {
    return false;
  }
}

/** KVM_GET_DEVICE_ATTR of GRP_VCPU_STATE. @throws KvmError EBUSY, ENXIO, EINVAL, ENOENT (FIFO past its end) */
export function getRvicState(rvic: Rvic, attr: bigint): bigint {
  usable(rvic);
  const { c, kind, index } = decodeState(rvic, attr);
  if (kind === RVIC_STATE_ENABLE) return c.enabled ? 1n : 0n;
  if (kind === RVIC_STATE_IRQ) {
    const f = c.flags[index];
    return BigInt(
      ((f & F_PENDING) !== 0 ? RVIC_IRQ_PENDING : 0) |
        ((f & F_MASKED) !== 0 ? RVIC_IRQ_MASKED : 0) |
        ((f & F_LINE) !== 0 ? RVIC_IRQ_LINE : 0) |
        ((f & F_ACKED) !== 0 ? RVIC_IRQ_ACKED : 0),
    );
  }
  if (index >= c.queued) fail(Errno.ENOENT, `the delivery list has ${c.queued} entries; no position ${index}`);
  return BigInt(c.deliveryAt(index));
}

/** KVM_SET_DEVICE_ATTR of GRP_VCPU_STATE. @throws KvmError EBUSY, ENXIO, EINVAL */
export function setRvicState(rvic: Rvic, attr: bigint, value: bigint): void {
  usable(rvic);
  const { vcpu, c, kind, index } = decodeState(rvic, attr);
  if (kind === RVIC_STATE_ENABLE) {
    if (value !== 0n && value !== 1n) fail(Errno.EINVAL, `ENABLE value ${value} is neither 0 nor 1`);
    if (value === 1n) c.enable();
    else c.disable();
  } else if (kind === RVIC_STATE_IRQ) {
    if (value < 0n || value > BigInt(IRQ_BITS)) fail(Errno.EINVAL, `interrupt state 0x${value.toString(16)} has undefined bits`);
    const b = Number(value);
    if ((b & RVIC_IRQ_ACKED) !== 0 && (b & RVIC_IRQ_MASKED) === 0) fail(Errno.EINVAL, 'an interrupt in service (ACKED) is masked');
    if ((b & RVIC_IRQ_LINE) !== 0 && index < RVIC_NR_IPIS) fail(Errno.EINVAL, `interrupt ${index} is an IPI: it has no line`);
    c.restoreState(
      index,
      ((b & RVIC_IRQ_PENDING) !== 0 ? F_PENDING : 0) |
        ((b & RVIC_IRQ_MASKED) !== 0 ? F_MASKED : 0) |
        ((b & RVIC_IRQ_LINE) !== 0 ? F_LINE : 0) |
        ((b & RVIC_IRQ_ACKED) !== 0 ? F_ACKED : 0),
    );
  } else {
    if (index !== 0) fail(Errno.EINVAL, 'a FIFO write takes position 0 (it appends)');
    if (value < 0n || value >= BigInt(rvic.nrTotal) || (c.flags[Number(value)] & F_QUEUED) === 0)
      fail(Errno.EINVAL, `interrupt ${value} is not on the delivery list (pending, unmasked, rVIC enabled)`);
    c.moveToTail(Number(value));
  }
  rvic.sync(vcpu, c);
}

function input(rvic: Rvic, attr: bigint): number {
  const t = rvic.rvid!;
  if (attr < 0n || attr >= BigInt(t.nrInputs)) fail(Errno.ENXIO, `rVID input ${attr} does not exist (0..${t.nrInputs - 1})`);
  return Number(attr);
}

/** Whether GRP_RVID attribute `attr` exists. */
export function hasRvidEntry(rvic: Rvic, attr: bigint): boolean {
  return rvic.initialized && attr >= 0n && attr < BigInt(rvic.rvid!.nrInputs);
}

/** KVM_GET_DEVICE_ATTR of GRP_RVID. @throws KvmError EBUSY, ENXIO */
export function getRvidEntry(rvic: Rvic, attr: bigint): bigint {
  usable(rvic);
  const i = input(rvic, attr);
  const t = rvic.rvid!;
  const vi = t.targetOf[i];
  return rvidEntry(vi >= 0, t.level[i] !== 0, vi >= 0 ? rvic.vm.vcpus[vi].mpidr : 0, vi >= 0 ? t.intidOf[i] : 0);
}

/**
 * KVM_SET_DEVICE_ATTR of GRP_RVID: the route and the line level of one input, as table state (no edge is
 * generated and the target interrupt's own state is not touched: GRP_VCPU_STATE restores that). The checks are
 * those of rVID MAP: MPIDR, then intid untrusted, then one input per interrupt.
 * @throws KvmError EBUSY, ENXIO, EINVAL
 */
export function setRvidEntry(rvic: Rvic, attr: bigint, value: bigint): void {
  usable(rvic);
  const i = input(rvic, attr);
  const t = rvic.rvid!;
  if (value < 0n || (value & RVID_RESERVED) !== 0n) fail(Errno.EINVAL, `rVID entry 0x${value.toString(16)} has reserved bits set`);
  const valid = (value & RVID_ENTRY_VALID) !== 0n;
  const mpidr = Number((value >> 32n) & 0xffffffn);
  const intid = Number(value & 0xffffn);
  let target: Vcpu | undefined;
  let c: RvicCpu | undefined;
  if (!valid) {
    if (mpidr !== 0 || intid !== 0) fail(Errno.EINVAL, 'an unmapped rVID entry has no target');
  } else {
    target = rvic.vm.vcpuByMpidr(mpidr);
    c = target === undefined ? undefined : rvic.cpu(target);
    if (c === undefined) fail(Errno.EINVAL, `no vCPU with MPIDR 0x${mpidr.toString(16)}`);
    if (intid < rvic.nrTrusted || intid >= rvic.nrTotal)
      fail(Errno.EINVAL, `interrupt ${intid} is not untrusted (${rvic.nrTrusted}..${rvic.nrTotal - 1})`);
    const other = c.inputOf[intid];
    if (other >= 0 && other !== i) fail(Errno.EINVAL, `interrupt ${intid} is already fed by rVID input ${other}`);
  }
  const old = t.targetOf[i];
  if (old >= 0) {
    const oc = rvic.cpu(rvic.vm.vcpus[old])!;
    if (oc.inputOf[t.intidOf[i]] === i) oc.inputOf[t.intidOf[i]] = -1;
    t.clear(i);
  }
  if (valid) {
    t.set(i, target!.index, intid);
    c!.inputOf[intid] = i;
  }
  t.level[i] = (value & RVID_ENTRY_LEVEL) !== 0n ? 1 : 0;
}
