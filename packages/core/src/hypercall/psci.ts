/**
 * The calls KVM answers itself rather than through a registered service: SMCCC_VERSION and
 * SMCCC_ARCH_FEATURES (Arm DEN 0028) and PSCI 1.1 (Arm DEN 0022): VERSION, CPU_OFF, CPU_ON, AFFINITY_INFO,
 * SYSTEM_OFF and SYSTEM_RESET (the last two exit to userspace as KVM_EXIT_SYSTEM_EVENT).
 *
 * @module
 */
import { SystemEventType } from '../vm/kvm-run';
import { MpState } from '../vm/mp-state';
import type { Vcpu } from '../vm/vcpu';
import { PSCI, SMCCC_ARCH_FEATURES, SMCCC_VERSION } from './smccc';

/** PSCI return codes. */
const PSCI_RET = { SUCCESS: 0, NOT_SUPPORTED: -1, INVALID_PARAMETERS: -2, ALREADY_ON: -4, INVALID_ADDRESS: -9 } as const;

/** Handles `fid` on `vcpu` (arguments in x1..x3, result in x0); unknown ids return NOT_SUPPORTED. */
export function archHypercall(vcpu: Vcpu, fid: number): void {
  const vm = vcpu.vm;
  switch (fid) {
    case SMCCC_VERSION:
    case PSCI.VERSION:
      vcpu.setX(0, 0x10001); // 1.1
      return;
    case SMCCC_ARCH_FEATURES:
      vcpu.setX(0, vcpu.x(1) === SMCCC_VERSION || vcpu.x(1) === PSCI.VERSION ? 0 : PSCI_RET.NOT_SUPPORTED);
      return;
    case PSCI.CPU_OFF:
      vcpu.mp = MpState.Stopped;
      vm.scheduler.stopped(vcpu);
      return;
    case PSCI.CPU_ON_64: {
      const target = vm.vcpuByMpidr(vcpu.x(1));
      const entry = vcpu.x(2);
      if (!target) vcpu.setX(0, PSCI_RET.INVALID_PARAMETERS);
      else if (target.mp !== MpState.Stopped) vcpu.setX(0, PSCI_RET.ALREADY_ON);
      else if (!target.image || entry >= target.image.length) vcpu.setX(0, PSCI_RET.INVALID_ADDRESS);
      else {
        // the target's pCPU is woken by an IPI: it starts no earlier than the call plus its delivery latency
        target.powerOn(vcpu.clock + vcpu.vm.costNs.ipiLatency, entry, vcpu.x(3));
        vm.scheduler.runnable(target);
        vcpu.setX(0, PSCI_RET.SUCCESS);
      }
      return;
    }
    case PSCI.AFFINITY_INFO_64: {
      const target = vm.vcpuByMpidr(vcpu.x(1));
      vcpu.setX(0, target ? (target.mp === MpState.Stopped ? 1 : 0) : PSCI_RET.INVALID_PARAMETERS);
      return;
    }
    case PSCI.SYSTEM_OFF:
    case PSCI.SYSTEM_RESET:
      vcpu.raiseSystemEvent(fid === PSCI.SYSTEM_OFF ? SystemEventType.Shutdown : SystemEventType.Reset);
      return;
    default:
      vcpu.setX(0, PSCI_RET.NOT_SUPPORTED);
  }
}
