import { migrateAt, referenceRun } from '../../src/migration/migration-harness';
it('try', () => {
  for (const irqchip of [...(process.env.CHIPS ?? 'gic-v3,gic-v2,gic-v4.1').split(',')]) {
    const sc = { irqchip, seed: 5, endNs: 200_000, lookaheadNs: Number(process.env.LA ?? 0) };
    const t0 = Date.now();
    const ref = referenceRun(sc);
    const out: string[] = [];
    for (const t of [1000, 7777, 20000, 33333, 60001, 99999, 150000]) {
      const r = migrateAt(sc, t, ref);
      out.push(`${t} ${r.where.join(',')} ${r.ok ? 'OK' : r.why}`);
    }
    console.log(irqchip, ref.trace.length, Date.now() - t0, 'ms\n' + out.join('\n'));
  }
});
