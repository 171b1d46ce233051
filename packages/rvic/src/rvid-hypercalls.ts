/**
 * The rVID hypercall service (ARM-DEN-0103 §"rVID interface"; function ids 0xC5000100 + n, references §5):
 * VERSION, MAP (input, target MPIDR, intid) and UNMAP (input). MAP validates the input, then the MPIDR, then
 * that intid is untrusted, and reports the first bad argument's index (0 = input, 1 = MPIDR, 2 = intid) with
 * ERROR_PARAMETER — the spec's rVID uses ERROR_PARAMETER for a bad MPIDR where rVIC says INVALID_CPU (the
 * series kept that difference). Inputs are checked with `input < nr_inputs` (the series' `>` let one past
 * the end through). Re-mapping moves the route; pending state stays where it is (the guest transfers it).
 *
 * @module
 */
import { SMCCC_RET_NOT_SUPPORTED, type HypercallHandler, type HypercallRange, type Vcpu } from '@irqflow/core';
import { RVID_CALL_NAMES, RVID_FN_BASE, RVIC_VERSION, RVIx_FN_WINDOW, RvidCall, RvicStatus, rvicStatus } from './abi';
import type { Rvic } from './rvic';
import { rvixReturn as ret } from './rvix-return';

const OK = rvicStatus(RvicStatus.SUCCESS);

/** Builds the rVID hypercall range for `rvic`. */
export function rvidHypercallRange(rvic: Rvic): HypercallRange {
  return { base: RVID_FN_BASE, count: RVIx_FN_WINDOW, name: 'rVID', callNames: RVID_CALL_NAMES, handler: rvidHandler(rvic) };
}

/** Drops the route of `input` and the line/reverse link it gave its interrupt. */
function unlink(rvic: Rvic, input: number): void {
  const t = rvic.rvid!;
  const vi = t.targetOf[input];
  if (vi < 0) return;
  const c = rvic.cpu(rvic.vm.vcpus[vi])!;
  const intid = t.intidOf[input];
  if (c.inputOf[intid] === input) {
    c.inputOf[intid] = -1;
    c.setLine(intid, false);
  }
  t.clear(input);
}

/** The rVID call handler. */
export function rvidHandler(rvic: Rvic): HypercallHandler {
  return (vcpu: Vcpu, fid: number): void => {
    const t = rvic.rvid;
    if (t === null) {
      vcpu.setX(0, SMCCC_RET_NOT_SUPPORTED);
      return;
    }
    switch ((fid - RVID_FN_BASE) as RvidCall) {
      case RvidCall.VERSION:
        ret(vcpu, OK, RVIC_VERSION);
        return;
      case RvidCall.MAP: {
        const input = vcpu.x(1);
        if (input >= t.nrInputs) return ret(vcpu, rvicStatus(RvicStatus.ERROR_PARAMETER, 0));
        const target = rvic.vm.vcpuByMpidr(vcpu.x(2));
        const c = target === undefined ? undefined : rvic.cpu(target);
        if (c === undefined) return ret(vcpu, rvicStatus(RvicStatus.ERROR_PARAMETER, 1));
        const intid = vcpu.x(3);
        if (intid < rvic.nrTrusted || intid >= rvic.nrTotal) return ret(vcpu, rvicStatus(RvicStatus.ERROR_PARAMETER, 2));
        const other = c.inputOf[intid];
        // one input per interrupt: keeps each interrupt's line level well defined
        if (other >= 0 && other !== input) return ret(vcpu, rvicStatus(RvicStatus.ERROR_PARAMETER, 2));
        unlink(rvic, input);
        t.set(input, target!.index, intid);
        c.inputOf[intid] = input;
        const high = t.level[input] !== 0;
        c.setLine(intid, high);
        // a level input that is already high is pending at its new home (no lost level interrupt)
        if (high) rvic.pend(target!, c, intid);
        ret(vcpu, OK);
        return;
      }
      case RvidCall.UNMAP: {
        const input = vcpu.x(1);
        if (input >= t.nrInputs) return ret(vcpu, rvicStatus(RvicStatus.ERROR_PARAMETER, 0));
        unlink(rvic, input);
        ret(vcpu, OK);
        return;
      }
      default:
        vcpu.setX(0, SMCCC_RET_NOT_SUPPORTED);
    }
  };
}
