/**
 * `irqflow sweep` end to end (spawned built CLI): the cross product lands in results.csv and results.jsonl
 * one row per point, seeds give a distribution, charts are drawn per metric, and an interrupted sweep
 * resumes without redoing finished points.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseJson, type SweepRow } from '../support/cli-json';
import { ensureBuilt, irqflow } from '../support/spawn-cli';

jest.setTimeout(180_000);

export const SWEEP_ARGS = ['sweep', '--irqchip', 'gic-v3,rvic', '--workload', 'ipi-pingpong', '--vcpus', '2,4', '--seeds', '3', '--quiet'];

describe('irqflow sweep', () => {
  let tmp: string;
  beforeAll(() => {
    ensureBuilt();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'irqflow-sweep-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('gic-v3,rvic × ipi-pingpong × 2,4 vCPUs × 3 seeds: 12 rows, seeds differ, charts, then resume', () => {
    const out = path.join(tmp, 'a');
    const r = irqflow([...SWEEP_ARGS, '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ points: 12, ran: 12, ok: 12, failed: 0 });
    const jsonl = fs.readFileSync(path.join(out, 'results.jsonl'), 'utf8');
    const rows = jsonl
      .trim()
      .split('\n')
      .map((l) => parseJson<SweepRow>(l));
    expect(rows).toHaveLength(12);
    const csv = fs.readFileSync(path.join(out, 'results.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(13);
    const head = csv[0].split(',');
    expect(head.slice(0, 13)).toEqual([
      'irqchip',
      'workload',
      'profile',
      'vcpus',
      'lrs',
      'seed',
      'durationNs',
      'status',
      'sent',
      'interrupts',
      'exits',
      'exitsPerInterrupt',
      'simNsPerInterrupt',
    ]);
    for (const row of rows) {
      expect(row).toMatchObject({ workload: 'ipi-pingpong', status: 'ok', lrs: null });
      expect(row.interrupts).toBe(row.vcpus * 200);
      expect(typeof row.exitsPerInterrupt).toBe('number');
      expect(typeof row.simNsPerInterrupt).toBe('number');
    }
    const combos = new Set(rows.map((x) => `${x.irqchip}/${x.vcpus}/${x.seed}`));
    expect(combos.size).toBe(12);
    // seeds give a distribution: for every controller and vCPU count the three seeds are not all equal
    for (const chip of ['gic-v3', 'rvic'])
      for (const v of [2, 4]) {
        const ns = rows.filter((x) => x.irqchip === chip && x.vcpus === v).map((x) => x.simNsPerInterrupt);
        expect(new Set(ns).size).toBeGreaterThan(1);
      }
    const svgs = fs
      .readdirSync(out)
      .filter((f) => f.endsWith('.svg'))
      .sort();
    expect(svgs).toEqual(['ipi-pingpong-gicv3-vhe-exits-per-interrupt.svg', 'ipi-pingpong-gicv3-vhe-ns-per-interrupt.svg']);
    const svg = fs.readFileSync(path.join(out, svgs[1]), 'utf8');
    expect(svg).toContain('>gic-v3</text>');
    expect(svg).toContain('>rvic</text>');
    expect(svg).toMatch(/<polygon points=[^>]*fill-opacity/); // the spread across seeds
    expect(svg).toMatch(/3 seeds\)/);

    // Resume: a finished sweep runs nothing; an interrupted one (rows missing, last line torn) runs the rest.
    const again = irqflow([...SWEEP_ARGS, '--out', out, '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ points: 12, ran: 0, resumed: 12 });
    const lines = jsonl.trim().split('\n');
    fs.writeFileSync(path.join(out, 'results.jsonl'), lines.slice(0, 7).join('\n') + '\n' + lines[7].slice(0, 20));
    const resumed = irqflow([...SWEEP_ARGS, '--out', out, '--json']);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ points: 12, ran: 5, resumed: 7, ok: 12 });
    expect(fs.readFileSync(path.join(out, 'results.jsonl'), 'utf8')).toBe(jsonl);
  });

  it('--lrs adds a dimension, --jobs 0 runs in-process and gives the same rows as threads', () => {
    const base = [
      'sweep',
      '--irqchip',
      'gic-v3',
      '--workload',
      'ipi-pingpong',
      '--vcpus',
      '2',
      '--lrs',
      '1,4',
      '--duration',
      '5ms',
      '--quiet',
    ];
    const a = irqflow([...base, '--out', path.join(tmp, 'b'), '--jobs', '0']);
    const b = irqflow([...base, '--out', path.join(tmp, 'c'), '--jobs', '2']);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    const rows = fs.readFileSync(path.join(tmp, 'b', 'results.jsonl'), 'utf8');
    expect(rows).toBe(fs.readFileSync(path.join(tmp, 'c', 'results.jsonl'), 'utf8'));
    expect(
      rows
        .trim()
        .split('\n')
        .map((l) => parseJson<SweepRow>(l).lrs),
    ).toEqual([1, 4]);
    expect(fs.readdirSync(path.join(tmp, 'b')).filter((f) => f.endsWith('.svg'))).toHaveLength(4);
  });
});
