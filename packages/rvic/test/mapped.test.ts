import { IrqchipState } from '@irqflow/core';
import { emitCpuBringUp, emitSelfMpidr, emitUnmask } from '@irqflow/rvic';
import { GuestAsm, idleLoop, irqHandler, makeVm } from './helpers';

/** jest's asymmetric matcher for a thrown KvmError with these fields, typed for `toThrow`. */
const kvmError = (fields: { code?: string; errno?: number }): Error => expect.objectContaining(fields) as Error;

describe('mapped (timer-style) trusted interrupts', () => {
  function setup() {
    const s = makeVm(1);
    const { vm, hv } = s;
    const vcpu = vm.vcpus[0];
    const owner = { name: 'fake-timer' };
    const dev = { line: false };
    const host = hv.hostIrqs.allocate('vtimer/vcpu0', () => vm.flow.injectIrq(vm, 0, 27, true, owner));
    vm.flow.setOwner(vcpu, 27, owner);
    vm.flow.mapPhysIrq(vcpu, host.irq, 27, () => dev.line);
    return { ...s, vcpu, owner, dev, host };
  }

  it('RESAMPLE re-pends while the line is high and releases the host interrupt once it is low', () => {
    const { vm, hv, vcpu, dev, host } = setup();
    const seen: { cpu: number; intid: number; t: number }[] = [];
    const activeAtResample: boolean[] = [];
    const a = new GuestAsm();
    idleLoop(a, (s) => {
      emitCpuBringUp(s, 128);
      emitSelfMpidr(s, 7);
      emitUnmask(s, { r: 7 }, 27);
    });
    irqHandler(a, seen, {
      level: true,
      body: () => {
        activeAtResample.push(host.active);
        if (seen.length >= 2) dev.line = false; // the guest reprogrammed the timer on the 2nd pass
      },
    });
    vcpu.setProgram(a.build());
    vm.at(1e6, () => {
      dev.line = true;
      hv.hostIrqs.raise(host.irq);
    });
    vm.run({ until: 5e6 });
    expect(seen.map((s) => s.intid)).toEqual([27, 27]);
    expect(activeAtResample).toEqual([true, true]);
    expect(hv.hostIrqs.getIrqchipState(host.irq, IrqchipState.Active)).toBe(false);
    expect(host.fired).toBe(1);
    // the next expiry fires the host interrupt again and is delivered once
    vm.at(6e6, () => {
      dev.line = true;
      hv.hostIrqs.raise(host.irq);
      dev.line = false;
    });
    vm.run({ until: 1e7 });
    expect(host.fired).toBe(2);
    expect(seen.length).toBe(3);
    expect(vm.flow.mapIsActive(vcpu, 27)).toBe(false);
  });

  it('validates mapPhysIrq / setOwner / unmapPhysIrq and refuses injection from another owner', () => {
    const { vm, hv, vcpu } = setup();
    const h2 = hv.hostIrqs.allocate('other');
    expect(() => vm.flow.mapPhysIrq(vcpu, h2.irq, 40, null)).toThrow(kvmError({ code: 'EINVAL' })); // untrusted
    expect(() => vm.flow.mapPhysIrq(vcpu, h2.irq, 3, null)).toThrow(kvmError({ code: 'EINVAL' })); // IPI
    expect(() => vm.flow.mapPhysIrq(vcpu, 9999, 28, null)).toThrow(kvmError({ code: 'EINVAL' }));
    expect(() => vm.flow.mapPhysIrq(vcpu, h2.irq, 27, null)).toThrow(kvmError({ code: 'EBUSY' }));
    expect(() => vm.flow.setOwner(vcpu, 27, {})).toThrow(kvmError({ code: 'EBUSY' }));
    expect(() => vm.flow.injectIrq(vm, 3, 27, true, null)).toThrow(kvmError({ code: 'EINVAL' }));
    expect(() => vm.flow.injectIrq(vm, 0, 40, true, null)).toThrow(kvmError({ code: 'EINVAL' }));
    vm.flow.injectIrq(vm, 0, 27, true, { other: true });
    expect(vcpu.stats.injected).toBe(0);
    vm.flow.unmapPhysIrq(vcpu, 27);
    vm.flow.mapPhysIrq(vcpu, h2.irq, 27, null);
    expect(vm.dump()).toContain('rVIC trusted=32 total=128');
  });
});
