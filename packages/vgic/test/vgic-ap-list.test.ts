/**
 * The ap_list order at flush (vgic.ts): the list is sorted only when something changed since the last sort — an
 * interrupt was queued, or an interrupt on the list changed what orders it (priority, enable, pending, active,
 * edge/level). A change made to an interrupt that waits on the list, with nothing queued, must still reach the
 * next flush: here another vCPU raises the priority of a queued LPI (property byte + GICR_INVLPIR) while its
 * target waits with every LPI masked by its PMR.
 */
import { DAIF, ExitReason, GuestAsm, PSCI, type Msi, type Vcpu } from '@irqflow/core';
import { GIC_BOARD, GIC_ITS_RAM, GICV3_REDIST_SIZE, VgicIrq } from '@irqflow/vgic';
import { apCachedNext, apCachedWalk, apInsert, apKey, apMarkAllRekey, apNext, apRemove, apSort, apWalk } from '../src/vgic-ap-list';
import { gicVm } from './helpers';

describe('ap_list order', () => {
  it('a priority raised by INV while the LPI waits on the list reaches the next flush without another exit', () => {
    const { vm, drv } = gicVm('gic-v3', 2, { nrLrs: 1 });
    const log: number[] = [];
    let wfiExitsAtFirstAck = -1;
    const msis: Msi[] = [];
    const a0 = new GuestAsm();
    a0.label('main');
    drv.emitCpuInit(a0);
    for (let i = 0; i < 6; i++) msis.push(drv.emitMsiSetup!(a0, { devid: 0, event: i, intid: 8192 + i, target: 0 }));
    const poke = drv.emitMsiSetup!(a0, { devid: 0, event: 6, intid: 8200, target: 1 });
    a0.movi(1, 0x80).msr('ICC_PMR_EL1', 1); // masks the LPIs' default priority (0xa0)
    a0.daifclr(DAIF.I).label('idle').wfi().b('idle');
    a0.label('irq').mrs(9, 'ICC_IAR1_EL1').beqi(9, 1023, 'out');
    a0.call((v: Vcpu) => {
      if (log.length === 0) wfiExitsAtFirstAck = v.stats.exits[ExitReason.Wfi];
      log.push(v.x(9));
    });
    a0.msr('ICC_EOIR1_EL1', 9).label('out').eret();
    vm.vcpus[0].setProgram(a0.build());

    // vCPU 1, on LPI 8200: LPI 8197's property byte to priority 0x10, then GICR_INVLPIR
    const a1 = new GuestAsm();
    a1.label('main');
    drv.emitCpuInit(a1);
    a1.daifclr(DAIF.I).label('idle').wfi().b('idle');
    a1.label('irq').mrs(9, 'ICC_IAR1_EL1').beqi(9, 1023, 'out');
    a1.movi(0, 0x10 | 1).stra(0, GIC_ITS_RAM.BASE + GIC_ITS_RAM.PROP + 8197 - 8192, 1);
    a1.movi(0, 8197).stra(0, GIC_BOARD.REDIST + 1 * GICV3_REDIST_SIZE + 0xa0);
    a1.msr('ICC_EOIR1_EL1', 9).label('out').eret();
    vm.vcpus[1].setProgram(a1.build());

    expect(vm.run().reason).toBe('idle'); // set up, both waiting in WFI
    for (const m of msis) expect(vm.signalMsi(m)).toBe(1);
    expect(vm.run().reason).toBe('idle'); // vCPU 0 woke, found everything masked, waits again
    expect(log).toEqual([]);
    const wfiBefore = vm.vcpus[0].stats.exits[ExitReason.Wfi];

    expect(vm.signalMsi(poke)).toBe(1);
    // bounded: an unsorted list would leave the masked LPI in the LR, and WFI would return at once forever
    expect(vm.run({ until: vm.vcpus[0].clock + 1_000_000 }).reason).toBe('idle');
    // 8197 now beats the PMR and everything else: the flush at the wake puts it in the only LR straight away
    expect(log).toEqual([8197]);
    expect(wfiExitsAtFirstAck).toBe(wfiBefore);
  });
});

/**
 * A pending interrupt of a group the vCPU has disabled must not starve the enabled group (newest mainline
 * vgic_irq_cmp sorts interrupts of a disabled group after the enabled ones; NPIE refills as the guest consumes
 * the LRs; VGrp0EIE asks for a maintenance exit when the guest enables group 0). SGI 0 is in Group 0, pending
 * while ICC_IGRPEN0_EL1 = 0, next to 15 pending Group-1 SGIs, with 4 LRs. The guest polls ICC_IAR1_EL1 with IRQs
 * masked (untrapped reads: only a maintenance interrupt makes it exit and the LRs refill).
 */
describe('interrupts of a disabled group', () => {
  const SGI_IGROUPR0 = GIC_BOARD.REDIST + 0x10000 + 0x80;
  const SGI_ISPENDR0 = GIC_BOARD.REDIST + 0x10000 + 0x200;
  /** SGI 0 in Group 0 (GICD_CTLR EnableGrp0 + EnableGrp1A + ARE), all 16 SGIs pending, then 40 IAR1 reads. */
  function run(afterFirst?: (a: GuestAsm) => void): number[] {
    const { vm } = gicVm('gic-v3', 1, { nrLrs: 4 });
    const log: number[] = [];
    const a = new GuestAsm();
    a.label('main');
    // (the "gic-v3" driver's CPU init, plus Group 0 enabled at the distributor; ICC_IGRPEN0_EL1 stays 0)
    a.mrs(0, 'ICC_SRE_EL1').orri(0, 0, 1).msr('ICC_SRE_EL1', 0);
    a.movi(0, 0xf0).msr('ICC_PMR_EL1', 0);
    a.movi(0, 1).msr('ICC_IGRPEN1_EL1', 0);
    a.movi(0, 0x13).stra(0, GIC_BOARD.DIST);
    a.movi(0, 0xfffffffe).stra(0, SGI_IGROUPR0);
    a.movi(0, 0xffff).stra(0, SGI_ISPENDR0);
    a.movi(5, 0);
    a.label('poll').bhsi(5, 40, 'done').addi(5, 5, 1);
    a.mrs(9, 'ICC_IAR1_EL1').beqi(9, 1023, 'poll');
    a.call((v: Vcpu) => void log.push(v.x(9)));
    a.msr('ICC_EOIR1_EL1', 9);
    if (afterFirst) {
      a.bnei(9, 1, 'poll');
      afterFirst(a);
    }
    a.b('poll');
    a.label('done').movi(0, PSCI.SYSTEM_OFF).hvc();
    vm.vcpus[0].setProgram(a.build());
    expect(vm.run({ until: 10_000_000 }).reason).toBe('shutdown');
    return log;
  }

  it('all 15 Group-1 SGIs are acknowledged back to back through ICC_IAR1_EL1 while Group 0 is disabled', () => {
    expect(run()).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
  });

  it('enabling Group 0 while its SGI waits outside the LRs brings it in at once (group-enable maintenance)', () => {
    const log0: number[] = [];
    const log = run((a) => {
      // after the first Group-1 SGI: ICC_IGRPEN0_EL1 = 1, then ICC_IAR0_EL1 must find SGI 0
      a.movi(0, 1).msr('ICC_IGRPEN0_EL1', 0);
      a.mrs(8, 'ICC_IAR0_EL1');
      a.call((v: Vcpu) => void log0.push(v.x(8)));
      a.beqi(8, 1023, 'poll');
      a.msr('ICC_EOIR0_EL1', 8);
    });
    expect(log0).toEqual([0]);
    expect(log).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
  });
});

/**
 * The ap_list structure (src/vgic-ap-list.ts) against the plain list it stands for: an array that entries are
 * appended to and spliced out of, sorted by the sort key only at a flush that finds it longer than the LRs after
 * something changed. After every step, an in-order walk of the structure must give exactly that array's order.
 */
describe('ap_list order keys and heap', () => {
  it('walks in the order of an append / splice / lazily sorted list, over 20 000 random steps', () => {
    const { dev } = gicVm('gic-v3', 1);
    const c = dev.vgic.cpus[0];
    const pool = Array.from({ length: 40 }, (_, i) => new VgicIrq(32 + i, null));
    const ref: VgicIrq[] = [];
    let dirty = false;
    let eng = 3;
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const walk = () => {
      const out: number[] = [];
      apWalk(c);
      for (let irq = apNext(c); irq !== null; irq = apNext(c)) out.push(irq.intid);
      return out;
    };
    for (let step = 0; step < 20_000; step++) {
      const irq = pool[rnd(pool.length)];
      const op = rnd(10);
      if (op < 3) {
        if (irq.apCpu === null) {
          irq.apCpu = c;
          apInsert(c, irq);
          ref.push(irq);
          dirty = true;
        } else {
          apRemove(c, irq);
          irq.apCpu = null;
          ref.splice(ref.indexOf(irq), 1);
        }
      } else if (op < 8) {
        // a state change (marks the entry if listed, as the setters do)
        const what = rnd(5);
        if (what === 0) irq.priority = rnd(32) * 8;
        else if (what === 1) irq.active = !irq.active;
        else if (what === 2) irq.pendingLatch = !irq.pendingLatch;
        else if (what === 3) irq.enabled = !irq.enabled;
        else irq.group ^= 1;
        if (irq.apCpu !== null) dirty = true;
      } else if (op === 8 && rnd(20) === 0) {
        eng = rnd(4);
        apMarkAllRekey(c); // what flush does when the VMCR group enables changed
        dirty = true;
      } else {
        const nr = [1, 4, 16][rnd(3)];
        if (ref.length > nr && dirty) {
          ref.sort((a, b) => apKey(a, eng) - apKey(b, eng));
          dirty = false;
        }
        if (c.apLen > nr && c.apRekeyLen !== 0) apSort(c, eng);
      }
      expect(c.apLen).toBe(ref.length);
      if (step % 7 === 0) expect(walk()).toEqual(ref.map((i) => i.intid));
      // the flush's cached walk, stopped after a random number of entries as a flush stops at its last LR: the
      // same prefix, whether it replays the last walk, goes past it or walks afresh
      const want = rnd(ref.length + 2);
      const got: number[] = [];
      apCachedWalk(c);
      for (let irq = apCachedNext(c); irq !== null; irq = got.length < want ? apCachedNext(c) : null) got.push(irq.intid);
      expect(got).toEqual(ref.slice(0, Math.max(1, want)).map((i) => i.intid));
      // the cached walk references only listed interrupts
      if (step % 7 === 0) {
        expect(c.apWalkSeq.slice(0, c.apWalkLen).every((x) => x.apCpu === c)).toBe(true);
        expect(c.apWalkSeq.slice(c.apWalkLen).every((x) => x === null)).toBe(true);
      }
      // nothing past the used lengths references an interrupt (a removed one must not stay reachable)
      if (step % 7 === 0) {
        expect(c.apList.slice(c.apLen).every((x) => x === null)).toBe(true);
        expect(c.apActive.slice(c.apActiveLen).every((x) => x === null)).toBe(true);
        expect(c.apRekey.slice(c.apRekeyLen).every((x) => x === null)).toBe(true);
      }
    }
    // the active-entry set matches too
    expect(c.apActiveLen).toBe(ref.filter((i) => i.active).length);
  });
});

describe('ap_list prune', () => {
  it('moves an interrupt whose target changed to its new vCPU and keeps no reference to it in its scratch lists', () => {
    const { dev } = gicVm('gic-v3', 2);
    const vg = dev.vgic;
    const [c0, c1] = vg.cpus;
    vg.enableGrp1 = true;
    const irqs = [40, 41, 42].map((intid) => {
      const irq = vg.irq(null, intid)!;
      irq.group = 1;
      irq.enabled = true;
      irq.targetCpu = c0;
      irq.pendingLatch = true;
      vg.queue(irq);
      return irq;
    });
    expect(irqs.map((i) => i.apCpu)).toEqual([c0, c0, c0]);
    irqs[2].targetCpu = c1; // marks it for c0's next prune
    irqs[0].targetCpu = c1;
    vg.sync(c0.vcpu); // no LR in use: the fold is just the prune
    expect(irqs.map((i) => i.apCpu)).toEqual([c1, c0, c1]);
    expect(c1.apLen).toBe(2);
    expect(c0.apLen).toBe(1);
    // moved in list order: 40 before 42 on the new list
    apWalk(c1);
    expect([apNext(c1)?.intid, apNext(c1)?.intid]).toEqual([40, 42]);
    expect(c0.apMoving.every((x) => x === null)).toBe(true);
    expect(c0.apPrune.slice(c0.apPruneLen).every((x) => x === null)).toBe(true);
    expect(c0.apList.slice(c0.apLen).every((x) => x === null)).toBe(true);
  });
});
