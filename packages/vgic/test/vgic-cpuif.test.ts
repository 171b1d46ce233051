import { DAIF, GuestAsm, type Vcpu } from '@irqflow/core';
import { gicVm, spiLine } from './helpers';

/**
 * 31 nested active interrupts at distinct priorities with 4 list registers: each handler re-enables
 * interrupts (saving ELR/SPSR), asks userspace for the next, higher-priority interrupt, and waits until it has
 * run before completing its own. The order of entries and completions proves the nesting.
 */
describe.each(['gic-v3', 'gic-v2'] as const)('%s deep preemption', (name) => {
  for (const eoimode of [0, 1]) {
    it(`31 nested interrupts at distinct priorities with 4 LRs (EOImode ${eoimode})`, () => {
      const { vm, drv } = gicVm(name, 1, { nrLrs: 4 });
      const v2 = name === 'gic-v2';
      const N = 31;
      // SPI 32+k has priority (30-k)*8 (0xf0 .. 0x00, all 31 unmasked levels): each next one preempts the previous.
      const entered: number[] = [];
      const done: number[] = [];
      const a = new GuestAsm();
      a.label('main');
      drv.emitCpuInit(a);
      if (v2) a.movi(0, 0xff).stra(0, 0x08010004);
      else a.movi(0, 0xff).msr('ICC_PMR_EL1', 0);
      if (eoimode) {
        if (v2) a.movi(0, 0x201).stra(0, 0x08010000);
        else a.movi(0, 2).msr('ICC_CTLR_EL1', 0);
      }
      for (let k = 0; k < N; k++) drv.emitEnable(a, 32 + k, { priority: (30 - k) * 8 });
      a.daifclr(DAIF.I).label('loop').wfi().b('loop');
      a.label('irq');
      a.saveExceptionState(10);
      drv.emitAck(a, 9);
      a.bhsi(9, 1020, 'spurious');
      a.push(9);
      a.call((v: Vcpu) => {
        const id = v.x(9);
        entered.push(id);
        if (id < 32 + N - 1)
          vm.at(v.clock + 100, () => {
            vm.irqLine(spiLine(id + 1), 1);
            vm.irqLine(spiLine(id + 1), 0);
          });
      });
      a.daifclr(DAIF.I);
      a.work(3000); // long enough for the next interrupt to arrive and preempt
      a.daifset(DAIF.I);
      a.pop(9);
      a.call((v: Vcpu) => void done.push(v.x(9)));
      if (v2) {
        a.pop(7).stra(7, 0x08010010);
        if (eoimode) a.stra(7, 0x08011000);
      } else {
        a.msr('ICC_EOIR1_EL1', 9);
        if (eoimode) a.msr('ICC_DIR_EL1', 9);
      }
      a.restoreExceptionState(10);
      a.eret();
      a.label('spurious').restoreExceptionState(10).eret();
      vm.vcpus[0].setProgram(a.build());
      vm.run({ until: 1000 });
      vm.irqLine(spiLine(32), 1);
      vm.irqLine(spiLine(32), 0);
      vm.run({ until: 2_000_000 });
      const ids = Array.from({ length: N }, (_, k) => 32 + k);
      expect(entered).toEqual(ids);
      expect(done).toEqual([...ids].reverse());
      const s = vm.stats();
      expect(s.acked).toBe(N);
      expect(s.completed).toBe(N);
      // Nothing stays active or pending afterwards.
      expect(vm.dump()).not.toMatch(/^SPI.* 1 {6}1 {2}/m);
    });
  }
});

describe.each(['gic-v3', 'gic-v2'] as const)('%s list-register overflow never loses or duplicates', (name) => {
  for (const [nrLrs, eoimode, seed] of [
    [1, 0, 1],
    [2, 1, 2],
    [4, 0, 3],
    [4, 1, 4],
  ] as const) {
    it(`${nrLrs} LR(s), EOImode ${eoimode}: 150 distinct edge SPIs at random times and priorities, nested handlers`, () => {
      const { vm, drv } = gicVm(name, 1, { nrLrs, nrIrqs: 192 });
      const v2 = name === 'gic-v2';
      let s = seed * 7919;
      const rnd = (n: number) => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) % n;
      const seen: number[] = [];
      const a = new GuestAsm();
      a.label('main');
      drv.emitCpuInit(a);
      if (eoimode) {
        if (v2) a.movi(0, 0x201).stra(0, 0x08010000);
        else a.movi(0, 2).msr('ICC_CTLR_EL1', 0);
      }
      for (let k = 0; k < 150; k++) drv.emitEnable(a, 32 + k, { priority: rnd(30) * 8 });
      a.daifclr(DAIF.I).label('loop').wfi().b('loop');
      a.label('irq').saveExceptionState(10);
      drv.emitAck(a, 9);
      a.beqi(9, 1023, 'spurious').push(9);
      a.call((v: Vcpu) => void seen.push(v.x(9)));
      a.daifclr(DAIF.I).work(3000).daifset(DAIF.I).pop(9);
      if (v2) {
        a.pop(7).stra(7, 0x08010010);
        if (eoimode) a.stra(7, 0x08011000);
      } else {
        a.msr('ICC_EOIR1_EL1', 9);
        if (eoimode) a.msr('ICC_DIR_EL1', 9);
      }
      a.restoreExceptionState(10).eret();
      a.label('spurious').restoreExceptionState(10).eret();
      vm.vcpus[0].setProgram(a.build());
      vm.run({ until: 1000 });
      for (let k = 0; k < 150; k++) {
        vm.at(2000 + rnd(5_000), () => {
          vm.irqLine(spiLine(32 + k), 1);
          vm.irqLine(spiLine(32 + k), 0);
        });
      }
      vm.run({ until: 5_000_000 });
      expect([...seen].sort((x, y) => x - y)).toEqual(Array.from({ length: 150 }, (_, k) => 32 + k));
      const st = vm.stats();
      expect(st.acked).toBe(150);
      expect(st.completed).toBe(150);
    });
  }
});
