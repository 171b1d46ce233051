/**
 * A state dump in the style of KVM's `vgic-state` debugfs file (upstream vgic-debug.c): distributor summary,
 * then one line per private interrupt of each vCPU and per SPI, with pending/line/active/enabled/hw/config,
 * group, priority, target and the vCPU whose ap_list holds it; plus each vCPU's list registers and VMCR.
 *
 * @module
 */
import type { Vgic } from './vgic';
import { LrState } from './vgic-cpuif';
import type { VgicIrq } from './vgic-irq';

const b = (x: boolean): string => (x ? '1' : '0');

function line(kind: string, vcpu: number, irq: VgicIrq): string {
  const tgt = irq.targetCpu ? irq.targetCpu.index : -1;
  const ap = irq.apCpu ? irq.apCpu.index : -1;
  return (
    `${kind.padEnd(6)}${String(irq.intid).padStart(5)} ${String(vcpu).padStart(4)}` +
    `      ${b(irq.pendingLatch)}     ${b(irq.lineLevel)}      ${b(irq.active)}      ${b(irq.enabled)}  ${b(irq.hw)}` +
    ` ${String(irq.hostIrq).padStart(5)} ${irq.level ? 'level' : 'edge '}  ${irq.group}` +
    ` 0x${irq.priority.toString(16).padStart(2, '0')} ${String(tgt).padStart(4)} ${String(ap).padStart(4)}`
  );
}

/** Formats the vgic state of one VM. */
export function vgicDump(vg: Vgic): string {
  const out: string[] = [];
  out.push(`Distributor`);
  out.push(`===========`);
  out.push(`vgic_model:\t${vg.v2 ? 'GICv2' : 'GICv3'}`);
  out.push(`nr_spis:\t${vg.nrSpis}`);
  out.push(`enabled:\tgrp0=${b(vg.enableGrp0)} grp1=${b(vg.enableGrp1)}`);
  out.push(`nr_lrs:\t\t${vg.nrLrs}`);
  for (const c of vg.cpus) {
    if (!c) continue;
    const h = c.cpuif;
    out.push('');
    out.push(`VCPU ${c.index} TYPE   ID TGT_ID PENDING LINE ACTIVE ENABLE HW HWID  CONFIG GRP PRIO TGT  AP`);
    out.push(
      `  vmcr: pmr=0x${h.pmr.toString(16)} bpr0=${h.bpr0} bpr1=${h.bpr1} eng0=${b(h.eng0)} eng1=${b(h.eng1)} eoim=${b(h.eoim)}` +
        ` ap0r=0x${h.ap0r.toString(16)} ap1r=0x${h.ap1r.toString(16)} ap_list=${c.apLen}`,
    );
    for (let i = 0; i < h.usedLrs; i++) {
      const s = h.lrState[i];
      out.push(
        `  LR${i}: vINTID=${h.lrIntid[i]} state=${s & LrState.Pending ? 'P' : ''}${s & LrState.Active ? 'A' : ''}${s ? '' : '-'}` +
          ` prio=0x${h.lrPrio[i].toString(16)} grp=${h.lrGroup[i]} hw=${h.lrHw[i]} eoi=${h.lrEoi[i]}`,
      );
    }
    for (const irq of c.privateIrqs) out.push(line(irq.intid < 16 ? 'SGI' : 'PPI', c.index, irq));
  }
  out.push('');
  for (const irq of vg.spis) out.push(line('SPI', -1, irq));
  for (const irq of vg.lpis.values()) out.push(line('LPI', -1, irq));
  return out.join('\n');
}
