import { DAIF, GuestAsm, type Vcpu } from '@irqflow/core';
import { gicVm, loggingGuest, spiLine } from './helpers';

describe('gic-v3 SGIs', () => {
  it('ICC_SGI1R targets one vCPU by affinity; the driver IPI macro reaches the right vCPU', () => {
    const { vm, drv } = gicVm('gic-v3', 3);
    const logs: number[][] = [[], [], []];
    for (let i = 0; i < 3; i++) {
      const a = loggingGuest(drv, [3], logs[i], {
        before: (g) => {
          if (i === 0)
            g.movi(11, 2)
              .call(() => {})
              .daifset(DAIF.I);
          if (i === 0) drv.emitSendIpi!(g, 11, 3);
        },
      });
      vm.vcpus[i].setProgram(a.build());
    }
    vm.run({ until: 100_000 });
    expect(logs).toEqual([[], [], [3]]);
    expect(vm.stats().traps.ICC_SGI1R_EL1).toBe(1);
  });

  it('IRM=1 broadcasts to every vCPU but the sender; SGIs of the other group are not delivered', () => {
    const { vm, drv } = gicVm('gic-v3', 3);
    const logs: number[][] = [[], [], []];
    for (let i = 0; i < 3; i++) {
      const a = loggingGuest(drv, [5], logs[i], {
        before: (g) => {
          if (i !== 0) return;
          g.movi(0, (1n << 40n) | (5n << 24n)).msr('ICC_SGI1R_EL1', 0);
          g.movi(0, (1n << 40n) | (6n << 24n)).msr('ICC_SGI0R_EL1', 0); // group-0 SGI: SGIs are group 1
        },
      });
      vm.vcpus[i].setProgram(a.build());
    }
    vm.run({ until: 100_000 });
    expect(logs).toEqual([[], [5], [5]]);
  });

  it('a target list with a range selector and Aff1 names vCPUs by MPIDR; unknown targets are ignored', () => {
    const hvm = gicVm('gic-v3', 18);
    const { vm, drv } = hvm;
    const logs: number[][] = Array.from({ length: 18 }, () => []);
    for (let i = 0; i < 18; i++) {
      const a = loggingGuest(drv, [7], logs[i], {
        before: (g) => {
          // vCPU 17 has MPIDR Aff1=1 Aff0=1: RS=0, TargetList bit 1, Aff1=1; also bit 5 (absent vCPU 0x105)
          if (i === 0) g.movi(0, (7 << 24) | (1 << 16) | 0b100010).msr('ICC_SGI1R_EL1', 0);
        },
      });
      vm.vcpus[i].setProgram(a.build());
    }
    vm.run({ until: 200_000 });
    expect(logs.map((l, i) => (l.length ? i : -1)).filter((i) => i >= 0)).toEqual([17]);
  });

  it('a single target is named by Aff2.Aff1, the range selector and its TargetList bit', () => {
    // each value has one TargetList bit: (SGI 7, Aff1, RS, bit) → the vCPUs that take it
    const cases: [number, number, number, number[]][] = [
      [1, 0, 1, [17]], // Aff1=1 Aff0=1: vCPU 17
      [0, 0, 1, [1]], // Aff1=0 Aff0=1: vCPU 1
      [0, 1, 1, []], // RS=1: Aff0 = 17, which no vCPU has (KVM's Aff0 is id[3:0])
      [1, 0, 2, []], // Aff1=1 Aff0=2: vCPU 18 does not exist
    ];
    for (const [aff1, rs, bit, want] of cases) {
      const { vm, drv } = gicVm('gic-v3', 18);
      const logs: number[][] = Array.from({ length: 18 }, () => []);
      for (let i = 0; i < 18; i++) {
        const a = loggingGuest(drv, [7], logs[i], {
          before: (g) => {
            if (i === 0) g.movi(0, BigInt((7 << 24) | (aff1 << 16) | (1 << bit)) | (BigInt(rs << 12) << 32n)).msr('ICC_SGI1R_EL1', 0);
          },
        });
        vm.vcpus[i].setProgram(a.build());
      }
      vm.run({ until: 200_000 });
      expect([aff1, rs, bit, logs.map((l, i) => (l.length ? i : -1)).filter((i) => i >= 0)]).toEqual([aff1, rs, bit, want]);
    }
  });
});

describe('gic-v2 SGIs', () => {
  it('GICD_SGIR target filters, and the source CPU appears in GICC_IAR', () => {
    const { vm, drv } = gicVm('gic-v2', 3);
    const raw: number[][] = [[], [], []];
    const logs: number[][] = [[], [], []];
    for (let i = 0; i < 3; i++) {
      const a = loggingGuest(drv, [1, 2, 4], logs[i], {
        handler: (g) => g.call((v: Vcpu) => void raw[i].push(v.x(7))),
        before: (g) => {
          if (i === 1) {
            g.movi(0, (1 << 24) | 1).stra(0, 0x08000f00); // all but self
            g.movi(0, (2 << 24) | 2).stra(0, 0x08000f00); // self only
            g.movi(0, (1 << 16) | 4).stra(0, 0x08000f00); // target list: CPU0
          }
        },
      });
      vm.vcpus[i].setProgram(a.build());
    }
    vm.run({ until: 200_000 });
    expect(logs[0].sort()).toEqual([1, 4]);
    expect(logs[1]).toEqual([2]);
    expect(logs[2]).toEqual([1]);
    expect(raw[0].sort()).toEqual([(1 << 10) | 1, (1 << 10) | 4]);
    expect(raw[2]).toEqual([(1 << 10) | 1]);
  });

  it('the same SGI from two sources is delivered twice, once per source', () => {
    const { vm, drv } = gicVm('gic-v2', 3);
    const raw: number[] = [];
    const logs: number[][] = [[], [], []];
    for (let i = 0; i < 3; i++) {
      const a = loggingGuest(drv, [1], logs[i], {
        handler: (g) => g.call((v: Vcpu) => void (i === 0 && raw.push(v.x(7)))),
        before: (g) => {
          if (i !== 0) g.movi(0, (1 << 16) | 1).stra(0, 0x08000f00);
        },
      });
      vm.vcpus[i].setProgram(a.build());
    }
    vm.run({ until: 200_000 });
    expect(raw.sort()).toEqual([(1 << 10) | 1, (2 << 10) | 1]);
  });
});

describe.each(['gic-v3', 'gic-v2'] as const)('%s group enables', (name) => {
  it('distributor group enable gates delivery; enabling delivers what was pending', () => {
    const { vm, drv, dev } = gicVm(name, 1);
    const log: number[] = [];
    vm.vcpus[0].setProgram(loggingGuest(drv, [40], log).build());
    vm.run({ until: 20_000 });
    const ctlr = dev.getAttr({ group: 1, attr: 0n });
    dev.setAttr({ group: 1, attr: 0n }, 0n);
    vm.irqLine(spiLine(40), 1);
    vm.irqLine(spiLine(40), 0);
    vm.run({ until: 40_000 });
    expect(log).toEqual([]);
    dev.setAttr({ group: 1, attr: 0n }, ctlr);
    vm.run({ until: 60_000 });
    expect(log).toEqual([40]);
  });

  it('the CPU interface group enable (IGRPEN1 / GICC_CTLR) gates signalling', () => {
    const { vm, drv } = gicVm(name, 1);
    const log: number[] = [];
    const v2 = name === 'gic-v2';
    const a = new GuestAsm();
    a.label('main');
    drv.emitCpuInit(a);
    drv.emitEnable(a, 40);
    if (v2) a.movi(0, 0).stra(0, 0x08010000);
    else a.movi(0, 0).msr('ICC_IGRPEN1_EL1', 0);
    a.daifclr(DAIF.I);
    a.work(30_000);
    a.call(() => void log.push(-1));
    if (v2) a.movi(0, 1).stra(0, 0x08010000);
    else a.movi(0, 1).msr('ICC_IGRPEN1_EL1', 0);
    a.label('loop').wfi().b('loop');
    a.label('irq');
    drv.emitAck(a, 9);
    a.bhsi(9, 1020, 'out');
    a.call((v: Vcpu) => void log.push(v.x(9)));
    drv.emitEoi(a, 9);
    a.label('out').eret();
    vm.vcpus[0].setProgram(a.build());
    vm.run({ until: 2_000 });
    vm.irqLine(spiLine(40), 1);
    vm.irqLine(spiLine(40), 0);
    vm.run({ until: 100_000 });
    expect(log).toEqual([-1, 40]);
  });
});

describe('gic-v3 priority mask', () => {
  it('PMR masks lower-priority interrupts; lowering the mask delivers them; RPR and HPPIR report state', () => {
    const { vm, drv } = gicVm('gic-v3', 1);
    const log: number[] = [];
    const seen: number[] = [];
    const a = loggingGuest(drv, [40], log, {
      priority: 0xc0,
      before: (g) => {
        g.movi(0, 0x80).msr('ICC_PMR_EL1', 0);
        g.daifclr(DAIF.I).work(30_000);
        g.mrs(1, 'ICC_HPPIR1_EL1')
          .mrs(2, 'ICC_RPR_EL1')
          .call((v: Vcpu) => void seen.push(v.x(1), v.x(2)));
        g.movi(0, 0xf0).msr('ICC_PMR_EL1', 0);
      },
    });
    vm.vcpus[0].setProgram(a.build());
    vm.run({ until: 2_000 });
    vm.irqLine(spiLine(40), 1);
    vm.irqLine(spiLine(40), 0);
    vm.run({ until: 100_000 });
    expect(seen).toEqual([40, 0xff]);
    expect(log).toEqual([40]);
  });
});

describe('GRP_CPU_SYSREGS: the registers KVM lists', () => {
  const ap = (op2: number, crm: number) => BigInt((3 << 14) | (0 << 11) | (12 << 7) | (crm << 3) | op2);
  const AP0R = [4, 5, 6, 7].map((op2) => ap(op2, 8)); // ICC_AP0R0..3_EL1
  const AP1R = [0, 1, 2, 3].map((op2) => ap(op2, 9)); // ICC_AP1R0..3_EL1

  it('HAS_ATTR succeeds for every listed EL1 register, AP0R1..3 and AP1R1..3 included; their GET/SET are EINVAL with 5 priority bits', () => {
    const { vm, dev } = gicVm('gic-v3', 1);
    const k = BigInt(vm.vcpus[0].mpidr) << 32n;
    const has = (enc: bigint) => dev.hasAttr({ group: 6, attr: k | enc });
    // PMR, BPR0, BPR1, CTLR, SRE, IGRPEN0, IGRPEN1
    for (const enc of [0xc230n, 0xc643n, 0xc663n, 0xc664n, 0xc665n, 0xc666n, 0xc667n]) expect(has(enc)).toBe(true);
    for (const enc of [...AP0R, ...AP1R]) expect(has(enc)).toBe(true);
    expect(has(0xc660n)).toBe(false); // ICC_IAR1_EL1: not a userspace register
    const errnoOf = (f: () => unknown) => {
      try {
        f();
        return 'ok';
      } catch (e) {
        return (e as { errno?: number }).errno;
      }
    };
    for (const enc of [...AP0R.slice(1), ...AP1R.slice(1)]) {
      expect(errnoOf(() => dev.getAttr({ group: 6, attr: k | enc }))).toBe(22); // EINVAL
      expect(errnoOf(() => dev.setAttr({ group: 6, attr: k | enc }, 0n))).toBe(22);
    }
    dev.setAttr({ group: 6, attr: k | AP1R[0] }, 0x4n);
    expect(dev.getAttr({ group: 6, attr: k | AP1R[0] })).toBe(0x4n);
  });
});
