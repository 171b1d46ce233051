/**
 * AArch64 system-register encodings. An encoding is packed as KVM's CPU_SYSREGS attribute does:
 * Op0[15:14] | Op1[13:11] | CRn[10:7] | CRm[6:3] | Op2[2:0] (references §3). Names follow Arm DDI 0487.
 *
 * @module
 */

/** Packs (op0, op1, CRn, CRm, op2) into a 16-bit encoding. */
export function sysregEncoding(op0: number, op1: number, crn: number, crm: number, op2: number): number {
  return ((op0 & 3) << 14) | ((op1 & 7) << 11) | ((crn & 15) << 7) | ((crm & 15) << 3) | (op2 & 7);
}

/** Unpacks an encoding into its fields. */
export function decodeSysreg(enc: number): { op0: number; op1: number; crn: number; crm: number; op2: number } {
  return { op0: (enc >> 14) & 3, op1: (enc >> 11) & 7, crn: (enc >> 7) & 15, crm: (enc >> 3) & 15, op2: enc & 7 };
}

const R = sysregEncoding;

/** Encodings of the system registers irqflow models, by architectural name. */
export const SYSREGS = {
  MPIDR_EL1: R(3, 0, 0, 0, 5),
  SPSR_EL1: R(3, 0, 4, 0, 0),
  ELR_EL1: R(3, 0, 4, 0, 1),
  DAIF: R(3, 3, 4, 2, 1),
  TPIDR_EL1: R(3, 0, 13, 0, 4),
  ICC_PMR_EL1: R(3, 0, 4, 6, 0),
  ICC_IAR0_EL1: R(3, 0, 12, 8, 0),
  ICC_EOIR0_EL1: R(3, 0, 12, 8, 1),
  ICC_HPPIR0_EL1: R(3, 0, 12, 8, 2),
  ICC_BPR0_EL1: R(3, 0, 12, 8, 3),
  ICC_AP0R0_EL1: R(3, 0, 12, 8, 4),
  ICC_AP0R1_EL1: R(3, 0, 12, 8, 5),
  ICC_AP0R2_EL1: R(3, 0, 12, 8, 6),
  ICC_AP0R3_EL1: R(3, 0, 12, 8, 7),
  ICC_AP1R0_EL1: R(3, 0, 12, 9, 0),
  ICC_AP1R1_EL1: R(3, 0, 12, 9, 1),
  ICC_AP1R2_EL1: R(3, 0, 12, 9, 2),
  ICC_AP1R3_EL1: R(3, 0, 12, 9, 3),
  ICC_DIR_EL1: R(3, 0, 12, 11, 1),
  ICC_RPR_EL1: R(3, 0, 12, 11, 3),
  ICC_SGI1R_EL1: R(3, 0, 12, 11, 5),
  ICC_ASGI1R_EL1: R(3, 0, 12, 11, 6),
  ICC_SGI0R_EL1: R(3, 0, 12, 11, 7),
  ICC_IAR1_EL1: R(3, 0, 12, 12, 0),
  ICC_EOIR1_EL1: R(3, 0, 12, 12, 1),
  ICC_HPPIR1_EL1: R(3, 0, 12, 12, 2),
  ICC_BPR1_EL1: R(3, 0, 12, 12, 3),
  ICC_CTLR_EL1: R(3, 0, 12, 12, 4),
  ICC_SRE_EL1: R(3, 0, 12, 12, 5),
  ICC_IGRPEN0_EL1: R(3, 0, 12, 12, 6),
  ICC_IGRPEN1_EL1: R(3, 0, 12, 12, 7),
  CNTFRQ_EL0: R(3, 3, 14, 0, 0),
  CNTPCT_EL0: R(3, 3, 14, 0, 1),
  CNTVCT_EL0: R(3, 3, 14, 0, 2),
  CNTP_TVAL_EL0: R(3, 3, 14, 2, 0),
  CNTP_CTL_EL0: R(3, 3, 14, 2, 1),
  CNTP_CVAL_EL0: R(3, 3, 14, 2, 2),
  CNTV_TVAL_EL0: R(3, 3, 14, 3, 0),
  CNTV_CTL_EL0: R(3, 3, 14, 3, 1),
  CNTV_CVAL_EL0: R(3, 3, 14, 3, 2),
} as const;

/** A modelled system register name. */
export type SysregName = keyof typeof SYSREGS;

const NAME_OF = new Map<number, string>(Object.entries(SYSREGS).map(([k, v]) => [v, k]));

/** The architectural name of an encoding, or `S<op0>_<op1>_C<n>_C<m>_<op2>` for unnamed ones. */
export function sysregName(enc: number): string {
  const n = NAME_OF.get(enc);
  if (n) return n;
  const d = decodeSysreg(enc);
  return `S${d.op0}_${d.op1}_C${d.crn}_C${d.crm}_${d.op2}`;
}

/** Resolves a name or encoding to an encoding. @throws Error for unknown names (a programming error in guest code). */
export function sysregOf(reg: SysregName | number): number {
  if (typeof reg === 'number') return reg & 0xffff;
  const e = (SYSREGS as Record<string, number>)[reg];
  if (e === undefined) throw new Error(`unknown system register ${reg}`);
  return e;
}
