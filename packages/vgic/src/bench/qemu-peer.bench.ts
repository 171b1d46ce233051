/**
 * A peer for the benchmark suite: the same two interrupt shapes run by irqflow and by QEMU's TCG with its own
 * GICv3 model (`qemu-system-aarch64 -M virt,gic-version=3`), in one run, as guest interrupts per host second:
 *
 * - SGI ping-pong between 2 vCPUs (irqflow: core's {@link pingPongShape} on "gic-v3"; QEMU: the guest of
 *   support/qemu-guest.ts with SHAPE=0), once under single-threaded TCG and once under MTTCG (one host thread
 *   per vCPU);
 * - LPIs through the ITS on one vCPU, one at a time (irqflow: {@link pendingShape} with one LPI that each EOI
 *   signals again with KVM_SIGNAL_MSI; QEMU: the guest's handler queues an ITS INT command for the next one).
 *
 * Each row's value is irqflow's rate (min/median/max of its repetitions), the baseline QEMU's median, and the
 * ratio irqflow / QEMU. QEMU's rate is the guest's own count over the guest's CNTVCT_EL0 ticks between the
 * first send and the last completion, so QEMU's start-up and the guest's boot are not in it. QEMU and irqflow
 * measurements alternate, and both sides are measured over the same duration: after each QEMU run, irqflow runs
 * repetitions (of up to 50,000 interrupts each) until they total that QEMU process's wall time, and its
 * measurement is their median (one short burst right after QEMU exits would see a cache and JIT state QEMU
 * disturbed, and a host far noisier than over a second). The guest is assembled at run time with the Debian
 * aarch64 binutils.
 *
 * Without qemu-system-aarch64 or aarch64-linux-gnu-as/-ld on PATH it says what is missing and how to install
 * it, prints no rows and exits 0. `--json`, `--quick` (fewer interrupts, one repetition), `--filter NAME`.
 *
 * @module
 */
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  benchArgs,
  benchRow,
  Hypervisor,
  pendingShape,
  pingPongShape,
  printBench,
  spread,
  warmUp,
  type BenchmarkEntry,
  type BenchShape,
} from '@irqflow/core';
import { VgicPlugin } from '../plugin';
import { QEMU_GUEST_ASM } from './support/qemu-guest';

/** The tools the peer needs. */
export const QEMU_PEER_TOOLS = ['qemu-system-aarch64', 'aarch64-linux-gnu-as', 'aarch64-linux-gnu-ld'] as const;

/** How to install them (Debian/Ubuntu). */
export const QEMU_PEER_INSTALL = 'apt-get install -y qemu-system-arm binutils-aarch64-linux-gnu';

/** The first of `tools` not found on PATH, or undefined. */
export function missingTool(tools: readonly string[] = QEMU_PEER_TOOLS): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  return tools.find((t) => !dirs.some((d) => fs.existsSync(path.join(d, t))));
}

/** One QEMU configuration of a shape. */
interface QemuShape {
  name: string;
  shape: 0 | 1;
  smp: number;
  thread: 'single' | 'multi';
}

const QEMU_SHAPES: readonly QemuShape[] = [
  { name: 'SGI ping-pong, 2 vCPUs, vs QEMU TCG single-threaded', shape: 0, smp: 2, thread: 'single' },
  { name: 'SGI ping-pong, 2 vCPUs, vs QEMU MTTCG', shape: 0, smp: 2, thread: 'multi' },
  { name: 'LPI through the ITS, 1 vCPU, vs QEMU TCG', shape: 1, smp: 1, thread: 'single' },
];

/** Assembles and links the guest for `shape` with `n` interrupts into `dir`. @returns the ELF's path */
function buildGuest(dir: string, shape: 0 | 1, n: number): string {
  const src = path.join(dir, 'guest.s');
  if (!fs.existsSync(src)) fs.writeFileSync(src, QEMU_GUEST_ASM);
  const obj = path.join(dir, `guest-${shape}-${n}.o`);
  const elf = path.join(dir, `guest-${shape}-${n}.elf`);
  if (fs.existsSync(elf)) return elf;
  const as = spawnSync('aarch64-linux-gnu-as', ['--defsym', `SHAPE=${shape}`, '--defsym', `N=${n}`, '-o', obj, src], { encoding: 'utf8' });
  if (as.status !== 0) throw new Error(`aarch64-linux-gnu-as failed: ${as.stderr.trim()}`);
  const ld = spawnSync('aarch64-linux-gnu-ld', ['-Ttext=0x40080000', '-e', '_start', '-o', elf, obj], { encoding: 'utf8' });
  if (ld.status !== 0) throw new Error(`aarch64-linux-gnu-ld failed: ${ld.stderr.trim()}`);
  return elf;
}

/** What one QEMU run reported. */
interface QemuRun {
  /** Interrupts the guest counted. */
  count: number;
  /** Guest interrupts per host second (guest counter ticks between first send and last completion). */
  rate: number;
  /** Host wall time of the whole QEMU process (ns): what irqflow's measurement beside it lasts. */
  wallNs: number;
}

/** Runs the guest under QEMU. @throws Error if QEMU fails, times out or the guest reports no count */
function runQemu(elf: string, q: QemuShape): QemuRun {
  const t0 = process.hrtime.bigint();
  const args = ['-M', 'virt,gic-version=3', '-cpu', 'cortex-a57', '-smp', String(q.smp), '-m', '256M'];
  args.push('-display', 'none', '-monitor', 'none', '-serial', 'stdio', '-kernel', elf, '-accel', `tcg,thread=${q.thread}`);
  const r = spawnSync('qemu-system-aarch64', args, { encoding: 'utf8', timeout: 120_000 });
  const m = /IRQFLOW-PEER count=([0-9a-f]+) ticks=([0-9a-f]+) freq=([0-9a-f]+)/.exec(r.stdout ?? '');
  if (r.status !== 0 || !m)
    throw new Error(`qemu-system-aarch64 ${r.signal ?? `exit ${r.status}`}: ${(r.stdout + r.stderr).trim().slice(-300)}`);
  const [count, ticks, freq] = [m[1], m[2], m[3]].map((h) => parseInt(h, 16));
  return { count, rate: count / (ticks / freq), wallNs: Number(process.hrtime.bigint() - t0) };
}

/**
 * irqflow's measurement beside one QEMU run: repetitions of `irqs` interrupts until they total `ns` of wall time
 * (at least one), as interrupts per host second, their median.
 */
function measureFor(s: BenchShape, irqs: number, ns: number): number {
  const rates: number[] = [];
  let spent = 0;
  do {
    const t = process.hrtime.bigint();
    rates.push(1e9 / s.rep(irqs));
    spent += Number(process.hrtime.bigint() - t);
  } while (spent < ns);
  return spread(rates).median;
}

/** irqflow's side of a shape: a VM built once, run in repetitions. */
function irqflowShape(shape: 0 | 1): BenchShape {
  const hv = new Hypervisor({ traceCapacity: 16 }).use(VgicPlugin);
  return shape === 0 ? pingPongShape(hv, 'gic-v3', 2) : pendingShape(hv, 'gic-v3', 'lpi', 1, { vcpus: 1 });
}

/** The QEMU figures of one row (in the JSON beside the rows). */
export interface QemuFigures {
  /** The row's name. */
  name: string;
  /** QEMU's guest interrupts per host second over its repetitions. */
  min: number;
  median: number;
  max: number;
  /** Interrupts per QEMU run. */
  interrupts: number;
}

/** Runs the peer benchmark. @returns the rows and QEMU's figures */
export function qemuPeer(quick: boolean, filter?: string): { rows: BenchmarkEntry[]; qemu: QemuFigures[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irqflow-qemu-peer-'));
  const rows: BenchmarkEntry[] = [];
  const qemu: QemuFigures[] = [];
  try {
    const shapes: (BenchShape | undefined)[] = [];
    for (const q of QEMU_SHAPES) {
      const name = `qemu peer: ${q.name}`;
      if (filter && !name.includes(filter)) continue;
      // a QEMU run of about a second (a tenth with --quick), calibrated on a short one
      const probe = runQemu(buildGuest(dir, q.shape, 2000), q);
      const n = Math.max(2000, Math.min(5_000_000, Math.round((probe.rate * (quick ? 0.1 : 1)) / 2) * 2));
      const elf = buildGuest(dir, q.shape, n);
      const s = (shapes[q.shape] ??= irqflowShape(q.shape));
      const irqs = Math.min(n, quick ? 2000 : 50_000);
      warmUp(() => s.rep(irqs), quick ? { minMs: 30, maxMs: 300 } : { minMs: 300, maxMs: 3000 });
      const ours: number[] = [];
      const theirs: number[] = [];
      for (let i = 0; i < (quick ? 1 : 3); i++) {
        const r = runQemu(elf, q);
        if (r.count !== n) throw new Error(`${name}: the guest counted ${r.count} of ${n} interrupts`);
        theirs.push(r.rate);
        ours.push(measureFor(s, irqs, r.wallNs));
      }
      const t = spread(theirs);
      rows.push(benchRow(name, 'irq/s', 'higher', ours, t.median));
      qemu.push({ name, ...t, interrupts: n });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { rows, qemu };
}

function main(argv: readonly string[]): void {
  const args = benchArgs(argv);
  const missing = missingTool();
  if (missing) {
    const msg = `qemu peer skipped: ${missing} is not installed; install with: ${QEMU_PEER_INSTALL}`;
    console.error(msg);
    if (args.json) printBench(args, [], { skipped: msg });
    return;
  }
  const version = spawnSync('qemu-system-aarch64', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
  const { rows, qemu } = qemuPeer(args.quick, args.filter);
  if (args.json) {
    printBench(args, rows, { qemu, qemuVersion: version });
    return;
  }
  console.log(`${version}; value = irqflow, baseline = QEMU, ratio = irqflow / QEMU (guest interrupts per host second)`);
  printBench(args, rows);
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    console.error(`qemu-peer.bench: ${(err as Error).message}`);
    process.exit(1);
  }
}
