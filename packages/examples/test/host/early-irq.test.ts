/**
 * One host program for every controller (createVm({ irqchip }) + vm.deviceLine): a device raises its line
 * five times; the guest counts what it takes. Raised after the guest set its controller up, all five arrive on
 * gic-v3 and rvic alike. Raised during bring-up, the documented behaviour holds and the VM warns: GIC latches
 * an edge as pending until the guest enables it, and later edges merge into it (IRQFLOW_IRQ_EARLY); the rVIC
 * drops what reaches an unrouted rVID input (IRQFLOW_IRQ_DROPPED).
 */
import { DAIF, GuestAsm, type VmWarning } from '@irqflow/core';
import { createHypervisor } from '@irqflow/examples';

/** Runs the program on `irqchip` with edges at `times` (ns); returns what the guest got and the warnings. */
function fiveEdges(irqchip: string, times: readonly number[]): { got: number; warnings: VmWarning[]; reason: string; setupDoneAt: number } {
  const warned: VmWarning[] = [];
  const { hv } = createHypervisor({ traceCapacity: 1, onWarning: (w) => void warned.push(w) });
  const vm = hv.createVm({ irqchip, vcpus: 1 });
  const drv = vm.driver!;
  const intid = drv.deviceIrqs.first; // device input 0, in the controller's own numbering
  let got = 0;
  let setupDoneAt = -1;
  const a = new GuestAsm();
  a.label('main');
  drv.emitCpuInit(a);
  drv.emitEnable(a, intid, { level: false });
  a.call((v) => void (setupDoneAt = v.clock));
  a.daifclr(DAIF.I).label('idle').wfi().b('idle');
  a.label('irq').push(9);
  drv.emitAck(a, 9);
  a.beqi(9, drv.spurious, 'out').call((v) => void (v.x(9) === intid && got++));
  drv.emitEoi(a, 9);
  a.label('out').pop(9).eret();
  vm.vcpus[0].setProgram(a.build());
  for (const t of times) {
    vm.at(t, () => vm.irqLine(vm.deviceLine(0), 1));
    vm.at(t + 50, () => vm.irqLine(vm.deviceLine(0), 0));
  }
  const r = vm.run({ until: 5_000_000 });
  void vm.destroy();
  expect(vm.warnings).toEqual(warned);
  return { got, warnings: warned, reason: r.reason, setupDoneAt };
}

const late = [1e6, 1.1e6, 1.2e6, 1.3e6, 1.4e6];
const early = [100, 200, 300, 400, 500];

describe.each(['gic-v3', 'gic-v2', 'rvic'])('five device edges on %s', (irqchip) => {
  it('after the guest set its controller up: all five arrive, no warning', () => {
    const r = fiveEdges(irqchip, late);
    expect(r.setupDoneAt).toBeGreaterThan(0);
    expect(r.setupDoneAt).toBeLessThan(late[0]);
    expect(r.got).toBe(5);
    expect(r.warnings).toEqual([]);
  });
});

describe('five device edges during bring-up', () => {
  it('gic-v3 keeps the first edge pending until the guest enables it, merges the rest, and warns once', () => {
    const r = fiveEdges('gic-v3', early);
    expect(r.setupDoneAt).toBeGreaterThan(early[4]);
    expect(r.got).toBe(1);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatchObject({ code: 'IRQFLOW_IRQ_EARLY', line: 32, count: 5 });
    expect(r.warnings[0].message).toMatch(/edge-triggered INTID 32 was raised before the guest enabled it: .*merge/);
  });

  it('rvic drops edges on the unrouted rVID input and warns once with the count', () => {
    const r = fiveEdges('rvic', early);
    expect(r.setupDoneAt).toBeGreaterThan(early[4]);
    expect(r.got).toBe(0);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatchObject({ code: 'IRQFLOW_IRQ_DROPPED', line: 0, count: 5 });
    expect(r.warnings[0].message).toMatch(/rVID input 0 rose before the guest routed it/);
  });
});
