/** `irqflow microbench` through the built CLI (packages/examples/dist/cli.js, rebuilt from the sources by jest's global setup), and `run --json`'s costBreakdown. */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ensureBuilt } from '../support/spawn-cli';

const root = path.resolve(__dirname, '..', '..', '..', '..');
const cli = path.join(root, 'packages', 'examples', 'dist', 'cli.js');
const irqflow = (args: string[]): { code: number; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, CI: '1' }, timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
};

beforeAll(ensureBuilt);
jest.setTimeout(60_000);

/** What `irqflow microbench --json` prints (the parts these tests read). */
interface MicrobenchDoc {
  rows: { test: string; irqchip: string; profile: string; status: string; costBreakdown: Record<string, number> }[];
  calibration: { error: number }[];
}
/** What `irqflow run --json` prints (the parts these tests read). */
interface RunDoc {
  costBreakdown: Record<string, number>;
  simNsPerInterrupt: number;
}

describe('irqflow microbench', () => {
  it('--json: one row per test × controller × profile, with the calibration check of the rows that ran', () => {
    const r = irqflow(['microbench', '--profile', 'seattle-vhe', '--irqchip', 'gic-v2', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as MicrobenchDoc;
    expect(doc.rows.map((x: { test: string }) => x.test)).toEqual([
      'hvc',
      'mmio_read_user',
      'mmio_read_vgic',
      'eoi',
      'ipi',
      'ipi_wfi',
      'ipi_hw',
      'lpi',
      'timer_10ms',
    ]);
    const ipi = doc.rows.find((x: { test: string }) => x.test === 'ipi')!;
    expect(ipi).toMatchObject({ irqchip: 'gic-v2', profile: 'seattle-vhe', status: 'ok' });
    expect(ipi.costBreakdown.mmioKernel).toBeGreaterThan(0);
    expect(doc.rows.find((x: { test: string }) => x.test === 'lpi')).toMatchObject({ status: 'unsupported' });
    expect(doc.calibration).toHaveLength(1);
    expect(Math.abs(doc.calibration[0].error)).toBeLessThan(0.25);
  });

  // tests time nothing: how long the sweep takes is a benchmark's business (docs/guides/cost-profiles.md gives it)
  it('--json for every controller × profile × test: every row ok or unsupported with a reason, and all five published composites checked', () => {
    const r = irqflow(['microbench', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as MicrobenchDoc & { rows: { reason?: string; ns: number }[] };
    const listed = JSON.parse(irqflow(['list', '--json']).stdout) as { irqchips: { name: string }[]; profiles: { name: string }[] };
    const keys = new Set(doc.rows.map((x) => `${x.test} ${x.irqchip} ${x.profile}`));
    expect(keys.size).toBe(9 * listed.irqchips.length * listed.profiles.length);
    expect(doc.rows.length).toBe(keys.size);
    for (const row of doc.rows) {
      expect(['ok', 'unsupported']).toContain(row.status);
      if (row.status === 'unsupported') expect(row.reason).toMatch(/\w/);
      else expect(row.ns).toBeGreaterThan(0);
    }
    // each test runs somewhere; every controller runs the IPI of its kind and the timer
    for (const t of ['hvc', 'mmio_read_user', 'mmio_read_vgic', 'eoi', 'ipi', 'ipi_wfi', 'ipi_hw', 'lpi', 'timer_10ms'])
      expect(doc.rows.some((x) => x.test === t && x.status === 'ok')).toBe(true);
    for (const c of listed.irqchips)
      for (const t of ['ipi_wfi', 'timer_10ms'])
        expect(doc.rows.filter((x) => x.test === t && x.irqchip === c.name && x.status === 'ok')).toHaveLength(listed.profiles.length);
    expect(doc.calibration).toHaveLength(5);
    for (const c of doc.calibration) expect(Math.abs(c.error)).toBeLessThanOrEqual(0.25);
  });

  it('text output has a table per profile; a bad test name is a usage error naming the choices', () => {
    const r = irqflow(['microbench', '--profile', 'phytium-s2500', '--irqchip', 'gic-v3', '--test', 'ipi']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/profile phytium-s2500/);
    expect(r.stdout).toMatch(/Predicted vs published/);
    const bad = irqflow(['microbench', '--test', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/timer_10ms/);
  });

  it('run --json reports simulated ns per interrupt by named component; the busy ones add up', () => {
    const r = irqflow(['run', '--irqchip', 'gic-v3', '--workload', 'ipi-pingpong', '--json', '--quiet']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as RunDoc;
    const b: Record<string, number> = doc.costBreakdown;
    for (const k of ['sysregTrap', 'sgiDispatch', 'hostIrq', 'wfiWake', 'guest']) expect(b[k]).toBeGreaterThan(0);
    const busy = Object.entries(b)
      .filter(([k]) => k !== 'ipiLatency')
      .reduce((s, [, v]) => s + v, 0);
    expect(busy).toBeCloseTo(doc.simNsPerInterrupt, 0);
  });
});
