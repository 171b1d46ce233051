/**
 * KVM_GET/SET_ONE_REG and vCPU device attributes: the core registers (x0..x30, PC, PSTATE) by their
 * KVM_REG_ARM_CORE ids, and registers and attribute groups that devices register on the VM (the timer's
 * counter and control registers, KVM_ARM_VCPU_TIMER_CTRL).
 *
 * @module
 */
import { Errno, fail } from '../errno';
import type { Vcpu } from './vcpu';

const SPSR_DAIF_SHIFT = 6;

/** KVM_REG_ARM_CORE ids for x0..x30, SP, PC and PSTATE (KVM_REG_ARM64 | SIZE_U64 | CORE | offset/4). */
export function coreRegId(index: number): bigint {
  return 0x6030_0000_0010_0000n | BigInt(index * 2);
}

/** ONE_REG id of PC. */
export const KVM_REG_PC = coreRegId(32);
/** ONE_REG id of PSTATE. */
export const KVM_REG_PSTATE = coreRegId(33);

function coreIndex(id: bigint): number {
  if ((id & ~0xffffn) !== 0x6030_0000_0010_0000n) return -1;
  const off = Number(id & 0xffffn);
  return off % 2 === 0 && off <= 60 ? off / 2 : -1;
}

/**
 * KVM_GET_ONE_REG on `vcpu`.
 * @throws KvmError ENOENT for an unknown register id
 */
export function getOneReg(vcpu: Vcpu, id: bigint): bigint {
  const core = coreIndex(id);
  if (core >= 0 && core < 31) return vcpu.xBig(core);
  if (id === KVM_REG_PC) return BigInt(vcpu.pc);
  if (id === KVM_REG_PSTATE) return BigInt(vcpu.daif << SPSR_DAIF_SHIFT) | 0x5n;
  const h = vcpu.vm.oneRegs.get(id);
  if (!h) fail(Errno.ENOENT, `no register with id 0x${id.toString(16)}`);
  return h.get(vcpu);
}

/**
 * KVM_SET_ONE_REG on `vcpu`.
 * @throws KvmError ENOENT for an unknown register id, EINVAL for a bad value
 */
export function setOneReg(vcpu: Vcpu, id: bigint, value: bigint): void {
  const core = coreIndex(id);
  const v = BigInt.asUintN(64, value);
  if (core >= 0 && core < 31) {
    vcpu.xlo[core] = Number(v & 0xffffffffn);
    vcpu.xhi[core] = Number(v >> 32n);
    return;
  }
  if (id === KVM_REG_PC) {
    if (v >= BigInt(vcpu.image?.length ?? 0)) fail(Errno.EINVAL, `PC ${v} is outside the program`);
    vcpu.pc = Number(v);
    return;
  }
  if (id === KVM_REG_PSTATE) {
    vcpu.daif = Number((v >> BigInt(SPSR_DAIF_SHIFT)) & 0xfn);
    return;
  }
  const h = vcpu.vm.oneRegs.get(id);
  if (!h) fail(Errno.ENOENT, `no register with id 0x${id.toString(16)}`);
  h.set(vcpu, v);
}

/** The vCPU attribute group `group`. @throws KvmError ENXIO when none is registered */
export function vcpuAttrGroup(vcpu: Vcpu, group: number): VcpuAttrGroup {
  const g = vcpu.vm.vcpuAttrGroups.get(group);
  if (!g) fail(Errno.ENXIO, `vCPU attribute group ${group} is not supported`);
  return g;
}

/** Handlers for one vCPU attribute group (KVM_ARM_VCPU_TIMER_CTRL, …). */
export interface VcpuAttrGroup {
  /** Set an attribute. @throws KvmError */
  set(vcpu: Vcpu, attr: bigint, value: bigint): void;
  /** Get an attribute. @throws KvmError */
  get(vcpu: Vcpu, attr: bigint): bigint;
  /** Whether the attribute exists. */
  has(vcpu: Vcpu, attr: bigint): boolean;
}

/** A register reachable through ONE_REG. */
export interface OneRegHandler {
  /** Read. */
  get(vcpu: Vcpu): bigint;
  /** Write. @throws KvmError */
  set(vcpu: Vcpu, value: bigint): void;
}
