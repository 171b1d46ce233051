/**
 * Export of a {@link TraceBuffer} to the Chrome trace-event JSON format, which Perfetto (ui.perfetto.dev) and
 * chrome://tracing open: one process per VM, one thread per vCPU (plus a "host" thread for VM-wide events),
 * timestamps in µs of simulated time.
 *
 * - Duration ("X") slices: exits (lasting their cost), time running in the guest between exits ("guest"),
 *   and time blocked in WFI ("blocked", from the block to the wake).
 * - Instants ("i") for controller events, with named arguments: `intid` and `vcpu` for inject, LR load/fold,
 *   acknowledge, EOI, deactivate and MSI translation; hex `fid` for hypercalls, hex `data` for MSIs, the
 *   command name with `devid`/`eventid` for ITS commands.
 * - Flow arrows ("s" → "f") from each cause — a kick, an IPI send, an MSI translation — to the next IRQ
 *   exception the target vCPU takes after it; the cause is a zero-length slice on the sending track
 *   ("kick", "ipi-send", "msi") and the IRQ one on the target's ("irq").
 * - Counters ("C") per vCPU: pending interrupts and list registers in use, where the controller samples them.
 *
 * @module
 */
import { EXIT_REASON_NAMES } from '../stats/counters';
import { type TraceBuffer, TraceKind, TRACE_KIND_NAMES } from './trace';

/** One Chrome trace event. */
export interface ChromeTraceEvent {
  /** Event name. */
  name: string;
  /** Category. */
  cat: string;
  /** Phase: "X" complete, "i" instant, "M" metadata, "C" counter, "s"/"f" flow start/end. */
  ph: 'X' | 'i' | 'M' | 'C' | 's' | 'f';
  /** Timestamp in µs. */
  ts: number;
  /** Duration in µs (complete events). */
  dur?: number;
  /** Process id (VM id + 1). */
  pid: number;
  /** Thread id (vCPU index + 1, 0 = host). */
  tid: number;
  /** Instant-event scope. */
  s?: 't';
  /** Flow id (flow events). */
  id?: number;
  /** Flow binding point ("e": the enclosing slice). */
  bp?: 'e';
  /** Arguments. */
  args?: Record<string, unknown>;
}

/** The Chrome trace JSON object. */
export interface ChromeTrace {
  /** The events. */
  traceEvents: ChromeTraceEvent[];
  /** Time unit shown by viewers. */
  displayTimeUnit: 'ns' | 'ms';
  /** Extra metadata. */
  otherData: Record<string, unknown>;
}

/** GICv3 ITS command opcodes (GIC architecture specification, ITS command summary; DW0[7:0]), for display. */
const ITS_COMMAND_NAMES: Readonly<Record<number, string>> = {
  0x01: 'MOVI',
  0x03: 'INT',
  0x04: 'CLEAR',
  0x05: 'SYNC',
  0x08: 'MAPD',
  0x09: 'MAPC',
  0x0a: 'MAPTI',
  0x0b: 'MAPI',
  0x0c: 'INV',
  0x0d: 'INVALL',
  0x0e: 'MOVALL',
  0x0f: 'DISCARD',
};

const COUNTER_NAMES = ['pending interrupts', 'LRs in use'];

const hex = (x: number): string => '0x' + (x >>> 0).toString(16);

/** Named arguments of a controller or run-loop instant. */
function argsOf(kind: TraceKind, vcpu: number, a: number, b: number, c: number): Record<string, unknown> {
  switch (kind) {
    case TraceKind.Inject:
      return { intid: a, vcpu, level: b, source: c > 0 ? `vcpu${c - 1}` : 'host' };
    case TraceKind.Queue:
    case TraceKind.Ack:
    case TraceKind.Eoi:
    case TraceKind.Deactivate:
      return { intid: a, vcpu };
    case TraceKind.LrLoad:
      return { intid: a, vcpu, lr: b };
    case TraceKind.LrFold:
      return { intid: a, vcpu, state: lrState(b) };
    case TraceKind.Hypercall:
      return { fid: hex(a), x0: hex(b) };
    case TraceKind.Msi:
      return { data: hex(a), result: b };
    case TraceKind.Timer:
      return { intid: a, vcpu, level: b };
    case TraceKind.ItsCommand:
      return { command: ITS_COMMAND_NAMES[a] ?? hex(a), devid: b, eventid: c };
    case TraceKind.MsiTranslate:
      return { devid: a, eventid: b, intid: c, vcpu };
    case TraceKind.Custom:
      return a === 0xfa ? { fault: 'sync', pc: hex(b) } : { a: hex(a), b: hex(b) };
    default:
      return { a, b };
  }
}

function lrState(bits: number): string {
  const p = (bits & 1) !== 0;
  const a = (bits & 2) !== 0;
  return p && a ? 'pending+active' : p ? 'pending' : a ? 'active' : 'invalid';
}

/**
 * Converts a trace buffer to Chrome trace-event JSON.
 * @param buf - the trace
 * @param vmNames - display name per VM id (process name)
 */
export function toChromeTrace(buf: TraceBuffer, vmNames: ReadonlyMap<number, string> = new Map()): ChromeTrace {
  const ev: ChromeTraceEvent[] = [];
  const threads = new Set<string>();
  /** Per track: where the current guest-running span started (end of the last exit or the wake), or undefined. */
  const guestFrom = new Map<string, number>();
  /** Per track: the last exit slice (shortened when the vCPU blocks before the exit's cost is all paid). */
  const lastExit = new Map<string, ChromeTraceEvent>();
  /** Per target track: flow ids of causes waiting for the target's next IRQ. */
  const waiting = new Map<string, number[]>();
  let flowId = 0;
  const track = (pid: number, tid: number, vcpu: number, vm: number): void => {
    const key = `${pid}:${tid}`;
    if (threads.has(key)) return;
    threads.add(key);
    ev.push({ name: 'thread_name', cat: '__metadata', ph: 'M', ts: 0, pid, tid, args: { name: vcpu < 0 ? 'host' : `vcpu${vcpu}` } });
    if (!threads.has(`${pid}`)) {
      threads.add(`${pid}`);
      ev.push({ name: 'process_name', cat: '__metadata', ph: 'M', ts: 0, pid, tid: 0, args: { name: vmNames.get(vm) ?? `vm${vm}` } });
    }
  };
  const cause = (name: string, pid: number, tid: number, ts: number, targetTid: number, args: Record<string, unknown>): void => {
    const id = ++flowId;
    ev.push({ name, cat: 'cause', ph: 'X', ts, dur: 0, pid, tid, args });
    ev.push({ name: 'irq-cause', cat: 'flow', ph: 's', id, ts, pid, tid });
    const key = `${pid}:${targetTid}`;
    const l = waiting.get(key);
    if (l) l.push(id);
    else waiting.set(key, [id]);
  };
  // Time order, not the buffer's execution order: a vCPU running behind another (the lookahead) records its
  // past after the other's present, and a cause must meet the target's next IRQ in simulated time. Ties keep one
  // track's records in their recorded order and break across tracks by VM and vCPU, so the export does not
  // depend on scheduling.
  const recs = Array.from({ length: buf.length }, (_, i) => buf.at(i));
  const order = recs.map((_, i) => i);
  order.sort((x, y) => recs[x].t - recs[y].t || recs[x].vm - recs[y].vm || recs[x].vcpu - recs[y].vcpu || x - y);
  for (const i of order) {
    const e = recs[i];
    const pid = e.vm + 1;
    const tid = e.vcpu + 1;
    const key = `${pid}:${tid}`;
    track(pid, tid, e.vcpu, e.vm);
    const ts = e.t / 1000;
    switch (e.kind) {
      case TraceKind.Exit: {
        const from = guestFrom.get(key);
        if (from !== undefined && e.t > from)
          ev.push({ name: 'guest', cat: 'guest', ph: 'X', ts: from / 1000, dur: (e.t - from) / 1000, pid, tid });
        const x: ChromeTraceEvent = {
          name: `exit:${EXIT_REASON_NAMES[e.a] ?? e.a}`,
          cat: 'exit',
          ph: 'X',
          ts,
          dur: e.b / 1000,
          pid,
          tid,
          args: { reason: EXIT_REASON_NAMES[e.a] ?? e.a, costNs: e.b },
        };
        ev.push(x);
        lastExit.set(key, x);
        guestFrom.set(key, e.t + e.b);
        continue;
      }
      case TraceKind.Block: {
        guestFrom.delete(key);
        // An exit's cost is paid partly on leaving the guest and the rest on re-entry (EXIT_ENTRY_FRACTION): a
        // vCPU that blocks meanwhile is blocked from here, so its exit slice ends where the blocked time starts.
        const x = lastExit.get(key);
        if (x !== undefined && x.ts + x.dur! > ts) x.dur = Math.max(0, ts - x.ts);
        continue;
      }
      case TraceKind.Wake:
        ev.push({ name: 'blocked', cat: 'blocked', ph: 'X', ts: (e.t - e.b) / 1000, dur: e.b / 1000, pid, tid, args: { ns: e.b } });
        guestFrom.set(key, e.t);
        continue;
      case TraceKind.Counter:
        ev.push({
          name: `vcpu${e.vcpu} ${COUNTER_NAMES[e.a] ?? `counter ${e.a}`}`,
          cat: 'counter',
          ph: 'C',
          ts,
          pid,
          tid: 0,
          args: { value: e.b },
        });
        continue;
      case TraceKind.IrqTaken: {
        ev.push({ name: 'irq', cat: 'irq', ph: 'X', ts, dur: 0, pid, tid, args: { vcpu: e.vcpu } });
        const l = waiting.get(key);
        if (l) {
          for (const id of l) ev.push({ name: 'irq-cause', cat: 'flow', ph: 'f', bp: 'e', id, ts, pid, tid });
          waiting.delete(key);
        }
        continue;
      }
      case TraceKind.Kick:
        track(pid, e.a + 1, e.a, e.vm);
        cause('kick', pid, tid, ts, e.a + 1, { target: `vcpu${e.a}`, wakeup: e.b === 1 });
        continue;
      case TraceKind.Inject:
        if (e.c > 0) {
          track(pid, e.c, e.c - 1, e.vm);
          cause('ipi-send', pid, e.c, ts, tid, { intid: e.a, target: `vcpu${e.vcpu}` });
        }
        break;
      case TraceKind.MsiTranslate:
        track(pid, 0, -1, e.vm);
        cause('msi', pid, 0, ts, tid, { devid: e.a, eventid: e.b, intid: e.c, target: `vcpu${e.vcpu}` });
        break;
    }
    const name = TRACE_KIND_NAMES[e.kind] ?? `k${e.kind}`;
    ev.push({ name, cat: 'irqchip', ph: 'i', s: 't', ts, pid, tid, args: argsOf(e.kind, e.vcpu, e.a, e.b, e.c) });
  }
  return { traceEvents: ev, displayTimeUnit: 'ns', otherData: { tool: 'irqflow', dropped: buf.dropped } };
}
