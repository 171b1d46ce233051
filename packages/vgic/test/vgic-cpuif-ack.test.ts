/**
 * ICV_IAR0/1_EL1 has a one-pass path for the common case (a group given, no vPE, ICH_HCR.En set) next to the
 * general one. Differential test: for random list-register and VMCR/APR/HCR states, both paths must return the
 * same INTID and leave the same LRs, active priorities, vIRQ/vFIQ lines and maintenance request. An LPI's EOI
 * right after the one-pass acknowledge takes a short path too (the lines from what the acknowledge found); it
 * must leave the same state as the general EOI.
 */
import 'reflect-metadata';
import { Hypervisor, REQ_EXIT, Rng, type Vcpu } from '@irqflow/core';
import { VgicCpuIf, type VirtualPendingSource } from '../src';

/** A vPE that never presents anything: routes ack() to the general path without changing its outcome. */
const silentVpe: VirtualPendingSource = {
  hppi: () => -1,
  hppiPrio: 0xff,
  acknowledge: () => {},
  deactivate: () => false,
  hasPending: () => false,
};

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

function outcome(h: VgicCpuIf, v: Vcpu, r: number): unknown {
  return {
    r,
    lrs: Array.from(h.lrState.subarray(0, h.usedLrs)),
    ap0r: h.ap0r,
    ap1r: h.ap1r,
    virq: v.virq,
    vfiq: v.vfiq,
    exit: (v.requests & REQ_EXIT) !== 0,
    acked: v.stats.acked,
  };
}

describe('ICV_IAR one-pass acknowledge', () => {
  it.each([4, 16])('matches the general path on 4000 random CPU-interface states (%i LRs)', (nrLrs) => {
    const vm = new Hypervisor().createVm();
    const v1 = vm.createVcpu();
    const v2 = vm.createVcpu();
    const rng = new Rng(nrLrs);
    let acknowledged = 0;
    let lpiEois = 0;
    for (let t = 0; t < 4000; t++) {
      const fast = new VgicCpuIf(v1, false, nrLrs);
      const general = new VgicCpuIf(v2, false, nrLrs);
      general.vpe = silentVpe;
      randomize(fast, rng);
      copyInto(general, fast);
      for (const v of [v1, v2]) {
        v.virq = v.vfiq = false;
        v.requests = 0;
      }
      const group = rng.int(2);
      const a = fast.ack(group);
      const b = general.ack(group);
      if (a !== 1023) acknowledged++;
      expect(outcome(fast, v1, a)).toEqual(outcome(general, v2, b));
      // an LPI's EOI after the one-pass acknowledge re-derives the lines from what the acknowledge found
      if (a >= 8192 && (v1.requests & REQ_EXIT) === 0) {
        if (rng.int(4) === 0) fast.pmr = general.pmr = rng.int(256) & 0xf8; // a PMR write the model did not see
        fast.eoi(a);
        general.eoi(b);
        lpiEois++;
        expect(outcome(fast, v1, a)).toEqual(outcome(general, v2, b));
      }
    }
    expect(acknowledged).toBeGreaterThan(400); // the random states do reach real acknowledges
    expect(lpiEois).toBeGreaterThan(30);
  });
});
