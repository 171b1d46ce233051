import { EventFd, IrqType } from '@irqflow/core';
import { RvicCall, RvidCall, emitCpuBringUp, emitSelfMpidr, rvicFid, rvidFid } from '@irqflow/rvic';
import { GuestAsm, idleLoop, irqHandler, makeVm } from './helpers';

const SPI = (input: number) => (IrqType.Spi << 24) | input;

/** A guest mapping wired input `input` to (vCPU0, intid), handling it as a level interrupt (or not). */
function levelGuest(input: number, intid: number, seen: { cpu: number; intid: number; t: number }[], level: boolean, body?: () => void) {
  const a = new GuestAsm();
  idleLoop(a, (s) => {
    emitCpuBringUp(s, 128);
    emitSelfMpidr(s, 7);
    s.movi(0, rvidFid(RvidCall.MAP)).movi(1, input).mov(2, 7).movi(3, intid).hvc(0);
    s.movi(0, rvicFid(RvicCall.CLEAR_MASKED)).mov(1, 7).movi(2, intid).hvc(0);
  });
  irqHandler(a, seen, { level, body: () => body?.() });
  return a.build();
}

describe('level INTx on rVID inputs', () => {
  it.each([1, 3, 7])('a level irqfd with a resamplefd: a device with %i queued events raises exactly that many interrupts', (k) => {
    const { vm } = makeVm(1);
    const seen: { cpu: number; intid: number; t: number }[] = [];
    let remaining = k;
    const fd = new EventFd('intx');
    const resample = new EventFd('intx-resample');
    resample.listen(() => {
      if (remaining > 0) fd.signal(); // the VMM re-evaluates its device and re-asserts
    });
    vm.irqfd({ fd, gsi: 2, resamplefd: resample }); // default routing: GSI 2 → input 2
    vm.vcpus[0].setProgram(levelGuest(2, 40, seen, true, () => remaining--));
    vm.at(1e6, () => fd.signal());
    vm.run({ until: 1e8 });
    expect(seen.length).toBe(k);
    expect(resample.signals).toBe(k);
    expect(vm.routing.assigned[0].asserted).toBe(false);
    expect(vm.vcpus[0].stats.completed).toBe(k);
  });

  it('KVM_IRQ_LINE held high for k completions yields exactly k interrupts with RESAMPLE, one without', () => {
    for (const [level, expected] of [
      [true, 4],
      [false, 1],
    ] as const) {
      const { vm } = makeVm(1);
      const seen: { cpu: number; intid: number; t: number }[] = [];
      vm.vcpus[0].setProgram(
        levelGuest(9, 44, seen, level, () => {
          if (seen.length === 4) vm.irqLine(SPI(9), 0); // the device is drained after 4 services
        }),
      );
      vm.at(1e6, () => vm.irqLine(SPI(9), 1));
      vm.run({ until: 1e8 });
      expect(seen.length).toBe(expected);
    }
  });

  it('an input already high when it is mapped is pending at once (no lost level interrupt)', () => {
    const { vm } = makeVm(1);
    const seen: { cpu: number; intid: number; t: number }[] = [];
    vm.irqLine(SPI(11), 1); // unmapped: dropped, but the line level is kept
    vm.vcpus[0].setProgram(levelGuest(11, 50, seen, true, () => vm.irqLine(SPI(11), 0)));
    vm.run({ until: 1e8 });
    expect(seen.map((s) => s.intid)).toEqual([50]);
  });
});
