// The exit report (result.report): why the target ended and what it used. The sandbox
// knows the reasons of the handle (exit, signal, kill(), timeout, abort, maxBuffer); the
// features say, through their sessions, when they ended the target (the OOM killer,
// a seccomp kill) and what they measured (a cgroup's counters). No feature is named here.
import type { FeatureEnding, FeatureSession, FeatureUsage, FeatureVerdict } from '@iso/core';
import type { EndReason, ExitReport, ExitReportField } from './options.js';

/** What the handle saw of the end. */
export interface HandleEnding {
  readonly reason: EndReason;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The handle sent that very signal. */
  readonly signalFromCaller: boolean;
  readonly wallMs: number;
  readonly timeoutMs: number | undefined;
  readonly maxBuffer: number;
}

const USAGE_FIELDS = ['cpu.userUsec', 'cpu.systemUsec', 'cpu.totalUsec', 'memory.peakBytes', 'pids.peak', 'io.readBytes', 'io.writeBytes', 'io.readOps', 'io.writeOps'] as const satisfies readonly ExitReportField[];

function valueOf(usage: FeatureUsage | undefined, field: (typeof USAGE_FIELDS)[number]): number | undefined {
  if (usage === undefined) return undefined;
  const [group, key] = field.split('.') as [keyof Omit<FeatureUsage, 'source' | 'approximate'>, string];
  return (usage[group] as Readonly<Record<string, number | undefined>>)[key];
}

function handleDetail(ending: HandleEnding): string {
  const { exitCode, signal } = ending;
  const how = signal === null ? `it exited with code ${String(exitCode)}` : `it died of ${signal}`;
  switch (ending.reason) {
    case 'exit':
      return `exited with code ${String(exitCode)}`;
    case 'signal':
      return `killed by ${String(signal)}, which the handle did not send (the target itself, a process inside, or another host process)`;
    case 'killed':
      return `ended by kill(): ${how}`;
    case 'timeout':
      return `timed out after ${String(ending.timeoutMs)} ms: ${how}`;
    case 'aborted':
      return `aborted by the signal option: ${how}`;
    case 'maxBuffer':
      return `its output passed maxBuffer (${ending.maxBuffer} bytes): ${how}`;
  }
}

/**
 * The ending the features' verdicts see (with the usage measured), and the report. A
 * reason of the handle's own stands when the handle's signal ended the target, or the
 * target exited after the handle asked it to end; otherwise the first feature (in list
 * order) that claims the end gives the reason.
 */
export function exitReport(ending: HandleEnding, sessions: readonly (readonly [string, FeatureSession<unknown>])[]): { report: ExitReport; featureEnding: FeatureEnding } {
  let usage: FeatureUsage | undefined;
  for (const [, session] of sessions) {
    usage = session.usage?.();
    if (usage !== undefined) break;
  }
  const featureEnding: FeatureEnding = { exitCode: ending.exitCode, signal: ending.signal, signalFromCaller: ending.signalFromCaller, usage };
  const handleDecides = ending.reason !== 'exit' && ending.reason !== 'signal' && (ending.signal === null || ending.signalFromCaller);
  let verdict: { key: string; verdict: FeatureVerdict } | undefined;
  if (!handleDecides)
    for (const [key, session] of sessions) {
      const claimed = session.verdict?.(featureEnding);
      if (claimed !== undefined) {
        verdict = { key, verdict: claimed };
        break;
      }
    }
  const exact: ExitReportField[] = ['exitCode', 'signal'];
  const approximate: ExitReportField[] = ['wallMs'];
  const unavailable: ExitReportField[] = [];
  for (const field of USAGE_FIELDS) {
    if (valueOf(usage, field) === undefined) unavailable.push(field);
    else if (usage?.approximate.includes(field)) approximate.push(field);
    else exact.push(field);
  }
  const at = (field: (typeof USAGE_FIELDS)[number]) => valueOf(usage, field);
  const report: ExitReport = {
    reason: verdict?.verdict.reason ?? ending.reason,
    decidedBy: verdict?.key ?? 'process',
    detail: verdict?.verdict.detail ?? handleDetail(ending),
    exitCode: ending.exitCode,
    signal: ending.signal,
    wallMs: ending.wallMs,
    cpu: { userUsec: at('cpu.userUsec'), systemUsec: at('cpu.systemUsec'), totalUsec: at('cpu.totalUsec') },
    memory: { peakBytes: at('memory.peakBytes') },
    pids: { peak: at('pids.peak') },
    io: { readBytes: at('io.readBytes'), writeBytes: at('io.writeBytes'), readOps: at('io.readOps'), writeOps: at('io.writeOps') },
    source: usage?.source,
    exact,
    approximate,
    unavailable,
  };
  return { report, featureEnding };
}
