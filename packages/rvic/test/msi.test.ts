import { EventFd } from '@irqflow/core';
import { RVID_MSI_DOORBELL, RvicCall, RvidCall, emitCpuBringUp, emitSelfMpidr, rvicFid, rvidFid } from '@irqflow/rvic';
import { callLog, GuestAsm, idleLoop, irqHandler, makeVm, off, type Ret } from './helpers';

/** jest's asymmetric matcher for a thrown KvmError with these fields, typed for `toThrow`. */
const kvmError = (fields: { code?: string; errno?: number }): Error => expect.objectContaining(fields) as Error;

/** vCPU `idx` brings its rVIC up, maps MSI input `input` to (itself, intid), unmasks it and idles. */
function msiGuest(input: number, intid: number, seen: { cpu: number; intid: number; t: number }[], extra?: (a: GuestAsm) => void) {
  const a = new GuestAsm();
  idleLoop(a, (s) => {
    emitCpuBringUp(s, 128);
    emitSelfMpidr(s, 7);
    s.movi(0, rvidFid(RvidCall.MAP)).movi(1, input).mov(2, 7).movi(3, intid).hvc(0);
    s.movi(0, rvicFid(RvicCall.CLEAR_MASKED)).mov(1, 7).movi(2, intid).hvc(0);
    extra?.(s);
  });
  irqHandler(a, seen);
  return a.build();
}

describe('MSIs through the rVID doorbell', () => {
  it('KVM_SIGNAL_MSI: EINVAL off the doorbell or outside the MSI inputs, 0 when unmapped, 1 when delivered', () => {
    const { vm } = makeVm(1);
    const seen: { cpu: number; intid: number; t: number }[] = [];
    vm.vcpus[0].setProgram(msiGuest(50, 90, seen));
    expect(() => vm.signalMsi({ address: 0x8090000, data: 50 })).toThrow(kvmError({ code: 'EINVAL' }));
    expect(() => vm.signalMsi({ address: RVID_MSI_DOORBELL, data: 10 })).toThrow(kvmError({ code: 'EINVAL' }));
    expect(() => vm.signalMsi({ address: RVID_MSI_DOORBELL, data: 96 })).toThrow(kvmError({ code: 'EINVAL' }));
    expect(vm.signalMsi({ address: RVID_MSI_DOORBELL, data: 50 })).toBe(0); // not mapped yet
    vm.run({ until: 1e6 });
    expect(vm.signalMsi({ address: RVID_MSI_DOORBELL, data: 50 })).toBe(1);
    expect(vm.signalMsi({ address: RVID_MSI_DOORBELL, data: 51 })).toBe(0);
    vm.run({ until: 2e6 });
    expect(seen.map((s) => s.intid)).toEqual([90]);
  });

  it('an MSI route + irqfd delivers without a userspace exit', () => {
    const { vm } = makeVm(1);
    const seen: { cpu: number; intid: number; t: number }[] = [];
    vm.vcpus[0].setProgram(msiGuest(60, 100, seen));
    vm.setGsiRouting([{ gsi: 5, type: 'msi', msi: { address: RVID_MSI_DOORBELL, data: 60 } }]);
    const fd = new EventFd('virtio-queue');
    vm.irqfd({ fd, gsi: 5 });
    vm.run({ until: 1e6 });
    for (let i = 0; i < 3; i++) vm.at(1e6 + i * 1e5, () => fd.signal());
    vm.run({ until: 2e6 });
    expect(seen.map((s) => s.intid)).toEqual([100, 100, 100]);
    expect(vm.stats().exitsByReason['mmio-user'] ?? 0).toBe(0);
  });

  it('a guest store to the doorbell is handled in the kernel and delivers the MSI', () => {
    const { vm } = makeVm(2);
    const seen: { cpu: number; intid: number; t: number }[] = [];
    vm.vcpus[1].setProgram(msiGuest(70, 110, seen));
    const log: Ret[] = [];
    const a = new GuestAsm();
    a.label('main').work(1_000_000).movi(9, 70).stra(9, RVID_MSI_DOORBELL, 4);
    a.movi(9, 3).stra(9, RVID_MSI_DOORBELL, 4); // not an MSI input: ignored
    a.ldra(10, RVID_MSI_DOORBELL, 4);
    a.call((cpu) => {
      log.push({ x0: cpu.x(10), x1: 0 });
    });
    off(a);
    vm.vcpus[0].setProgram(a.build());
    vm.run({ until: 1e7 });
    expect(seen).toEqual([expect.objectContaining({ cpu: 1, intid: 110 })]);
    expect(log[0].x0).toBe(0);
    const s = vm.stats();
    expect(s.exitsByReason['mmio-kernel']).toBe(3);
    expect(s.exitsByReason['mmio-user'] ?? 0).toBe(0);
    expect(vm.vcpus[0].stats.faults).toBe(0);
  });

  it('MSIs to a vCPU whose rVIC is disabled are blocked (0)', () => {
    const { vm } = makeVm(1);
    const log: Ret[] = [];
    const a = new GuestAsm();
    a.label('main');
    emitCpuBringUp(a, 128);
    a.movi(0, rvidFid(RvidCall.MAP)).movi(1, 64).movi(2, 0).movi(3, 80).hvc(0);
    callLog(a, log, rvicFid(RvicCall.DISABLE));
    off(a);
    vm.vcpus[0].setProgram(a.build());
    vm.run();
    expect(vm.signalMsi({ address: RVID_MSI_DOORBELL, data: 64 })).toBe(0);
  });
});
