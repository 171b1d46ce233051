/**
 * Heap per mapped event (src/bench/its-heap.bench.ts): the ITS keeps a device's ITEs as one sorted typed array
 * (itt.ts), not an object and a map entry per event. The probe runs against the built packages (`npm test` builds
 * first) in a node process of its own with --expose-gc, so the measurement is a full-GC heap difference with
 * nothing else alive; here at 16 k devices × 32 events (the bench row is 64 k × 32). Objects per event held
 * about 115 bytes per event at this size (90 at 64 k × 32).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

jest.setTimeout(120_000);

describe('ITS heap per mapped event', () => {
  it('16 k devices × 32 events hold at most 64 bytes of heap per mapped event', () => {
    const probe = path.resolve(__dirname, '..', '..', 'dist', 'bench', 'its-heap.bench.js');
    const r = spawnSync(process.execPath, ['--expose-gc', probe, '--measure', '--devices=16384', '--events=32'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const m = JSON.parse(r.stdout) as { bytesPerEvent: number; ites: number };
    expect(m.ites).toBe(16384 * 32);
    expect(m.bytesPerEvent).toBeLessThanOrEqual(64);
  });
});
