/**
 * The LPI hot path allocates nothing per interrupt: KVM_SIGNAL_MSI → translation cache → ap_list → kick/wake →
 * list-register flush → the guest's ICC_IAR1_EL1 / ICC_EOIR1_EL1 → fold → the scheduler's slices.
 *
 * support/lpi-allocation-probe.js runs the ITS benchmark's lpi-stress VM (16 devices × 16 events over 16 vCPUs)
 * in a node process of its own against the built packages (`npm test` builds first), and measures with V8's
 * sampling heap profiler — objects later collected included — once the code is optimized. Jest's module sandbox changes how V8
 * optimizes the code under test, so the measurement does not run in the test process.
 *
 * What it guards against: a number that is not a small integer, passed as an argument to a call the JIT does
 * not inline (or stored into a field whose representation was generalized), is boxed on the heap. The slice limits
 * passed to runSlice did that at every scheduler slice — 17 bytes per LPI, a minor GC every 60 ms — until they
 * moved into fields.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

jest.setTimeout(60_000);

describe('LPI hot path: no allocation per interrupt', () => {
  it('under 2 bytes per LPI in the model once optimized (17 with boxed slice limits), every LPI completed', () => {
    const probe = path.join(__dirname, 'support', 'lpi-allocation-probe.js');
    const r = spawnSync(process.execPath, [probe], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const m = JSON.parse(r.stdout) as { bytesPerLpi: number; lpis: number; completed: number };
    expect(m.lpis).toBe(5000 * 256);
    expect(m.completed).toBe(m.lpis);
    expect(m.bytesPerLpi).toBeLessThan(2);
  });
});
