/**
 * The SGI hot path allocates nothing per interrupt: a GICv3 IPI ping-pong between two vCPUs — the trapped
 * ICC_SGI1R_EL1 write, queue and kick, wake, list-register flush, the untrapped ICC_IAR1_EL1 / ICC_EOIR1_EL1,
 * fold — run by `vm.run({ until })` in steps.
 *
 * support/sgi-allocation-probe.js runs it in a node process of its own against the built packages (`npm test`
 * builds first) and measures with V8's sampling heap profiler, objects later collected included, once the code
 * is optimized (jest's module sandbox changes how V8 optimizes the code under test).
 *
 * What it guards against: the scheduler's loop wrote +Infinity as the global `Infinity` on branches this
 * workload never takes (no vCPU idle, no `only`); V8 left those loads generic, and merging their untyped result
 * with a vCPU's clock boxed the clock on the heap at every slice — 48 bytes per interrupt.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

jest.setTimeout(60_000);

describe('SGI hot path: no allocation per interrupt', () => {
  it('under 2 bytes per IPI in the model once optimized (48 with the clock boxed per slice)', () => {
    const probe = path.join(__dirname, 'support', 'sgi-allocation-probe.js');
    const r = spawnSync(process.execPath, [probe], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const m = JSON.parse(r.stdout) as { bytesPerIrq: number; irqs: number };
    expect(m.irqs).toBeGreaterThan(100_000);
    expect(m.bytesPerIrq).toBeLessThan(2);
  });
});
