#!/usr/bin/env node
'use strict';
// Prints the README's "rVIC versus GIC" tables from the model: `irqflow microbench --json` (per operation) and
// `irqflow compare --workload all --json` (per interrupt in whole workloads). Run after `npm run build`:
//   node scripts/readme-tables.js > /tmp/tables.md
// and paste the three tables into README.md (they are the same tables, in the same order).
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const cli = path.join(__dirname, '..', 'packages', 'examples', 'dist', 'cli.js');
const json = (...args) => JSON.parse(execFileSync(process.execPath, [cli, ...args, '--json'], { encoding: 'utf8', maxBuffer: 64 << 20 }));

const mb = json('microbench').rows.filter((r) => r.status === 'ok');
const cmp = json('compare', '--workload', 'all').rows;
const profiles = [...new Set(mb.map((r) => r.profile))];
const tests = [...new Set(mb.map((r) => r.test))];
const CHIPS = [
  ['rvic', 'rVIC'],
  ['gic-v3', 'GICv3'],
  ['gic-v4.1', 'GICv4.1'],
];
const ns = (test, chip, profile) => mb.find((r) => r.test === test && r.irqchip === chip && r.profile === profile)?.ns;

const out = [];
out.push(`| test | controller | ${profiles.map((p) => `\`${p}\``).join(' | ')} |`);
out.push(`|---|---|${profiles.map(() => '---:').join('|')}|`);
for (const t of tests)
  for (const [chip, label] of CHIPS) {
    const v = profiles.map((p) => ns(t, chip, p));
    if (v.every((x) => x === undefined)) continue;
    out.push(`| ${t} | ${label} | ${v.map((x) => (x === undefined ? '–' : Math.round(x))).join(' | ')} |`);
  }
out.push('', 'rVIC / GICv3 per operation:', '');
out.push(`| test | ${profiles.map((p) => `\`${p}\``).join(' | ')} |`);
out.push(`|---|${profiles.map(() => '---:').join('|')}|`);
for (const t of tests) {
  const r = profiles.map((p) => {
    const a = ns(t, 'rvic', p);
    const b = ns(t, 'gic-v3', p);
    return a === undefined || b === undefined ? undefined : a / b;
  });
  if (r.every((x) => x === undefined)) continue;
  out.push(`| ${t} | ${r.map((x) => (x === undefined ? '–' : x.toFixed(2))).join(' | ')} |`);
}
out.push('', '---', '');
const workloads = [...new Set(cmp.map((r) => r.workload))];
const cprofiles = [...new Set(cmp.map((r) => r.profile))];
const row = (w, p, c) => cmp.find((r) => r.workload === w && r.profile === p && r.irqchip === c);
out.push('| workload | profile | exits/irq rVIC | exits/irq GICv3 | exits/irq GICv4.1 | ns/irq rVIC | ns/irq GICv3 | ns/irq GICv4.1 | rVIC / GICv3 (ns) |');
out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|');
for (const w of workloads)
  for (const p of cprofiles) {
    const rs = CHIPS.map(([c]) => row(w, p, c));
    if (rs.some((r) => r === undefined)) continue;
    const e = rs.map((r) => r.exitsPerInterrupt.toFixed(2));
    const n = rs.map((r) => Math.round(r.simNsPerInterrupt));
    out.push(`| ${w} | ${p} | ${e.join(' | ')} | ${n.join(' | ')} | ${(rs[0].simNsPerInterrupt / rs[1].simNsPerInterrupt).toFixed(2)} |`);
  }
process.stdout.write(out.join('\n') + '\n');
