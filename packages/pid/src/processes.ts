import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { IsoError, readNamespaceId, readStatusField } from '@iso/core';
import type { ProcessRef } from '@iso/core';

/**
 * A process's pid in each PID namespace it is in, outermost (the caller's view) first:
 * the NSpid line of /proc/<pid>/status (Linux 4.1+).
 */
export function namespacePids(pid: ProcessRef): number[] {
  const field = readStatusField(pid, 'NSpid', 'pid.namespacePids');
  if (field === undefined)
    throw new IsoError('ISO_UNSUPPORTED_KERNEL', 'pid.namespacePids: /proc/<pid>/status has no NSpid line (needs Linux 4.1+)', {
      phase: 'in-process',
    });
  return field.split(/\s+/).map(Number);
}

/** The pid a process has inside its own (innermost) PID namespace. */
export function innermostPid(hostPid: number): number {
  const pids = namespacePids(hostPid);
  return pids[pids.length - 1] ?? hostPid;
}

export interface NamespaceProcess {
  /** Pid in the caller's namespace. */
  hostPid: number;
  /** Pid in the listed namespace. */
  pid: number;
  command: string;
}

/**
 * The processes in the PID namespace of `member` (any process in it), with both pids.
 * Processes the caller may not inspect (ptrace read access) are left out.
 */
export function listPidNamespace(member: number): NamespaceProcess[] {
  const nsId = readNamespaceId(member, 'pid');
  const depth = namespacePids(member).length;
  const out: NamespaceProcess[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const hostPid = Number(name);
    try {
      if (readlinkSync(`/proc/${name}/ns/pid`) !== `pid:[${nsId}]`) continue;
      const pids = namespacePids(hostPid);
      const command = readFileSync(`/proc/${name}/comm`, 'utf8').trim();
      out.push({ hostPid, pid: pids[depth - 1] ?? hostPid, command });
    } catch {
      // gone, or not ours to inspect
    }
  }
  return out.sort((a, b) => a.pid - b.pid);
}

/** The caller's pid for `pid` as seen inside the namespace of `member`, or undefined. */
export function toHostPid(pid: number, member: number): number | undefined {
  return listPidNamespace(member).find((p) => p.pid === pid)?.hostPid;
}
