/** Deterministic scheduling in simulated time: ordering, determinism, seeds, limits. */
import { GuestAsm, Hypervisor } from '../../src';
import { systemOff } from '../support/programs';
import { tinyVm } from '../support/tiny-controller';
import { runWorkload } from '../support/workload';

describe('determinism', () => {
  it('two identical runs produce bit-identical traces and counters', () => {
    const r1 = runWorkload({ seed: 7 });
    const r2 = runWorkload({ seed: 7 });
    expect(r1.result.reason).toBe('shutdown');
    expect(r1.ctl.completedLog).toHaveLength(40);
    expect(r1.hv.trace.length).toBeGreaterThan(200);
    expect(r1.hv.trace.digest()).toBe(r2.hv.trace.digest());
    expect(r1.vm.stats()).toEqual(r2.vm.stats());
    expect(r1.result.time).toBe(r2.result.time);
  });

  it('a different seed changes the randomized workload (and so the trace)', () => {
    const r1 = runWorkload({ seed: 7 });
    const r3 = runWorkload({ seed: 8 });
    expect(r3.result.reason).toBe('shutdown');
    expect(r3.hv.trace.digest()).not.toBe(r1.hv.trace.digest());
    expect(r3.ctl.completedLog).not.toEqual(r1.ctl.completedLog);
  });
});

describe('scheduling order', () => {
  it('always runs the vCPU furthest behind: observed clocks never go backwards across vCPUs', () => {
    const { vm, vcpus } = tinyVm(3);
    const seen: number[] = [];
    const a = new GuestAsm();
    a.label('main')
      .movi(5, 0)
      .label('l')
      .work(7)
      .call((v) => void seen.push(v.clock))
      .addi(5, 5, 1)
      .bloi(5, 50, 'l')
      .label('s')
      .wfi()
      .b('s');
    a.label('slow')
      .movi(5, 0)
      .label('l2')
      .work(13)
      .call((v) => void seen.push(v.clock))
      .addi(5, 5, 1)
      .bloi(5, 50, 'l2')
      .label('s2')
      .wfi()
      .b('s2');
    const img = a.build();
    vcpus[0].setProgram(img);
    vcpus[1].setProgram(img, 'slow');
    vcpus[2].setProgram(img);
    expect(vm.run().reason).toBe('idle');
    expect(seen).toHaveLength(150);
    // a vCPU runs ahead of the others by at most one operation's cost
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1] - 13 / 3 - 3 / 3 - 1e-9);
  });

  it('timed events fire in time order, ties in scheduling order, and run({until}) stops at the limit', () => {
    const vm = new Hypervisor().createVm();
    const fired: string[] = [];
    vm.at(300, () => fired.push('c'));
    vm.at(100, () => fired.push('a'));
    vm.at(100, () => fired.push('b'));
    vm.at(900, () => fired.push('late'));
    const r = vm.run({ until: 500 });
    expect(r).toEqual({ reason: 'limit', time: 500 });
    expect(fired).toEqual(['a', 'b', 'c']);
    expect(vm.run().reason).toBe('idle');
    expect(fired).toEqual(['a', 'b', 'c', 'late']);
  });

  it('an event sees vm.now equal to its time, and no vCPU has passed it', () => {
    const { vm, vcpus } = tinyVm(2);
    const a = new GuestAsm();
    a.label('main').label('l').work(30).b('l');
    vcpus.forEach((v) => v.setProgram(a.build()));
    const at: number[][] = [];
    vm.at(10_000, (now) => void at.push([now, vm.now, ...vcpus.map((v) => v.clock)]));
    vm.run({ until: 20_000 });
    expect(at[0][0]).toBe(10_000);
    expect(at[0][1]).toBe(10_000);
    expect(at[0][2]).toBeGreaterThanOrEqual(10_000);
    expect(at[0][2]).toBeLessThan(10_000 + 12);
    expect(vcpus[0].clock).toBeGreaterThanOrEqual(20_000);
  });

  it('run({only}) runs a single vCPU; the others keep their state', () => {
    const { vm, vcpus } = tinyVm(2);
    const a = new GuestAsm();
    a.label('main').work(100);
    systemOff(a);
    vcpus.forEach((v) => v.setProgram(a.build()));
    const r = vm.run({ only: vcpus[1] });
    expect(r.reason).toBe('shutdown');
    expect(vcpus[0].clock).toBe(0);
    expect(vcpus[0].hasRun).toBe(false);
  });
});
