/**
 * ICV_IAR0/1_EL1 has a one-pass path for the common case (a group given, ICH_HCR.En set; with or without a
 * GICv4 vPE) next to the general one. Differential test: for random list-register and VMCR/APR/HCR states, both
 * paths must return the same INTID and leave the same LRs, active priorities, vIRQ/vFIQ lines and maintenance
 * request. An EOI right after the one-pass acknowledge takes a short path too (an LPI's: the lines from what the
 * acknowledge found; a deactivating one of the LR it left active: also the maintenance condition); it must leave
 * the same state as the general EOI.
 */
import 'reflect-metadata';
import { Hypervisor, Rng, type Vcpu } from '@irqflow/core';
import { VgicCpuIf, type VirtualPendingSource } from '../src';

/** A vPE that never presents anything: routes an EOI to the general path without changing its outcome. */
const silentVpe: VirtualPendingSource = {
  hppi: () => -1,
  hppiPrio: 0xff,
  acknowledge: () => {},
  deactivate: () => false,
  hasPending: () => false,
};

/** A vPE presenting vINTID `id` at priority `prio` until it is acknowledged. */
class PresentingVpe implements VirtualPendingSource {
  hppiPrio = 0x100;
  acked = 0;
  constructor(
    readonly id: number,
    readonly prio: number,
  ) {}
  hppi(): number {
    this.hppiPrio = 0x100;
    if (this.acked !== 0) return -1;
    this.hppiPrio = this.prio;
    return this.id;
  }
  acknowledge(): void {
    this.acked++;
  }
  deactivate(): boolean {
    return false;
  }
  hasPending(): boolean {
    return this.acked === 0;
  }
}

function randomize(h: VgicCpuIf, r: Rng): void {
  const n = 1 + r.int(h.nrLrs);
  h.usedLrs = n;
  for (let i = 0; i < n; i++) {
    h.lrState[i] = r.int(4);
    const kind = r.int(4);
    h.lrIntid[i] = kind === 0 ? r.int(16) : kind === 1 ? 16 + r.int(16) : kind === 2 ? 32 + r.int(900) : 8192 + r.int(5000);
    h.lrPrio[i] = r.int(4) === 0 ? 0xa0 : r.int(256) & 0xf8;
    h.lrGroup[i] = r.int(2);
    h.lrHw[i] = r.int(4) === 0 ? 1 : 0;
    h.lrEoi[i] = r.int(3) === 0 ? 1 : 0;
  }
  h.pmr = r.int(3) === 0 ? 0xf0 : r.int(256) & 0xf8;
  h.bpr0 = 2 + r.int(6);
  h.bpr1 = 3 + r.int(5);
  h.cbpr = r.int(4) === 0;
  h.eng0 = r.int(4) !== 0;
  h.eng1 = r.int(4) !== 0;
  h.ap0r = r.int(3) === 0 ? (1 << r.int(32)) >>> 0 : 0;
  h.ap1r = r.int(3) === 0 ? (1 << r.int(32)) >>> 0 : 0;
  h.uie = r.int(3) === 0;
  h.npie = r.int(2) === 0;
  h.lrenpie = r.int(3) === 0;
  h.eoiCount = r.int(3) === 0 ? 1 + r.int(4) : 0;
}

function copyInto(dst: VgicCpuIf, src: VgicCpuIf): void {
  for (const k of ['lrState', 'lrIntid', 'lrPrio', 'lrGroup', 'lrHw', 'lrEoi', 'lrPintid', 'lrSource'] as const) dst[k].set(src[k]);
  for (const k of ['usedLrs', 'pmr', 'bpr0', 'bpr1', 'cbpr', 'eng0', 'eng1', 'ap0r', 'ap1r', 'uie', 'npie', 'lrenpie', 'eoiCount'] as const)
    (dst as unknown as Record<string, unknown>)[k] = src[k];
}

/**
 * Maintenance exits each vCPU requested. A vCPU that is not running only gets its request posted for later (no
 * bit in `requests` yet), so the test counts the calls themselves.
 */
const exits = new Map<Vcpu, number>();

function countExits(v: Vcpu): void {
  v.requestExit = () => void exits.set(v, (exits.get(v) ?? 0) + 1);
}

function outcome(h: VgicCpuIf, v: Vcpu, r: number): unknown {
  return {
    r,
    lrs: Array.from(h.lrState.subarray(0, h.usedLrs)),
    ap0r: h.ap0r,
    ap1r: h.ap1r,
    virq: v.virq,
    vfiq: v.vfiq,
    exit: exits.get(v) ?? 0,
    acked: v.stats.acked,
    completed: v.stats.completed,
    eoiCount: h.eoiCount,
    vpeAcked: h.vpe instanceof PresentingVpe ? h.vpe.acked : 0,
  };
}

describe('ICV_IAR one-pass acknowledge', () => {
  it.each([4, 16])('matches the general path on 4000 random CPU-interface states (%i LRs)', (nrLrs) => {
    const vm = new Hypervisor().createVm();
    const v1 = vm.createVcpu();
    const v2 = vm.createVcpu();
    countExits(v1);
    countExits(v2);
    const rng = new Rng(nrLrs);
    const eoiRng = new Rng(1000 + nrLrs); // its own sequence: the states above stay what they were
    let acknowledged = 0;
    let lpiEois = 0;
    let spiEois = 0;
    for (let t = 0; t < 4000; t++) {
      const fast = new VgicCpuIf(v1, false, nrLrs);
      const general = new VgicCpuIf(v2, false, nrLrs);
      general.vpe = silentVpe;
      randomize(fast, rng);
      copyInto(general, fast);
      for (const v of [v1, v2]) {
        v.virq = v.vfiq = false;
        v.requests = 0;
        exits.set(v, 0);
      }
      const group = rng.int(2);
      const a = fast.ack(group);
      const b = general.ackGeneral(group);
      if (a !== 1023) acknowledged++;
      expect(outcome(fast, v1, a)).toEqual(outcome(general, v2, b));
      // an LPI's EOI after the one-pass acknowledge re-derives the lines from what the acknowledge found
      if (a >= 8192 && exits.get(v1) === 0) {
        if (rng.int(4) === 0) fast.pmr = general.pmr = rng.int(256) & 0xf8; // a PMR write the model did not see
        fast.eoi(a);
        general.eoi(b);
        lpiEois++;
        expect(outcome(fast, v1, a)).toEqual(outcome(general, v2, b));
      }
      // a deactivating EOI (EOImode 0) of what the one-pass acknowledge left active re-derives the lines and the
      // maintenance condition from what the acknowledge found
      if (a < 1020 && exits.get(v1) === 0) {
        fast.eoim = general.eoim = eoiRng.int(4) === 0;
        if (eoiRng.int(4) === 0) fast.pmr = general.pmr = eoiRng.int(256) & 0xf8; // a PMR write the model did not see
        fast.eoi(a);
        general.eoi(b);
        spiEois++;
        expect(outcome(fast, v1, a)).toEqual(outcome(general, v2, b));
      }
    }
    expect(acknowledged).toBeGreaterThan(400); // the random states do reach real acknowledges
    expect(lpiEois).toBeGreaterThan(30);
    expect(spiEois).toBeGreaterThan(30);
  });

  it.each([4, 16])('matches the general path with a GICv4 vPE presenting a vINTID (%i LRs)', (nrLrs) => {
    const vm = new Hypervisor().createVm();
    const v1 = vm.createVcpu();
    const v2 = vm.createVcpu();
    countExits(v1);
    countExits(v2);
    const rng = new Rng(100 + nrLrs);
    const eoiRng = new Rng(1100 + nrLrs);
    let vpeWins = 0;
    let lrWins = 0;
    for (let t = 0; t < 4000; t++) {
      const fast = new VgicCpuIf(v1, false, nrLrs);
      const general = new VgicCpuIf(v2, false, nrLrs);
      randomize(fast, rng);
      copyInto(general, fast);
      const id = 8192 + rng.int(100);
      const prio = rng.int(256) & 0xf8;
      fast.vpe = new PresentingVpe(id, prio);
      general.vpe = new PresentingVpe(id, prio);
      for (const v of [v1, v2]) {
        v.virq = v.vfiq = false;
        v.requests = 0;
        exits.set(v, 0);
      }
      const group = rng.int(2);
      const a = fast.ack(group);
      const b = general.ackGeneral(group);
      if (a === id) vpeWins++;
      else if (a !== 1023) lrWins++;
      expect(outcome(fast, v1, a)).toEqual(outcome(general, v2, b));
      // the EOI after it: the short paths judge the vPE's candidate as the general one does
      if (a < 1020 || a >= 8192) {
        fast.eoim = general.eoim = eoiRng.int(4) === 0;
        if (eoiRng.int(4) === 0) fast.pmr = general.pmr = eoiRng.int(256) & 0xf8;
        fast.eoi(a);
        general.eoi(b);
        expect(outcome(fast, v1, a)).toEqual(outcome(general, v2, b));
      }
    }
    expect(vpeWins).toBeGreaterThan(200); // both the vPE and the LRs do win acknowledges
    expect(lrWins).toBeGreaterThan(200);
  });
});
