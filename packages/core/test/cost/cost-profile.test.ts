/** Cost profiles: exits are charged per the VM's profile; composite latencies follow from the primitives. */
import {
  BUILTIN_COST_PROFILES,
  CostComponent,
  costBreakdown,
  ExitReason,
  STRUCTURAL_RULES,
  TraceKind,
  withStructuralCosts,
  GICV2_NONVHE_XGENE,
  GICV3_VHE_ALTRA,
  GuestAsm,
  Hypervisor,
  MpState,
} from '../../src';
import { systemOff } from '../support/programs';
import { tinyVm } from '../support/tiny-controller';
import { runWorkload } from '../support/workload';

describe('cost profiles', () => {
  it('the built-in profiles name their public source and have positive primitives', () => {
    expect(BUILTIN_COST_PROFILES.map((p) => p.name)).toEqual([
      'gicv3-vhe',
      'gicv3-vhe-kunpeng',
      'gicv2-nonvhe',
      'phytium-s2500',
      'seattle-split',
      'seattle-vhe',
    ]);
    for (const p of BUILTIN_COST_PROFILES) {
      expect(p.source).toMatch(/references §6|ISCA|kvm-unit-tests/);
      // every stated primitive names its source (a measurement, or says it is derived / an estimate)
      for (const k of Object.keys(p.ns))
        if (!STRUCTURAL_RULES.some((r) => r.name === k)) expect(p.sources?.[k as keyof typeof p.sources]).toMatch(/./);
      for (const v of Object.values(p.ns)) expect(v).toBeGreaterThan(0);
    }
    expect(new Hypervisor().createVm().cost).toBe(GICV3_VHE_ALTRA);
  });

  it.each(['gicv3-vhe', 'gicv2-nonvhe'])('%s: each exit kind is charged exactly its primitive', (profile) => {
    const { vm, vcpus, ctl } = tinyVm(1, { costProfile: profile });
    const c = vm.costNs;
    const marks: number[] = [];
    const mark = (): void => void marks.push(vcpus[0].clock);
    vm.mmio.register(0x1000, 0x100, { name: 'd', read: () => true, write: () => true });
    const a = new GuestAsm();
    a.label('main').call(mark).ldra(1, 0x1000).call(mark).msr('ICC_EOIR1_EL1', 1).call(mark).mrs(1, 'ICC_IAR1_EL1').call(mark);
    a.movi(0, 0x80000000).call(mark).hvc().call(mark).work(300).call(mark).ldra(1, 0x5000).call(mark);
    systemOff(a);
    vcpus[0].setProgram(a.build());
    ctl.queue(vcpus[0], 40);
    vm.run({ onExit: () => undefined });
    const d = marks.slice(1).map((m, i) => m - marks[i]);
    const expected = [c.mmioKernel, c.sysregTrap, c.cpuifAccess, c.cycle, c.hvc, 300 * c.cycle, c.mmioUser];
    d.forEach((x, i) => expect(x).toBeCloseTo(expected[i], 6));
    expect(vcpus[0].stats.exits[ExitReason.MmioUser]).toBe(1);
  });

  it('the same workload takes longer on gicv2-nonvhe than on gicv3-vhe, with the same exits', () => {
    const v3 = runWorkload({ seed: 3, costProfile: 'gicv3-vhe', trace: false });
    const v2 = runWorkload({ seed: 3, costProfile: 'gicv2-nonvhe', trace: false });
    expect(v3.result.reason).toBe('shutdown');
    expect(v2.result.reason).toBe('shutdown');
    // interrupts arrive at the same times; handling each costs more on the older machine
    const busy = (r: typeof v3): number => r.vm.vcpus.reduce((s, v) => s + v.clock - v.stats.blockedNs, 0);
    expect(busy(v2)).toBeGreaterThan(busy(v3) * 2);
    expect(v2.vm.stats().completed).toBe(v3.vm.stats().completed);
    expect(GICV2_NONVHE_XGENE.ns.hvc).toBeGreaterThan(GICV3_VHE_ALTRA.ns.hvc);
  });

  it('a trapped vs untrapped acknowledge differ by the trap cost (the controller decides)', () => {
    const t = (ackTrapped: boolean): number => {
      const { vm, vcpus, ctl } = tinyVm(1, { ackTrapped });
      const a = new GuestAsm();
      a.label('main').mrs(1, 'ICC_IAR1_EL1');
      systemOff(a);
      vcpus[0].setProgram(a.build());
      ctl.queue(vcpus[0], 40);
      vm.run();
      return vcpus[0].clock;
    };
    const c = GICV3_VHE_ALTRA.ns;
    expect(t(true) - t(false)).toBeCloseTo(c.sysregTrap - c.cpuifAccess, 6);
  });

  it('a kick to a vCPU running in the guest charges kickSend to the sender and irqExit to the target', () => {
    const { vm, vcpus } = tinyVm(2);
    const [v0, v1] = vcpus;
    let before = 0;
    let after = 0;
    const a = new GuestAsm();
    a.label('main').label('spin').work(3).b('spin');
    a.label('kicker')
      .work(30)
      .call((v) => {
        before = v.clock;
        v.vm.kickVcpu(v1);
        after = v.clock;
      });
    a.work(3000);
    systemOff(a);
    const img = a.build();
    v1.setProgram(img);
    v0.setProgram(img, 'kicker');
    vm.run();
    expect(after - before).toBeCloseTo(vm.costNs.kickSend, 9);
    expect(v1.stats.exits[ExitReason.Irq]).toBe(1);
  });

  it('a kick from another vCPU arrives ipiLatency after the sender sent it (after kickSend): a spinning target exits then, a blocked one wakes then', () => {
    for (const blocked of [false, true]) {
      const { hv, vm, vcpus } = tinyVm(2, { lookaheadNs: 0 });
      hv.trace.on = true;
      const [v0, v1] = vcpus;
      const c = vm.costNs;
      let sent = 0;
      const a = new GuestAsm();
      a.label('main').label('spin').work(3).b('spin');
      a.label('idle').wfi().b('idle');
      a.label('kicker')
        .work(3000)
        .call((v) => {
          sent = v.clock;
          v.vm.kickVcpu(v1);
        });
      a.work(3000);
      systemOff(a);
      const img = a.build();
      v1.setProgram(img, blocked ? 'idle' : 'main');
      v0.setProgram(img, 'kicker');
      vm.run();
      const ev = hv.trace
        .events()
        .filter(
          (e) =>
            e.vcpu === 1 && (blocked ? e.kind === TraceKind.Wake : e.kind === TraceKind.Exit && (e.a as ExitReason) === ExitReason.Irq),
        );
      expect(ev).toHaveLength(1);
      // the kick to a vCPU in the guest leaves once the sender has paid kickSend (effects leave when they are
      // produced); a blocked one is woken at once, without the sender's IPI write
      const send = blocked ? 0 : c.kickSend;
      expect(ev[0].t).toBeGreaterThanOrEqual(sent + send + c.ipiLatency - 1e-9);
      expect(ev[0].t).toBeLessThan(sent + send + c.ipiLatency + 3 * c.cycle + 1e-9);
      // the delivery latency is in the breakdown only where the target waits for it (blocked); a spinning target's
      // time until the kick arrives is its own guest work, already counted as busy time
      expect(v1.costBy[CostComponent.IpiLatency]).toBeCloseTo(blocked ? c.ipiLatency : 0, 9);
      if (blocked) expect(v1.costBy[CostComponent.WfiWake]).toBeCloseTo(c.wfiWake, 9);
      else expect(v1.costBy[CostComponent.HostIrq]).toBeCloseTo(c.hostIrq, 9);
    }
  });

  it('a blocked target whose clock is already past the kick’s arrival waits for nothing: no delivery latency in its breakdown', () => {
    const { vm, vcpus } = tinyVm(2, { lookaheadNs: 0 });
    const [v0, v1] = vcpus;
    const a = new GuestAsm();
    a.label('idle').wfi().b('idle');
    a.label('kicker')
      .work(300)
      .call((v) => v.vm.kickVcpu(v1));
    a.work(3000);
    systemOff(a);
    const img = a.build();
    v1.setProgram(img, 'idle');
    v0.setProgram(img, 'kicker');
    v1.charge(5_000, CostComponent.Hvc);
    // vCPU 1's own KVM_RUN first: it blocks at ~5 µs, long after the kick vCPU 0 then sends at ~100 ns arrives
    vm.run({ only: v1 });
    expect(v1.mp).toBe(MpState.Halted);
    vm.run();
    expect(v1.stats.kicks).toBe(1);
    expect(v1.costBy[CostComponent.IpiLatency]).toBe(0);
  });

  it('every structural cost of every built-in profile is its rule applied to the profile primitives (no per-profile factor)', () => {
    for (const p of BUILTIN_COST_PROFILES) {
      for (const r of STRUCTURAL_RULES) {
        expect(p.ns[r.name]).toBeCloseTo(r.derive(p.ns), 9);
        expect(p.ns[r.name]).toBeGreaterThan(0);
      }
    }
    // changing a primitive changes the derived costs through the same rule
    const faster = withStructuralCosts({ ...GICV3_VHE_ALTRA.ns, mmioKernel: GICV3_VHE_ALTRA.ns.mmioKernel + 100 });
    expect(faster.itsCommand).toBeCloseTo(GICV3_VHE_ALTRA.ns.itsCommand + 200, 9);
  });

  it('a profile registered without structural costs gets them derived by the rules', () => {
    const hv = new Hypervisor();
    const ns: Record<string, number> = { ...GICV3_VHE_ALTRA.ns, hvc: 250 };
    for (const r of STRUCTURAL_RULES) delete ns[r.name];
    hv.registerCostProfile({ name: 'old', description: 'd', source: 's', ns: ns as never });
    const got = hv.costProfile('old').ns;
    for (const r of STRUCTURAL_RULES) expect(got[r.name]).toBeCloseTo(r.derive({ ...GICV3_VHE_ALTRA.ns, hvc: 250 }), 9);
  });

  it('every charge of a run is attributed to a named component: the breakdown adds up to the busy time', () => {
    const w = runWorkload({ seed: 3, costProfile: 'gicv3-vhe', trace: false });
    let busy = 0;
    const slots = new Float64Array(CostComponent.IpiLatency + 1);
    for (const v of w.vm.vcpus) {
      busy += v.clock - v.stats.blockedNs;
      v.costBy.forEach((x, i) => (slots[i] += x));
    }
    const b = costBreakdown(slots, busy);
    expect(b.hvc ?? 0).toBeGreaterThan(0);
    const sum = Object.entries(b)
      .filter(([k]) => k !== 'ipiLatency')
      .reduce((s, [, x]) => s + x, 0);
    expect(sum).toBeCloseTo(busy, 3);
    // exits are attributed at their full price: hvc = exits × primitive
    const hvcs = w.vm.vcpus.reduce((s, v) => s + v.stats.exits[ExitReason.Hvc] + v.stats.exits[ExitReason.Smc], 0);
    expect(b.hvc).toBeCloseTo(hvcs * GICV3_VHE_ALTRA.ns.hvc, 6);
  });
});
