/**
 * `irqflow sweep --queue` against a real redis-server (Debian's package) that the test starts on a free
 * loopback port: two `irqflow worker` processes take the points, and the rows are the same as a local sweep's.
 * Skips — with a message saying so — only when no redis-server binary can be found.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureBuilt, irqflow, irqflowBackground } from '../support/spawn-cli';

jest.setTimeout(180_000);

const SWEEP = ['sweep', '--irqchip', 'gic-v3,rvic', '--workload', 'ipi-pingpong', '--vcpus', '2,4', '--seeds', '3', '--quiet'];

/** The redis-server binary; null only when none is installed (a binary that exists but fails is an error). */
function findRedis(): string | null {
  for (const c of ['redis-server', '/usr/bin/redis-server', '/usr/local/bin/redis-server', '/usr/sbin/redis-server']) {
    const r = spawnSync(c, ['--version'], { encoding: 'utf8' });
    if (r.error !== undefined && 'code' in r.error && r.error.code === 'ENOENT') continue;
    if (r.error || r.status !== 0) throw new Error(`${c} --version failed: ${r.error?.message ?? r.stderr}`);
    return c;
  }
  return null;
}

const REDIS = findRedis();
if (!REDIS)
  console.warn('queue.test.ts: SKIPPED — no redis-server binary found (install Debian’s redis-server: apt-get install -y redis-server)');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => (c.end(), resolve(true)));
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`redis-server did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

(REDIS ? describe : describe.skip)('irqflow sweep --queue with two irqflow workers (real redis-server)', () => {
  let tmp: string;
  let redis: ChildProcess;
  let url: string;
  beforeAll(async () => {
    ensureBuilt();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'irqflow-queue-'));
    const port = await freePort();
    redis = spawn(REDIS!, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmp], {
      stdio: 'ignore',
    });
    await waitForPort(port, 10_000);
    url = `redis://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    if (redis && redis.exitCode === null) {
      const gone = new Promise((r) => redis.once('exit', r));
      redis.kill('SIGTERM');
      await gone;
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('gives the same 12 rows as the local sweep', async () => {
    const local = irqflow([...SWEEP, '--out', path.join(tmp, 'local')]);
    expect(local.code).toBe(0);
    const workers = [irqflowBackground(['worker', '--queue', url]), irqflowBackground(['worker', '--queue', url])];
    try {
      const r = await new Promise<{ code: number; out: string }>((resolve) => {
        const p = irqflowBackground([...SWEEP, '--out', path.join(tmp, 'queued'), '--queue', url, '--json']);
        void p.exited.then((code) => resolve({ code, out: p.output() }));
      });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out)).toMatchObject({ points: 12, ran: 12, ok: 12 });
    } finally {
      for (const w of workers) w.child.kill('SIGTERM');
    }
    const codes = await Promise.all(workers.map((w) => w.exited));
    expect(codes).toEqual([0, 0]);
    const done = workers.map((w) => Number(/stopped after (\d+) points/.exec(w.output())?.[1] ?? NaN));
    expect(done[0] + done[1]).toBe(12);
    const a = fs.readFileSync(path.join(tmp, 'local', 'results.jsonl'), 'utf8');
    expect(a.trim().split('\n')).toHaveLength(12);
    expect(fs.readFileSync(path.join(tmp, 'queued', 'results.jsonl'), 'utf8')).toBe(a);
    expect(fs.readFileSync(path.join(tmp, 'queued', 'results.csv'), 'utf8')).toBe(
      fs.readFileSync(path.join(tmp, 'local', 'results.csv'), 'utf8'),
    );
  });
});
