/**
 * How an rVIC or rVID call answers (ARM-DEN-0103 §"rVIC interface" / §"rVID interface", SMCCC register
 * convention; references §5): the status word in x0, the call's result in x1, x2 and x3 zeroed. Shared by
 * the two services' handlers (rvic-hypercalls.ts, rvid-hypercalls.ts); not part of the package API.
 *
 * @module
 */
import type { Vcpu } from '@irqflow/core';

/** Writes a call's answer into the caller's x0..x3: `status` (an rvicStatus word), `result`, 0, 0. */
export function rvixReturn(vcpu: Vcpu, status: number, result = 0): void {
  vcpu.setX(0, status);
  vcpu.setX(1, result);
  vcpu.setX(2, 0);
  vcpu.setX(3, 0);
}
