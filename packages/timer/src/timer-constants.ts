/**
 * Constants of the Arm generic timer model: the counter frequency, the CNTx_CTL_EL0 bits (Arm DDI 0487,
 * D11.2 "The Generic Timer in AArch64 state" and D12 "The Generic Timer register descriptions"), KVM's default
 * timer PPIs, the vCPU attribute group KVM_ARM_VCPU_TIMER_CTRL and the ONE_REG ids of the timer registers
 * (references §3; Documentation/virt/kvm/api.rst and devices/vcpu.rst).
 *
 * @module
 */

/**
 * CNTFRQ_EL0: the system counter frequency, 1 GHz. Armv8.6 (FEAT_ECV era) fixes the counter at 1 GHz, and with
 * it one counter tick is one simulated nanosecond, so counter values and simulated time convert exactly.
 */
export const CNTFRQ_HZ = 1_000_000_000;

/** Counter ticks per simulated nanosecond ({@link CNTFRQ_HZ} / 1e9). */
export const TICKS_PER_NS = CNTFRQ_HZ / 1e9;

/** CNTx_CTL_EL0.ENABLE: the timer is enabled. */
export const CTL_ENABLE = 1;
/** CNTx_CTL_EL0.IMASK: the timer interrupt is masked. */
export const CTL_IMASK = 2;
/** CNTx_CTL_EL0.ISTATUS: the timer condition is met (read-only). */
export const CTL_ISTATUS = 4;

/** KVM's default PPI of the EL1 virtual timer. */
export const DEFAULT_VTIMER_PPI = 27;
/** KVM's default PPI of the EL1 physical timer. */
export const DEFAULT_PTIMER_PPI = 30;
/** KVM's default PPI of the EL2 virtual timer (stored only: no EL2 timers are modelled). */
export const DEFAULT_HVTIMER_PPI = 28;
/** KVM's default PPI of the EL2 physical timer (stored only). */
export const DEFAULT_HPTIMER_PPI = 26;

/** vCPU attribute group KVM_ARM_VCPU_TIMER_CTRL. */
export const KVM_ARM_VCPU_TIMER_CTRL = 1;
/** Attribute: the virtual timer's PPI. */
export const KVM_ARM_VCPU_TIMER_IRQ_VTIMER = 0;
/** Attribute: the physical timer's PPI. */
export const KVM_ARM_VCPU_TIMER_IRQ_PTIMER = 1;
/** Attribute: the EL2 virtual timer's PPI (stored). */
export const KVM_ARM_VCPU_TIMER_IRQ_HVTIMER = 2;
/** Attribute: the EL2 physical timer's PPI (stored). */
export const KVM_ARM_VCPU_TIMER_IRQ_HPTIMER = 3;

/** The ONE_REG id of the system register with encoding (op0, op1, CRn, CRm, op2) (ARM64_SYS_REG). */
export function arm64SysReg(op0: number, op1: number, crn: number, crm: number, op2: number): bigint {
  const enc = (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
  return 0x6030_0000_0013_0000n | BigInt(enc);
}

/** KVM_REG_ARM_TIMER_CTL: CNTV_CTL_EL0. */
export const KVM_REG_ARM_TIMER_CTL = arm64SysReg(3, 3, 14, 3, 1);
/** KVM_REG_ARM_TIMER_CNT: the virtual counter. KVM's historic swap: it carries CNTV_CVAL_EL0's encoding. */
export const KVM_REG_ARM_TIMER_CNT = arm64SysReg(3, 3, 14, 3, 2);
/** KVM_REG_ARM_TIMER_CVAL: CNTV_CVAL_EL0. KVM's historic swap: it carries CNTVCT_EL0's encoding. */
export const KVM_REG_ARM_TIMER_CVAL = arm64SysReg(3, 3, 14, 0, 2);
/** KVM_REG_ARM_PTIMER_CTL: CNTP_CTL_EL0. */
export const KVM_REG_ARM_PTIMER_CTL = arm64SysReg(3, 3, 14, 2, 1);
/** KVM_REG_ARM_PTIMER_CNT: the physical counter (CNTPCT_EL0). */
export const KVM_REG_ARM_PTIMER_CNT = arm64SysReg(3, 3, 14, 0, 1);
/** KVM_REG_ARM_PTIMER_CVAL: CNTP_CVAL_EL0. */
export const KVM_REG_ARM_PTIMER_CVAL = arm64SysReg(3, 3, 14, 2, 2);

/** 2^64 as a bigint (counter wrap-around). */
export const TWO64 = 1n << 64n;
