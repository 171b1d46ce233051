/**
 * `node packages/examples/dist/migration/migrate-fuzz.js [--points N] [--irqchip a,b] [--seed S] [--end NS]
 * [--lookahead NS|default]`: the full migration check — N random migration points per controller (default 1,000 on
 * gic-v2, gic-v3, gic-v4.1 and rvic), each restored into a fresh VM of a fresh hypervisor and compared with the
 * source and with a never-saved run ({@link fuzzMigration}). Prints one line per controller: restored = source
 * (from the point on), restored = uninterrupted (the migrated run — source to the point, restored VM after it —
 * against the never-saved run) and saved source = never-saved (the save is a pure observation). Exit code 1 when
 * any of the three fails at any point. `--lookahead` defaults to the profile's (`default`); traces do not depend
 * on it or on how `run()` is sliced (causal delivery), so any value must give the same result.
 *
 * @module
 */
import { fuzzMigration } from './migration-fuzz';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function main(): number {
  const points = Number(arg('points') ?? 1000);
  const seed = Number(arg('seed') ?? 1);
  const endNs = Number(arg('end') ?? 150_000);
  const la = arg('lookahead');
  const chips = (arg('irqchip') ?? 'gic-v2,gic-v3,gic-v4.1,rvic').split(',');
  if (!Number.isInteger(points) || points < 1 || !Number.isFinite(seed) || !(endNs > 10_000)) {
    console.error('migrate-fuzz: --points must be a positive integer, --seed a number, --end > 10000');
    return 2;
  }
  let bad = 0;
  for (const irqchip of chips) {
    const lookaheadNs = la === undefined || la === 'default' ? undefined : Number(la);
    const r = fuzzMigration({ irqchip, points, seed, endNs, lookaheadNs });
    bad += r.failures.length + r.uninterruptedDiffs.length + r.sourceDiffs.length;
    console.log(
      `${irqchip.padEnd(9)} seed ${seed} · restored = source ${r.ok}/${r.points} · restored = uninterrupted ${r.uninterruptedOk}/${r.points} · saved source = never-saved ${r.sourceOk}/${r.points} · in handler ${r.inHandler} · in WFI ${r.inWfi} · LPI pending ${r.lpiPending} · FIFO pending ${r.fifoPending} · lookahead ${lookaheadNs ?? 'default'} · ${(r.ms / 1000).toFixed(1)} s`,
    );
    for (const f of r.failures.slice(0, 5)) console.log(`  ${f}`);
    for (const f of r.uninterruptedDiffs.slice(0, 3)) console.log(`  (uninterrupted) ${f}`);
    for (const f of r.sourceDiffs.slice(0, 3)) console.log(`  (source) ${f}`);
  }
  return bad > 0 ? 1 : 0;
}

process.exitCode = main();
