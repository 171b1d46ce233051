/**
 * A long-lived hypervisor gets back what each VM took from it: the arch timer's mapped host interrupts
 * (kvm_timer_vcpu_terminate), GICv4.1 vPE doorbells (vgic_v4_teardown) and a passthrough device's MSI-X host
 * interrupts (VFIO device close). 10,000 create/run/destroy cycles in one Hypervisor keep the host interrupt
 * table and the heap flat, and no destroyed VM stays reachable.
 *
 * support/vm-lifecycle-probe.js runs the cycles in a node process of its own with --expose-gc (a precise heap
 * reading needs a full collection), against the built packages (`npm test` builds first).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { DAIF, GuestAsm, Hypervisor } from '@irqflow/core';
import { TimerPlugin } from '@irqflow/timer';
import { VgicPlugin } from '@irqflow/vgic';

jest.setTimeout(300_000);

describe('VM destroy gives back host resources', () => {
  it('host interrupts of the timers, vPE doorbells and passthrough vectors are freed and their numbers reused', async () => {
    const hv = new Hypervisor({ traceCapacity: 16 }).use(TimerPlugin).use(VgicPlugin);
    const seen: number[][] = [];
    for (let round = 0; round < 3; round++) {
      const vm = hv.createVm();
      vm.createVcpu();
      vm.createVcpu();
      const drv = hv.irqchip('gic-v4.1').setup(vm, {});
      const nic = hv.createPassthroughDevice('nic', 0x10, 3);
      for (const cpu of vm.vcpus) {
        const a = new GuestAsm();
        a.label('main');
        drv.emitCpuInit(a);
        a.daifclr(DAIF.I).label('idle').wfi().b('idle');
        a.label('irq').eret();
        cpu.setProgram(a.build());
      }
      vm.run({ until: 20_000 });
      // 2 vtimers + 2 doorbells + 3 vectors
      expect(hv.hostIrqs.count).toBe(7);
      const names = hv.hostIrqs.all.map((h) => h.name);
      expect(names.filter((n) => n.startsWith('vtimer/'))).toHaveLength(2);
      expect(names.filter((n) => n.startsWith('vpe-doorbell/'))).toHaveLength(2);
      seen.push(hv.hostIrqs.all.map((h) => h.irq));
      const held = hv.hostIrqs.all.map((h) => h.irq);
      nic.destroy();
      await vm.destroy();
      expect(hv.hostIrqs.count).toBe(0);
      for (const irq of held) {
        expect(hv.hostIrqs.has(irq)).toBe(false);
        expect(() => hv.hostIrqs.raise(irq)).toThrow(/does not exist/);
      }
    }
    // every round reuses the same numbers: the table does not grow
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[2]).toEqual(seen[0]);
  });

  it('10,000 create/destroy cycles with the timer and GICv4.1 keep the heap flat', () => {
    const probe = path.join(__dirname, 'support', 'vm-lifecycle-probe.js');
    const r = spawnSync(process.execPath, ['--expose-gc', probe, '10000'], { encoding: 'utf8', timeout: 280_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const m = JSON.parse(r.stdout) as Record<string, number>;
    expect(m.cycles).toBe(10000);
    expect(m.maxInUse).toBe(6); // 2 vtimers + 2 doorbells + 2 vectors, one VM at a time
    expect(m.hostIrqsAfter).toBe(m.hostIrqsBefore);
    expect(m.maxHostIrq).toBeLessThan(64 + 6);
    expect(m.vmsAlive).toBe(0);
    expect(m.liveVms).toBe(0);
    // a leak of the size is ~670 KiB per VM; allow noise of a few hundred bytes per cycle
    expect(m.bytesPerCycle).toBeLessThan(256);
  });
});
