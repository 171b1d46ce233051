/**
 * Export of a {@link TraceBuffer} to the Chrome trace-event JSON format, which Perfetto (ui.perfetto.dev) and
 * chrome://tracing open: one process per VM, one thread per vCPU (plus a "host" thread for VM-wide events),
 * timestamps in µs of simulated time. Exits become complete ("X") events lasting their cost; everything else
 * is an instant ("i") event.
 *
 * @module
 */
import { EXIT_REASON_NAMES } from '../stats/counters';
import { TraceBuffer, TraceKind, TRACE_KIND_NAMES } from './trace';

/** One Chrome trace event. */
export interface ChromeTraceEvent {
  /** Event name. */
  name: string;
  /** Category. */
  cat: string;
  /** Phase: "X" complete, "i" instant, "M" metadata. */
  ph: 'X' | 'i' | 'M';
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

/**
 * Converts a trace buffer to Chrome trace-event JSON.
 * @param buf - the trace
 * @param vmNames - display name per VM id (process name)
 */
export function toChromeTrace(buf: TraceBuffer, vmNames: ReadonlyMap<number, string> = new Map()): ChromeTrace {
  const ev: ChromeTraceEvent[] = [];
  const threads = new Set<string>();
  for (let i = 0; i < buf.length; i++) {
    const e = buf.at(i);
    const pid = e.vm + 1;
    const tid = e.vcpu + 1;
    const key = `${pid}:${tid}`;
    if (!threads.has(key)) {
      threads.add(key);
      ev.push({ name: 'thread_name', cat: '__metadata', ph: 'M', ts: 0, pid, tid, args: { name: e.vcpu < 0 ? 'host' : `vcpu${e.vcpu}` } });
      if (!threads.has(`${pid}`)) {
        threads.add(`${pid}`);
        ev.push({ name: 'process_name', cat: '__metadata', ph: 'M', ts: 0, pid, tid: 0, args: { name: vmNames.get(e.vm) ?? `vm${e.vm}` } });
      }
    }
    const ts = e.t / 1000;
    if (e.kind === TraceKind.Exit) {
      ev.push({ name: `exit:${EXIT_REASON_NAMES[e.a] ?? e.a}`, cat: 'exit', ph: 'X', ts, dur: e.b / 1000, pid, tid, args: { costNs: e.b } });
    } else {
      const name = TRACE_KIND_NAMES[e.kind] ?? `k${e.kind}`;
      ev.push({ name, cat: 'irq', ph: 'i', s: 't', ts, pid, tid, args: { a: e.a, b: e.b } });
    }
  }
  return { traceEvents: ev, displayTimeUnit: 'ns', otherData: { tool: 'irqflow', dropped: buf.dropped } };
}
