import { DAIF, GuestAsm, type Vcpu } from '@irqflow/core';
import { gicVm } from './helpers';

const D = 0x08000000;

/** Runs `body` on vCPU 0 of a fresh VM and returns the values it recorded with `rec(reg)`. */
function probe(name: 'gic-v3' | 'gic-v2', body: (a: GuestAsm, rec: (r: number) => void) => void, nrIrqs = 256) {
  const { vm, drv, dev } = gicVm(name, 2, { nrIrqs });
  const out: bigint[] = [];
  const a = new GuestAsm();
  a.label('main');
  drv.emitCpuInit(a);
  body(a, (r) => a.call((v: Vcpu) => void out.push(v.xBig(r))));
  a.label('end').wfi().b('end');
  a.label('sync')
    .call(() => void out.push(-1n))
    .eret();
  vm.vcpus[0].setProgram(a.build());
  vm.vcpus[1].setProgram(new GuestAsm().label('main').label('l').wfi().b('l').build());
  vm.run({ until: 100_000 });
  return { out, vm, dev };
}

describe.each(['gic-v3', 'gic-v2'] as const)('%s distributor MMIO', (name) => {
  it('IPRIORITYR byte and word access, 5 bits implemented', () => {
    const { out } = probe(name, (a, rec) => {
      a.movi(0, 0xff).stra(0, D + 0x400 + 41, 1);
      a.ldra(1, D + 0x400 + 41, 1);
      rec(1);
      a.movi(0, 0x11223344).stra(0, D + 0x400 + 44);
      a.ldra(1, D + 0x400 + 44);
      rec(1);
      a.ldra(1, D + 0x400 + 45, 1);
      rec(1);
      a.ldra(1, D + 0x400 + 40);
      rec(1);
    });
    expect(out).toEqual([0xf8n, 0x10203040n, 0x30n, 0xf800n]);
  });

  it('RAZ/WI beyond NR_IRQS, unknown offsets and unsupported widths; never an abort', () => {
    const { out, vm } = probe(
      name,
      (a, rec) => {
        a.movi(0, 0xffffffff).stra(0, D + 0x100 + 3 * 4); // ISENABLER3: INTIDs 96..127, NR_IRQS 96
        a.ldra(1, D + 0x100 + 3 * 4);
        rec(1);
        a.ldra(1, D + 0x1f0);
        rec(1); // ICENABLER beyond 1024? (0x1f0 = ICENABLER28)
        a.ldra(1, D + 0x100 + 4, 2); // halfword access to ISENABLER: not allowed → RAZ
        rec(1);
        a.ldra(1, D + 0x0f04, 8);
        rec(1);
        a.ldra(1, D + 0x0101, 1);
        rec(1);
      },
      96,
    );
    expect(out).toEqual([0n, 0n, 0n, 0n, 0n]);
    expect(vm.stats().faults).toBe(0);
  });

  it('the guest sets pending through ISPENDR and clears it through ICPENDR; ISACTIVER reads back', () => {
    const { out } = probe(name, (a, rec) => {
      a.movi(0, 1 << 8).stra(0, D + 0x204); // ISPENDR1: SPI 40 (disabled, so it stays pending)
      a.ldra(1, D + 0x204);
      rec(1);
      a.movi(0, 1 << 8).stra(0, D + 0x284);
      a.ldra(1, D + 0x204);
      rec(1);
      a.movi(0, 1 << 9).stra(0, D + 0x304);
      a.ldra(1, D + 0x304);
      rec(1);
      a.movi(0, 1 << 9).stra(0, D + 0x384);
      a.ldra(1, D + 0x304);
      rec(1);
    });
    expect(out).toEqual([1n << 8n, 0n, 1n << 9n, 0n]);
  });

  it('ICFGR: SGIs read edge and are read-only; SPIs configurable', () => {
    const { out } = probe(name, (a, rec) => {
      a.ldra(1, D + 0xc00);
      rec(1);
      a.movi(0, 0).stra(0, D + 0xc00);
      a.ldra(1, D + 0xc00);
      rec(1);
      a.movi(0, 0x2).stra(0, D + 0xc08);
      a.ldra(1, D + 0xc08);
      rec(1);
    });
    expect(out[1]).toBe(out[0]);
    expect(out[2]).toBe(2n);
    if (name === 'gic-v2') expect(out[0]).toBe(0xaaaaaaaan);
    else expect(out[0]).toBe(0n); // GICv3 GICD private range is RAZ/WI with affinity routing
  });
});

describe('gic-v3 registers', () => {
  it('IROUTER 64-bit and 32-bit halves, GICR_TYPER 64-bit, WAKER, IIDR and PIDR2', () => {
    const { out } = probe('gic-v3', (a, rec) => {
      a.movi(0, 0x0000_00ff_0000_0001n).stra(0, D + 0x6000 + 8 * 40, 8);
      a.ldra(1, D + 0x6000 + 8 * 40, 8);
      rec(1);
      a.ldra(1, D + 0x6000 + 8 * 40 + 4);
      rec(1);
      a.ldra(1, D + 0x6000 + 8 * 5, 8); // private INTIDs have no IROUTER
      rec(1);
      a.ldra(1, 0x080a0000 + 0x20000 + 8, 8);
      rec(1);
      a.ldra(1, 0x080a0000 + 0x14);
      rec(1);
      a.ldra(1, D + 8);
      rec(1);
      a.ldra(1, 0x080a0000 + 0xffe8);
      rec(1);
    });
    // GICR_TYPER.PLPIS (bit 0): the gic-v3 board has an ITS.
    expect(out).toEqual([1n, 0n, 0n, (1n << 32n) | (1n << 8n) | 0x10n | 1n, 0n, 0x4b00343bn, 0x3bn]);
  });
});

describe('gic-v2 CPU interface (GICV) is untrapped', () => {
  it('IAR/EOIR/PMR accesses do not exit and are charged cpuifAccess; DIR traps', () => {
    const { vm, drv } = gicVm('gic-v2', 1);
    const a = new GuestAsm();
    a.label('main');
    drv.emitCpuInit(a);
    a.call((v: Vcpu) => v.stats.reset());
    for (let i = 0; i < 10; i++) a.ldra(1, 0x08010000 + 0x0c).ldra(1, 0x08010004);
    a.movi(0, 0x201).stra(0, 0x08010000).movi(0, 1023).stra(0, 0x08011000);
    a.daifclr(DAIF.I).label('l').wfi().b('l');
    vm.vcpus[0].setProgram(a.build());
    vm.run({ until: 50_000 });
    const st = vm.vcpus[0].stats;
    expect(st.untrappedMmio).toBe(21);
    expect(st.exits[0]).toBe(1); // only GICC_DIR took an MMIO exit
  });
});

describe.each(['gic-v3', 'gic-v2'] as const)('%s: any width at any offset', (name) => {
  it('guest accesses never throw or abort; userspace attributes answer only with KvmError', () => {
    const { vm, dev } = gicVm(name, 2);
    vm.vcpus.forEach((v) => v.setProgram(new GuestAsm().label('main').label('l').wfi().b('l').build()));
    vm.run({ until: 1000 });
    const frames = vm.mmio.devices.filter((r) => /^GIC/.test(r.dev.name));
    expect(frames.length).toBeGreaterThanOrEqual(name === 'gic-v3' ? 3 : 3);
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0);
    for (const r of frames) {
      for (let k = 0; k < 3000; k++) {
        const len = [1, 2, 4, 8][rnd() & 3];
        const off = rnd() % r.size;
        const val = { lo: rnd(), hi: rnd() };
        expect(r.dev.read(vm.vcpus[0], off, len, val)).toBe(true);
        expect(r.dev.write(vm.vcpus[rnd() & 1], off, len, { lo: rnd(), hi: rnd() })).toBe(true);
      }
    }
    for (let k = 0; k < 3000; k++) {
      const group = rnd() % 10;
      const attr = (BigInt(rnd() & 0x1ff) << 32n) | BigInt(rnd() % 0x20000);
      try {
        if (rnd() & 1) dev.getAttr({ group, attr });
        else dev.setAttr({ group, attr }, BigInt(rnd()));
      } catch (e) {
        expect((e as Error).name).toBe('KvmError');
      }
    }
  });
});

describe.each(['gic-v3', 'gic-v2'] as const)('%s: bus accesses with no vCPU (vcpu = null)', (name) => {
  it('every frame answers every offset and width without throwing; banked registers are RAZ/WI', () => {
    const { vm, dev } = gicVm(name, 2);
    vm.vcpus.forEach((v) => v.setProgram(new GuestAsm().label('main').label('l').wfi().b('l').build()));
    vm.run({ until: 1000 });
    const frames = vm.mmio.devices.filter((r) => /^GIC/.test(r.dev.name));
    const cpuRegs = () =>
      name === 'gic-v2'
        ? [0n, 1n].flatMap((i) => [0x00n, 0x04n, 0x08n, 0xd0n].map((o) => dev.getAttr({ group: 2, attr: (i << 32n) | o })))
        : [];
    const before = cpuRegs();
    for (const r of frames) {
      for (let off = 0; off < r.size; off += off < 0x1000 ? 4 : 0x40) {
        for (const len of [1, 4, 8]) {
          const val = { lo: 0xdeadbeef, hi: 0xdeadbeef };
          expect(r.dev.read(null, off, len, val)).toBe(true);
          expect(r.dev.write(null, off, len, { lo: 0xffffffff, hi: 0xffffffff })).toBe(true);
        }
      }
    }
    if (name !== 'gic-v2') return;
    const gicd = vm.mmio.find(0x08000000)!;
    const gicv = vm.mmio.find(0x08010000)!;
    const read = (r: typeof gicd, off: number) => {
      const v = { lo: 0xdeadbeef, hi: 0 };
      r.dev.read(null, off, 4, v);
      return v.lo;
    };
    for (const off of [0xf10, 0xf14, 0xf20, 0xf2c]) expect(read(gicd, off)).toBe(0);
    for (const off of [0x00, 0x04, 0x0c, 0x14, 0x18, 0xd0, 0xfc]) expect(read(gicv, off)).toBe(0);
    // the writes above reached no vCPU: no SGI made pending, no CPU interface changed
    for (let i = 0; i < 2; i++) {
      const k = BigInt(i) << 32n;
      for (const off of [0xf20n, 0xf24n, 0xf28n, 0xf2cn]) expect(dev.getAttr({ group: 1, attr: k | off })).toBe(0n);
    }
    expect(cpuRegs()).toEqual(before);
  });
});

describe('gic-v3 IROUTER retargets a queued interrupt', () => {
  it('an SPI pending on a vCPU with interrupts masked moves to the new target', () => {
    const { vm, drv, dev } = gicVm('gic-v3', 2);
    const logs: number[][] = [[], []];
    const busy = new GuestAsm();
    busy.label('main');
    drv.emitCpuInit(busy);
    drv.emitEnable(busy, 40);
    busy.label('l').work(1000).b('l'); // interrupts stay masked
    vm.vcpus[0].setProgram(busy.build());
    const a = new GuestAsm();
    a.label('main');
    drv.emitCpuInit(a);
    a.daifclr(DAIF.I).label('w').wfi().b('w');
    a.label('irq');
    drv.emitAck(a, 9);
    a.beqi(9, 1023, 'o').call((v: Vcpu) => void logs[1].push(v.x(9)));
    drv.emitEoi(a, 9);
    a.label('o').eret();
    vm.vcpus[1].setProgram(a.build());
    vm.run({ until: 10_000 });
    vm.irqLine((1 << 24) | 40, 1);
    vm.irqLine((1 << 24) | 40, 0);
    vm.run({ until: 20_000 });
    expect(logs[1]).toEqual([]);
    dev.setAttr({ group: 1, attr: BigInt(0x6000 + 8 * 40) }, BigInt(vm.vcpus[1].mpidr));
    vm.run({ until: 40_000 });
    expect(logs[1]).toEqual([40]);
  });
});
