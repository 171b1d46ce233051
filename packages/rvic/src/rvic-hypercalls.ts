/**
 * The rVIC hypercall service (ARM-DEN-0103 §"rVIC interface"; function ids 0xC5000200 + n, references §5).
 * Every call is validated argument by argument and answered with a status word — reason[7:0] | index of the
 * offending argument[15:8], arguments numbered from 0 = x1 — and a result in x1; x2 and x3 are zeroed.
 * Per-interrupt calls take (target MPIDR, intid) and may address another vCPU; ACKNOWLEDGE and RESAMPLE act
 * on the caller only. Ids in the service window that name no call return SMCCC NOT_SUPPORTED.
 *
 * @module
 */
import { CostComponent, SMCCC_RET_NOT_SUPPORTED, TraceKind, type HypercallHandler, type HypercallRange, type Vcpu } from '@irqflow/core';
import { RVIC_CALL_NAMES, RVIC_FN_BASE, RVIC_VERSION, RVIx_FN_WINDOW, RvicCall, RvicInfoKey, RvicStatus, rvicStatus } from './abi';
import type { Rvic } from './rvic';
import type { RvicCpu } from './rvic-cpu';
import { rvixReturn as ret } from './rvix-return';

/**
 * CostComponent.SgiDispatch, read once: `@irqflow/core`'s exports object is in dictionary mode (its re-exports are
 * getters), so an enum read through it is a generic lookup and a getter call at every SGI.
 */
const SGI_DISPATCH = CostComponent.SgiDispatch;

const OK = rvicStatus(RvicStatus.SUCCESS);
const BAD_CPU = rvicStatus(RvicStatus.INVALID_CPU, 0);
const BAD_INTID = rvicStatus(RvicStatus.ERROR_PARAMETER, 1);
const BAD_ARG0 = rvicStatus(RvicStatus.ERROR_PARAMETER, 0);
const DISABLED = rvicStatus(RvicStatus.DISABLED, 0);
const NONE = rvicStatus(RvicStatus.NO_INTERRUPTS, 0);

/** Builds the rVIC hypercall range for `rvic`. */
export function rvicHypercallRange(rvic: Rvic): HypercallRange {
  return { base: RVIC_FN_BASE, count: RVIx_FN_WINDOW, name: 'rVIC', callNames: RVIC_CALL_NAMES, handler: rvicHandler(rvic) };
}

/** The rVIC call handler. */
export function rvicHandler(rvic: Rvic): HypercallHandler {
  const vm = rvic.vm;
  let target: Vcpu | undefined;
  let tc: RvicCpu | undefined;
  let intid = 0;

  /** Validates (mpidr, intid) in x1/x2; on failure answers and returns false. */
  const decode = (vcpu: Vcpu): boolean => {
    target = vm.vcpuByMpidr(vcpu.x(1));
    tc = target === undefined ? undefined : rvic.cpu(target);
    if (tc === undefined) {
      ret(vcpu, BAD_CPU);
      return false;
    }
    const i = vcpu.x(2);
    if (i >= tc.nrTotal) {
      ret(vcpu, BAD_INTID);
      return false;
    }
    intid = i;
    return true;
  };

  return (vcpu: Vcpu, fid: number): void => {
    const self = rvic.cpu(vcpu);
    const n = (fid - RVIC_FN_BASE) as RvicCall;
    if (self === undefined) {
      vcpu.setX(0, SMCCC_RET_NOT_SUPPORTED);
      return;
    }
    switch (n) {
      case RvicCall.VERSION:
        ret(vcpu, OK, RVIC_VERSION);
        return;
      case RvicCall.INFO: {
        const key = vcpu.x(1) as RvicInfoKey;
        if (key === RvicInfoKey.NR_TRUSTED) ret(vcpu, OK, rvic.nrTrusted);
        else if (key === RvicInfoKey.NR_UNTRUSTED) ret(vcpu, OK, rvic.nrUntrusted);
        else ret(vcpu, BAD_ARG0);
        return;
      }
      case RvicCall.ENABLE:
        self.enable();
        ret(vcpu, OK);
        return;
      case RvicCall.DISABLE:
        self.disable();
        ret(vcpu, OK);
        return;
      case RvicCall.SET_MASKED:
        if (!decode(vcpu)) return;
        tc!.setMasked(intid);
        rvic.sync(target!, tc!);
        ret(vcpu, OK);
        return;
      case RvicCall.CLEAR_MASKED:
        if (!decode(vcpu)) return;
        if (tc!.clearMasked(intid)) {
          target!.stats.completed++;
          if (vm.trace.on) vm.trace.emit(TraceKind.Eoi, vm.id, target!.index, vm.now, intid, 0);
        }
        rvic.sync(target!, tc!);
        ret(vcpu, OK);
        return;
      case RvicCall.IS_PENDING:
        if (!decode(vcpu)) return;
        // a pending state another vCPU signalled is not seen before its kick's instant (rvic-visibility.ts)
        ret(vcpu, OK, tc!.isPending(intid) && tc!.visibleAt[intid] <= vcpu.clock ? 1 : 0);
        return;
      case RvicCall.SIGNAL:
        if (!decode(vcpu)) return;
        // as a trapped SGI: decode, target lookup, make pending
        vcpu.clock += vm.costNs.sgiDispatch;
        vcpu.costBy[SGI_DISPATCH] += vm.costNs.sgiDispatch;
        if (!tc!.enabled) {
          tc!.dropped++;
          rvic.counters.disabledDropped++;
          ret(vcpu, DISABLED);
          return;
        }
        rvic.pend(target!, tc!, intid);
        ret(vcpu, OK);
        return;
      case RvicCall.CLEAR_PENDING:
        if (!decode(vcpu)) return;
        tc!.clearPending(intid);
        rvic.sync(target!, tc!);
        ret(vcpu, OK);
        return;
      case RvicCall.ACKNOWLEDGE: {
        if (!self.enabled) {
          ret(vcpu, DISABLED);
          return;
        }
        // what this vCPU can see at the handler's instant (rvic-visibility.ts)
        const got = self.acknowledge(vcpu.clock);
        if (got < 0) {
          ret(vcpu, NONE);
          return;
        }
        vcpu.stats.acked++;
        if (vm.trace.on) vm.trace.emit(TraceKind.Ack, vm.id, vcpu.index, vm.now, got, 0);
        ret(vcpu, OK, got);
        return;
      }
      case RvicCall.RESAMPLE: {
        const i = vcpu.x(1);
        if (i >= self.nrTotal) {
          ret(vcpu, BAD_ARG0);
          return;
        }
        rvic.resample(vcpu, self, i);
        ret(vcpu, OK);
        return;
      }
      default:
        vcpu.setX(0, SMCCC_RET_NOT_SUPPORTED);
    }
  };
}
