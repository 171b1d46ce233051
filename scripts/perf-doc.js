#!/usr/bin/env node
'use strict';
// Regenerates the figure tables of docs/guides/performance.md from benchmark rows, so the doc shows what the
// benchmarks printed rather than figures typed by hand:
//
//   npm run build && node scripts/bench.js --json > /tmp/bench.json
//   node scripts/perf-doc.js /tmp/bench.json                      # rewrites docs/guides/performance.md
//   node scripts/perf-doc.js /tmp/bench.json --doc D.md --out O.md  # D.md's tables rewritten into O.md
//
// The input is what `node scripts/bench.js --json` prints (one {"benchmarks":[…], …} document per line, one per
// suite) or one such document (`irqflow bench --json`). In the doc, each generated table sits between
//   <!-- perf-doc:begin KIND -->  and  <!-- perf-doc:end KIND -->
// and everything between the two is replaced; the prose around them is left alone. Kinds:
//   rows        every row not shown by another table, in the order the suites printed them
//   workloads   model/<workload>/<controller> rows: one line per controller
//   scaling     "scaling <irqchip> <what> <point> vs <ref>" rows: one line per family, one column per irqchip
//   qemu        "qemu peer: …" rows with the QEMU figures the peer suite prints beside them
//   passthrough v4.bench's simulated rows (exits and simulated ns per interrupt, gic-v4 vs gic-v3)
// A marker pair whose kind has no rows in the input is left as it was, and said so on stderr, so a --filter run
// or a suite that skipped (the QEMU peer without QEMU) does not blank a table. Exit status 2: usage, unreadable
// input, or a doc without markers / with an unclosed one.
const fs = require('node:fs');
const path = require('node:path');

/** The rows (and the QEMU figures) of bench output text: JSON lines, or one JSON document. */
function parseBenchOutput(text) {
  const docs = [];
  const trimmed = text.trim();
  try {
    docs.push(JSON.parse(trimmed));
  } catch {
    for (const line of trimmed.split('\n')) {
      const l = line.trim();
      if (l.startsWith('{')) docs.push(JSON.parse(l));
    }
  }
  const rows = [];
  const qemu = [];
  for (const d of docs) {
    if (!d || !Array.isArray(d.benchmarks)) continue;
    rows.push(...d.benchmarks);
    if (Array.isArray(d.qemu)) qemu.push(...d.qemu);
  }
  return { rows, qemu };
}

/** A figure with 3 significant digits and a k / M / G suffix (as the suites' tables print it). */
function fmt(x) {
  if (typeof x !== 'number' || !Number.isFinite(x)) return '–';
  const a = Math.abs(x);
  if (a >= 1e9) return `${(x / 1e9).toPrecision(3)} G`;
  if (a >= 1e6) return `${(x / 1e6).toPrecision(3)} M`;
  if (a >= 1e4) return `${(x / 1e3).toPrecision(3)} k`;
  if (a >= 100) return x.toFixed(0);
  if (a === 0) return '0';
  return x.toPrecision(3);
}

/** A ratio: 3 significant digits. */
const ratio = (x) => (typeof x === 'number' && Number.isFinite(x) ? x.toPrecision(3) : '–');
const esc = (s) => String(s).replace(/\|/g, '\\|');

const SCALING = /^scaling (\S+) (.+) (\d+) vs (\d+)$/;
const WORKLOAD = /^model\/([^/]+)\/(.+)$/;
const QEMU = /^qemu peer: /;
const PASSTHROUGH = /^passthrough (busy|idle) (\S+) (exits\/irq|ns\/irq) \(gic-v4 vs gic-v3\)$/;

/** Which table a row belongs to. */
function kindOf(r) {
  if (SCALING.test(r.name)) return 'scaling';
  if (WORKLOAD.test(r.name)) return 'workloads';
  if (QEMU.test(r.name)) return 'qemu';
  if (PASSTHROUGH.test(r.name)) return 'passthrough';
  return 'rows';
}

function tableRows(rows) {
  const out = ['| benchmark | median | min – max | baseline | ratio | better |', '|---|---:|---:|---:|---:|---|'];
  for (const r of rows)
    out.push(
      `| ${esc(r.name)} | ${fmt(r.median ?? r.value)} ${r.unit} | ${fmt(r.min)} – ${fmt(r.max)} | ${fmt(r.baseline)} ${r.unit} | ${ratio(r.ratio)} | ${r.better} |`,
    );
  return out;
}

function tableWorkloads(rows) {
  const workloads = [];
  const chips = [];
  const at = new Map();
  for (const r of rows) {
    const [, w, chip] = WORKLOAD.exec(r.name);
    if (!workloads.includes(w)) workloads.push(w);
    if (!chips.includes(chip)) chips.push(chip);
    at.set(`${w}\n${chip}`, r);
  }
  const unit = rows[0].unit;
  const out = [
    `| controller | ${workloads.map((w) => `${w} (${unit}, median [min – max]) | ratio`).join(' | ')} |`,
    `|---|${workloads.map(() => '---:|---:').join('|')}|`,
  ];
  for (const c of chips) {
    const cells = workloads.map((w) => {
      const r = at.get(`${w}\n${c}`);
      return r ? `${fmt(r.median ?? r.value)} [${fmt(r.min)} – ${fmt(r.max)}] | ${ratio(r.ratio)}` : '– | –';
    });
    out.push(`| ${c} | ${cells.join(' | ')} |`);
  }
  return out;
}

function tableScaling(rows) {
  const families = []; // { what, ref, byChip: Map(chip → [{x, r}]) }
  const chips = [];
  for (const r of rows) {
    const [, chip, what, x, ref] = SCALING.exec(r.name);
    let f = families.find((g) => g.what === what && g.ref === ref);
    if (!f) families.push((f = { what, ref, byChip: new Map() }));
    if (!chips.includes(chip)) chips.push(chip);
    if (!f.byChip.has(chip)) f.byChip.set(chip, []);
    f.byChip.get(chip).push({ x: Number(x), r });
  }
  // a fixed order, whichever suite printed first: the GICs, then the others as they came
  const CHIP_ORDER = ['gic-v3', 'gic-v4.1', 'gic-v4', 'gic-v2', 'rvic'];
  const rank = (c) => (CHIP_ORDER.includes(c) ? CHIP_ORDER.indexOf(c) : CHIP_ORDER.length);
  chips.sort((a, b) => rank(a) - rank(b));
  const FAMILY_ORDER = [/^pending SPIs/, /^pending LPIs/, /^vCPUs/];
  const frank = (f) => {
    const i = FAMILY_ORDER.findIndex((re) => re.test(f.what));
    return i < 0 ? FAMILY_ORDER.length : i;
  };
  families.sort((a, b) => frank(a) - frank(b));
  const out = [
    `| family: ${rows[0].unit} at each point / at the reference point (median of repetitions) | ${chips.join(' | ')} |`,
    `|---|${chips.map(() => '---').join('|')}|`,
  ];
  for (const f of families) {
    const pointSets = chips.filter((c) => f.byChip.has(c)).map((c) => [c, f.byChip.get(c).map((p) => p.x)]);
    const first = pointSets[0][1].join(' / ');
    const others = pointSets.filter(([, xs]) => xs.join(' / ') !== first).map(([c, xs]) => `${c}: ${xs.join(' / ')}`);
    const label = `${f.what} ${first} vs ${f.ref}${others.length ? ` (${others.join('; ')})` : ''}`;
    const cells = chips.map((c) =>
      f.byChip.has(c)
        ? f.byChip
            .get(c)
            .map((p) => ratio(p.r.ratio))
            .join(' / ')
        : '–',
    );
    out.push(`| ${esc(label)} | ${cells.join(' | ')} |`);
  }
  return out;
}

function tableQemu(rows, qemu) {
  const out = ['| shape | irqflow (median, min – max) | QEMU (median, min – max) | irqflow / QEMU |', '|---|---|---|---:|'];
  for (const r of rows) {
    const q = qemu.find((x) => x.name === r.name);
    const peer = q ? `${fmt(q.median)} ${r.unit} (${fmt(q.min)} – ${fmt(q.max)})` : `${fmt(r.baseline)} ${r.unit}`;
    out.push(
      `| ${esc(r.name.replace(QEMU, ''))} | ${fmt(r.median ?? r.value)} ${r.unit} (${fmt(r.min)} – ${fmt(r.max)}) | ${peer} | ${ratio(r.ratio)} |`,
    );
  }
  return out;
}

function tablePassthrough(rows) {
  const keys = [];
  const at = new Map();
  for (const r of rows) {
    const [, shape, profile, what] = PASSTHROUGH.exec(r.name);
    const k = `${profile}\n${shape}`;
    if (!keys.includes(k)) keys.push(k);
    at.set(`${k}\n${what}`, r);
  }
  const out = [
    '| profile | guest | exits/irq gic-v4 | exits/irq gic-v3 | sim ns/irq gic-v4 | sim ns/irq gic-v3 | ns ratio |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const k of keys) {
    const [profile, shape] = k.split('\n');
    const e = at.get(`${k}\nexits/irq`);
    const n = at.get(`${k}\nns/irq`);
    const two = (x) => (typeof x === 'number' ? x.toFixed(2) : '–');
    out.push(
      `| ${profile} | ${shape} | ${two(e?.value)} | ${two(e?.baseline)} | ${n ? fmt(n.value) : '–'} | ${n ? fmt(n.baseline) : '–'} | ${n ? ratio(n.ratio) : '–'} |`,
    );
  }
  return out;
}

/** The table of `kind` for the parsed bench output, as markdown lines, or null when it has no rows. */
function renderTable(kind, parsed) {
  const rows = parsed.rows.filter((r) => kindOf(r) === kind);
  if (rows.length === 0) return null;
  switch (kind) {
    case 'rows':
      return tableRows(rows);
    case 'workloads':
      return tableWorkloads(rows);
    case 'scaling':
      return tableScaling(rows);
    case 'qemu':
      return tableQemu(rows, parsed.qemu);
    case 'passthrough':
      return tablePassthrough(rows);
    default:
      throw new Error(`unknown table kind ${kind}`);
  }
}

const KINDS = ['rows', 'workloads', 'scaling', 'qemu', 'passthrough'];

/**
 * `doc` with every marked table replaced from `parsed`. @returns { text, replaced: kinds, kept: kinds }
 * @throws Error for an unknown kind, an unclosed marker, or a doc without any marker
 */
function rewriteDoc(doc, parsed) {
  // markers are whole lines (a marker quoted in the prose, mid-line, is not one)
  const re = /^<!-- perf-doc:begin (\S+) -->\n([\s\S]*?)^<!-- perf-doc:end (\S+) -->$/gm;
  const replaced = [];
  const kept = [];
  let found = 0;
  const text = doc.replace(re, (all, kind, _old, endKind) => {
    found++;
    if (kind !== endKind) throw new Error(`perf-doc:begin ${kind} is closed by perf-doc:end ${endKind}`);
    if (!KINDS.includes(kind)) throw new Error(`unknown table kind ${kind} (kinds: ${KINDS.join(', ')})`);
    const t = renderTable(kind, parsed);
    if (t === null) {
      kept.push(kind);
      return all;
    }
    replaced.push(kind);
    return `<!-- perf-doc:begin ${kind} -->\n${t.join('\n')}\n<!-- perf-doc:end ${kind} -->`;
  });
  const begins = (doc.match(/^<!-- perf-doc:begin /gm) || []).length;
  if (begins !== found) throw new Error(`${begins - found} perf-doc:begin marker(s) without a matching end`);
  if (found === 0) throw new Error('no <!-- perf-doc:begin KIND --> markers in the doc');
  return { text, replaced, kept };
}

function main(argv) {
  const usage = 'usage: node scripts/perf-doc.js BENCH.json [--doc DOC.md] [--out OUT.md]';
  const opt = (name) => {
    const i = argv.indexOf(name);
    if (i < 0) return undefined;
    if (i + 1 >= argv.length) throw new Error(`${name} needs a file`);
    return argv.splice(i, 2)[1];
  };
  const docFile = opt('--doc') ?? path.join(__dirname, '..', 'docs', 'guides', 'performance.md');
  const outFile = opt('--out') ?? docFile;
  if (argv.length !== 1 || argv[0].startsWith('-')) throw new Error(usage);
  const parsed = parseBenchOutput(fs.readFileSync(argv[0], 'utf8'));
  if (parsed.rows.length === 0) throw new Error(`${argv[0]}: no benchmark rows`);
  const r = rewriteDoc(fs.readFileSync(docFile, 'utf8'), parsed);
  fs.writeFileSync(outFile, r.text);
  console.error(
    `perf-doc: ${outFile}: regenerated ${r.replaced.join(', ') || 'nothing'}${r.kept.length ? `; no rows for ${r.kept.join(', ')} (kept as it was)` : ''}`,
  );
}

module.exports = { parseBenchOutput, rewriteDoc, renderTable, kindOf };

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    console.error(`perf-doc: ${err.message}`);
    process.exit(2);
  }
}
