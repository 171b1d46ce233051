/**
 * A debugfs-style state dump (the series' "rvic-state" debugfs files): per vCPU the enable bit, the delivery
 * list in order and the P(ending)/M(asked)/L(ine)/A(cked) flags of every interrupt that is not idle
 * (idle = masked, nothing else: the reset state); per VM the rVID map and the drop counters.
 *
 * @module
 */
import { F_ACKED, F_LINE, F_MASKED, F_PENDING } from './rvic-cpu';
import type { Rvic } from './rvic';

/** Renders the dump of `rvic`. */
export function dumpRvic(rvic: Rvic): string {
  const out: string[] = [];
  out.push(
    `rVIC trusted=${rvic.nrTrusted} total=${rvic.nrTotal} ${rvic.initialized ? 'initialized' : 'not initialized'}` +
      ` dropped(disabled)=${rvic.counters.disabledDropped} dropped(unmapped)=${rvic.counters.rvidDropped}`,
  );
  for (const v of rvic.vm.vcpus) {
    const c = rvic.cpu(v);
    if (c === undefined) continue;
    out.push(`vcpu${v.index} mpidr=0x${v.mpidr.toString(16)} ${c.enabled ? 'enabled' : 'disabled'} line=${v.virq ? 1 : 0}`);
    out.push(`  delivery: [${c.deliveryOrder().join(', ')}]`);
    const irqs: string[] = [];
    for (let i = 0; i < c.nrTotal; i++) {
      const f = c.flags[i];
      if ((f & (F_PENDING | F_LINE | F_ACKED)) === 0 && (f & F_MASKED) !== 0) continue;
      const s = `${f & F_PENDING ? 'P' : '-'}${f & F_MASKED ? 'M' : '-'}${f & F_LINE ? 'L' : '-'}${f & F_ACKED ? 'A' : '-'}`;
      irqs.push(`${i}:${s}`);
    }
    out.push(`  irqs: ${irqs.join(' ') || '(all idle)'}`);
  }
  const t = rvic.rvid;
  if (t !== null) {
    out.push(`rVID inputs=${t.nrInputs} wired=0..${t.nrWired - 1} msi=${t.msiFirst}..${t.nrInputs - 1}`);
    for (const [input, vi, intid] of t.entries())
      out.push(`  input ${input} -> vcpu${vi} intid ${intid}${t.level[input] ? ' (line high)' : ''}`);
  }
  return out.join('\n');
}
