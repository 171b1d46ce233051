/**
 * KVM_GET/SET_ONE_REG, KVM_GET_REG_LIST and vCPU device attributes (Documentation/virt/kvm/api.rst 4.68
 * "KVM_SET_ONE_REG", arm64 part; arch/arm64/include/uapi/asm/kvm.h). The core registers are reached by their
 * KVM_REG_ARM_CORE ids — KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | (offset of the field in
 * `struct kvm_regs`) / 4 — for every field of `struct kvm_regs` the model keeps: regs.regs[0..30], regs.sp
 * (SP_EL0), regs.pc, regs.pstate, sp_el1, elr_el1 and spsr[0..4]. Devices add registers (the timer's counter and
 * control registers, KVM_REG_ARM64_SYSREG ids) and vCPU attribute groups (KVM_ARM_VCPU_TIMER_CTRL) on the VM.
 *
 * Not modelled, so not listed and answered ENOENT: the FP/SIMD registers (fp_regs: the guest ISA has none).
 *
 * @module
 */
import { Errno, fail } from '../errno';
import type { Vcpu } from './vcpu';

const SPSR_DAIF_SHIFT = 6;
/** PSTATE.M[4:0] of the one mode the model's guests run in: EL1 using SP_EL1 (EL1h). */
const PSR_MODE_EL1H = 0x5;
/** The PSTATE bits the model keeps besides DAIF (NZCV[31:28], the mode field M[4:0] and the rest of [27:10]). */
const PSTATE_OTHER_MASK = 0xfffffc3fn;

/** The KVM_REG_ARM_CORE id base: KVM_REG_ARM64 (0x6000…) | KVM_REG_SIZE_U64 (0x0030…) | KVM_REG_ARM_CORE (0x0010 << 16). */
const CORE_BASE = 0x6030_0000_0010_0000n;

/**
 * KVM_REG_ARM_CORE id of the `index`-th 64-bit field of `struct kvm_regs`: 0..30 = x0..x30, 31 = SP (SP_EL0),
 * 32 = PC, 33 = PSTATE, 34 = SP_EL1, 35 = ELR_EL1, 36..40 = SPSR[0..4] (the id's low bits are the field's
 * byte offset / 4).
 */
export function coreRegId(index: number): bigint {
  return CORE_BASE | BigInt(index * 2);
}

/** ONE_REG id of regs.sp (SP_EL0). */
export const KVM_REG_SP = coreRegId(31);
/** ONE_REG id of PC. */
export const KVM_REG_PC = coreRegId(32);
/** ONE_REG id of PSTATE. */
export const KVM_REG_PSTATE = coreRegId(33);
/** ONE_REG id of SP_EL1. */
export const KVM_REG_SP_EL1 = coreRegId(34);
/** ONE_REG id of ELR_EL1. */
export const KVM_REG_ELR_EL1 = coreRegId(35);
/** KVM_SPSR_EL1 … KVM_SPSR_FIQ: the indices of `spsr[]` (0 = SPSR_EL1, 1..4 the AArch32 banked ABT, UND, IRQ, FIQ). */
export const KVM_NR_SPSR = 5;
/** ONE_REG id of spsr[`i`] (0 = SPSR_EL1). */
export function spsrRegId(i: number): bigint {
  return coreRegId(36 + i);
}
/** ONE_REG id of SPSR_EL1 (spsr[KVM_SPSR_EL1]). */
export const KVM_REG_SPSR_EL1 = spsrRegId(0);
/** Number of 64-bit core fields the model keeps (x0..x30, SP, PC, PSTATE, SP_EL1, ELR_EL1, SPSR[5]). */
const NR_CORE = 41;

/** Bytes per entry of the model's stack (PUSH/POP move one 64-bit register). */
export const STACK_ENTRY_BYTES = 8;

function coreIndex(id: bigint): number {
  if ((id & ~0xffffn) !== CORE_BASE) return -1;
  const off = Number(id & 0xffffn);
  return off % 2 === 0 && off / 2 < NR_CORE ? off / 2 : -1;
}

function u32(v: bigint, what: string): number {
  if (v > 0xffffffffn) fail(Errno.EINVAL, `${what} 0x${v.toString(16)} does not fit the model's 32-bit register`);
  return Number(v);
}

/**
 * KVM_GET_ONE_REG on `vcpu`.
 * @throws KvmError ENOENT for an unknown register id
 */
export function getOneReg(vcpu: Vcpu, id: bigint): bigint {
  const core = coreIndex(id);
  if (core >= 0) {
    if (core < 31) return vcpu.xBig(core);
    switch (core) {
      case 31:
        return vcpu.spEl0;
      case 32:
        return BigInt(vcpu.pc);
      case 33:
        return vcpu.pstateOther | BigInt(vcpu.daif << SPSR_DAIF_SHIFT);
      case 34:
        return BigInt(vcpu.stackDepth * STACK_ENTRY_BYTES);
      case 35:
        return BigInt(vcpu.elr);
      case 36:
        return BigInt(vcpu.spsr >>> 0);
      default:
        return vcpu.spsrBanked[core - 37];
    }
  }
  const h = vcpu.vm.oneRegs.get(id);
  if (!h) fail(Errno.ENOENT, `no register with id 0x${id.toString(16)}`);
  return h.get(vcpu);
}

/**
 * KVM_SET_ONE_REG on `vcpu`. A failed call changes nothing.
 * @throws KvmError ENOENT for an unknown register id; EINVAL for a bad value: a PSTATE whose mode is not
 * AArch64 EL0t/EL1t/EL1h (as KVM's set_core_reg checks), a PC outside the program, an SP_EL1 that is not a
 * multiple of 8 within the model's stack, an ELR/SPSR beyond the model's 32-bit registers
 */
export function setOneReg(vcpu: Vcpu, id: bigint, value: bigint): void {
  const core = coreIndex(id);
  const v = BigInt.asUintN(64, value);
  if (core >= 0) {
    if (core < 31) {
      vcpu.xlo[core] = Number(v & 0xffffffffn);
      vcpu.xhi[core] = Number(v >> 32n);
      return;
    }
    switch (core) {
      case 31:
        vcpu.spEl0 = v;
        return;
      case 32:
        if (v >= BigInt(vcpu.image?.length ?? 0)) fail(Errno.EINVAL, `PC ${v} is outside the program`);
        vcpu.pc = Number(v);
        return;
      case 33: {
        // KVM: only AArch64 EL0t, EL1t and EL1h (EL2 with nested virtualisation, which the model has not); an
        // AArch32 mode needs a 32-bit vCPU. Bits above 31 are RES0.
        const mode = Number(v & 0x1fn);
        if (v >> 32n !== 0n || (mode !== 0x0 && mode !== 0x4 && mode !== PSR_MODE_EL1H))
          fail(Errno.EINVAL, `PSTATE 0x${v.toString(16)}: mode ${mode} is not AArch64 EL0t/EL1t/EL1h`);
        vcpu.daif = Number((v >> BigInt(SPSR_DAIF_SHIFT)) & 0xfn);
        vcpu.pstateOther = v & PSTATE_OTHER_MASK;
        return;
      }
      case 34: {
        const depth = v / BigInt(STACK_ENTRY_BYTES);
        if (v % BigInt(STACK_ENTRY_BYTES) !== 0n || depth > BigInt(vcpu.stackCapacity))
          fail(Errno.EINVAL, `SP_EL1 ${v} is not a multiple of 8 within the ${vcpu.stackCapacity * STACK_ENTRY_BYTES}-byte stack`);
        vcpu.setStackDepth(Number(depth));
        return;
      }
      case 35:
        vcpu.elr = u32(v, 'ELR_EL1');
        return;
      case 36:
        vcpu.spsr = u32(v, 'SPSR_EL1');
        return;
      default:
        vcpu.spsrBanked[core - 37] = v;
        return;
    }
  }
  const h = vcpu.vm.oneRegs.get(id);
  if (!h) fail(Errno.ENOENT, `no register with id 0x${id.toString(16)}`);
  h.set(vcpu, v);
}

/**
 * KVM_GET_REG_LIST: every register id KVM_GET/SET_ONE_REG accepts on `vcpu` — the core registers in
 * `struct kvm_regs` order, then the registers devices added (timer), in ascending id order.
 */
export function regList(vcpu: Vcpu): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i < NR_CORE; i++) out.push(coreRegId(i));
  const extra = [...vcpu.vm.oneRegs.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return out.concat(extra);
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
