/**
 * Causal visibility on the rVIC (src/rvic-visibility.ts) for IS_PENDING: vCPU 0 SIGNALs an IPI to vCPU 1, which
 * asks IS_PENDING about it (IRQs masked, so it never takes it) `delta` ns after vCPU 0's trap began. The answer is
 * 1 only once the sender's handler instant plus ipiLatency has passed at the reader's handler, under lockstep and
 * the default lookahead alike.
 */
import { EXIT_ENTRY_FRACTION, ExitReason, GuestAsm, Hypervisor, TraceKind, type Vcpu } from '@irqflow/core';
import { RvicCall, RvicPlugin, RVIC_FN_BASE } from '@irqflow/rvic';

const hv = new Hypervisor({ traceCapacity: 100_000 }).use(RvicPlugin);

function run(delta: number, lookaheadNs: number | undefined): { due: number; readAt: number; read: number; trace: string } {
  const p = { arrived: 0, before: -1, read: -1 };
  const vm = hv.createVm({ costProfile: 'gicv3-vhe', lookaheadNs });
  vm.createVcpu();
  vm.createVcpu();
  const drv = hv.irqchip('rvic').setup(vm, {});
  const ipi = drv.ipi!(0);
  const barrier = (a: GuestAsm): GuestAsm =>
    a
      .call(() => void p.arrived++)
      .label('bar')
      .work(30)
      .callb(() => p.arrived < 2, 'bar');
  const s = new GuestAsm();
  s.label('main');
  drv.emitCpuInit(s);
  barrier(s)
    .work(3_000)
    .movi(11, 1)
    .call((v) => void (p.before = v.clock));
  drv.emitSendIpi!(s, 11, 0);
  s.label('idle').wfi().b('idle');
  const r = new GuestAsm();
  r.label('main');
  drv.emitCpuInit(r);
  drv.emitEnable(r, ipi);
  barrier(r)
    .label('wait')
    .work(1)
    .callb((v: Vcpu) => p.before < 0 || v.clock < p.before + delta, 'wait');
  // IS_PENDING(target = own MPIDR, intid)
  r.mrs(1, 'MPIDR_EL1')
    .andi(1, 1, 0xffffff)
    .movi(2, ipi)
    .movi(0, RVIC_FN_BASE + RvicCall.IS_PENDING)
    .hvc()
    .call((v) => void (p.read = v.x(1)));
  r.label('spin').work(2).b('spin');
  r.label('irq').eret();
  vm.vcpus[0].setProgram(s.build());
  vm.vcpus[1].setProgram(r.build());
  hv.trace.clear();
  hv.trace.on = true;
  try {
    vm.run({ until: 200_000 });
  } finally {
    hv.trace.on = false;
  }
  let trapAt = -1;
  let trapCost = 0;
  let ownAt = -1;
  let ownCost = 0;
  for (const e of hv.trace.events()) {
    if (e.kind === TraceKind.Exit && e.vcpu === 0 && trapAt < 0 && p.before >= 0 && e.t >= p.before) {
      trapAt = e.t;
      trapCost = e.b;
    }
    if (e.kind === TraceKind.Exit && e.vcpu === 1 && ownAt < 0 && e.a === (ExitReason.Hvc as number) && p.before >= 0 && e.t >= p.before) {
      ownAt = e.t;
      ownCost = e.b;
    }
  }
  const c = vm.costNs;
  const trace = JSON.stringify(hv.trace.canonicalEvents().map((e) => [e.t, e.vcpu, e.kind, e.a, e.b, e.c]));
  void vm.destroy();
  return {
    due: trapAt + trapCost * EXIT_ENTRY_FRACTION + c.sgiDispatch + c.ipiLatency,
    readAt: ownAt + ownCost * EXIT_ENTRY_FRACTION,
    read: p.read,
    trace,
  };
}

describe('rVIC IS_PENDING on a SIGNALled IPI', () => {
  it('answers 1 no earlier than the producing instant plus ipiLatency; lockstep = lookahead', () => {
    const answers = new Set<number>();
    for (const delta of [0, 2, 10, 30, 60, 100, 400, 1000]) {
      const [lock, ahead] = [0, undefined].map((l) => run(delta, l));
      for (const o of [lock, ahead]) {
        expect([delta, o.read >= 0]).toEqual([delta, true]);
        if (o.readAt < o.due) expect([delta, o.read]).toEqual([delta, 0]);
        answers.add(o.read);
      }
      expect([delta, ahead.trace === lock.trace]).toEqual([delta, true]);
    }
    // a read late enough sees it: the test tells both answers apart
    expect([...answers].sort()).toEqual([0, 1]);
  });
});
