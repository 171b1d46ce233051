/**
 * Causal visibility (src/vgic-visibility.ts) across a VM snapshot when the observer is neither sender nor target:
 * vCPU 0 makes SPI 40 pending with a GICD_ISPENDR1 write, its target vCPU 1 sleeps in WFI with IRQs masked, and
 * vCPU 2 reads GICD_ISPENDR1 `delta` ns after vCPU 0's trap began. The target's clock runs past the entry's
 * `visibleAt` (its wake-up), vCPU 2's does not: the snapshot must carry the stamp for vCPU 2's sake, so that the
 * restored VM reads what the never-saved one reads.
 */
import { GuestAsm, Hypervisor, restoreVm, saveVm, TraceKind, type GuestIrqDriver, type Vcpu, type Vm } from '@irqflow/core';
import { GIC_BOARD, VgicPlugin } from '@irqflow/vgic';

const hv = new Hypervisor({ traceCapacity: 100_000 }).use(VgicPlugin);
const SPI = 40;
const ISPENDR1 = GIC_BOARD.DIST + 0x204;

interface Probe {
  arrived: number;
  /** vCPU 0's clock just before its GICD_ISPENDR1 write (-1 before). */
  before: number;
  /** What vCPU 2 read (-1: not read yet). */
  read: number;
}

function build(delta: number, p: Probe): Vm {
  const vm = hv.createVm({ costProfile: 'gicv3-vhe' });
  for (let i = 0; i < 3; i++) vm.createVcpu();
  const drv: GuestIrqDriver = hv.irqchip('gic-v3').setup(vm, {});
  const barrier = (a: GuestAsm): GuestAsm =>
    a
      .call(() => void p.arrived++)
      .label('bar')
      .work(30)
      .callb(() => p.arrived < 3, 'bar');
  const s = new GuestAsm();
  s.label('main');
  drv.emitCpuInit(s);
  barrier(s).work(3_000);
  s.call((v) => void (p.before = v.clock))
    .movi(11, 1 << (SPI - 32))
    .stra(11, ISPENDR1);
  s.label('idle').wfi().b('idle');
  const t = new GuestAsm();
  t.label('main');
  drv.emitCpuInit(t);
  drv.emitEnable(t, SPI);
  barrier(t).wfi(); // IRQs stay masked: woken by the kick, it never acknowledges
  t.label('spin').work(2).b('spin');
  t.label('irq').eret();
  const q = new GuestAsm();
  q.label('main');
  drv.emitCpuInit(q);
  barrier(q);
  q.label('wait')
    .work(1)
    .callb((v: Vcpu) => p.before < 0 || v.clock < p.before + delta, 'wait');
  q.ldra(12, ISPENDR1).call((v) => void (p.read = v.x(12)));
  q.label('spin').work(2).b('spin');
  q.label('irq').eret();
  vm.vcpus[0].setProgram(s.build());
  vm.vcpus[1].setProgram(t.build());
  vm.vcpus[2].setProgram(q.build());
  return vm;
}

describe('snapshot while a queued SPI is hidden from a third vCPU', () => {
  it("the restored VM's GICD_ISPENDR read by a third vCPU gives what the never-saved VM's gives", () => {
    const reads = new Set<number>();
    for (const delta of [0, 5, 10, 20, 40, 60, 100, 400]) {
      const p: Probe = { arrived: 0, before: -1, read: -1 };
      const ref = build(delta, p);
      hv.trace.clear();
      hv.trace.on = true;
      try {
        ref.run({ until: 100_000 });
      } finally {
        hv.trace.on = false;
      }
      let trapAt = -1;
      for (const e of hv.trace.events())
        if (e.kind === TraceKind.Exit && e.vcpu === 0 && trapAt < 0 && p.before >= 0 && e.t >= p.before) trapAt = e.t;
      void ref.destroy();
      expect(trapAt).toBeGreaterThan(0);
      reads.add(p.read);
      // saved just after the sender's trap began: the entry is queued and stamped
      const q: Probe = { arrived: 0, before: -1, read: -1 };
      const src = build(delta, q);
      src.run({ until: trapAt + 1 });
      const snap = saveVm(src);
      // the restored VM's programs share a copy of the probe as it was at the save
      const r: Probe = { ...q };
      const dst = build(delta, r);
      restoreVm(dst, snap);
      dst.run({ until: 100_000 });
      src.run({ until: 100_000 });
      expect([delta, q.read, r.read]).toEqual([delta, p.read, p.read]);
      void src.destroy();
      void dst.destroy();
    }
    // both outcomes occur (read before the SPI is visible to vCPU 2, and after): the test can tell them apart
    expect([...reads].sort()).toEqual([0, 1 << (SPI - 32)]);
  });
});
