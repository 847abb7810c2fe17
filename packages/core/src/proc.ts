import { readFileSync, readlinkSync } from 'node:fs';
import { IsoError } from './errors.js';

/** A process: a pid, or 'self' for the caller. */
export type ProcessRef = number | 'self';

export type NamespaceKind = 'cgroup' | 'ipc' | 'mnt' | 'net' | 'pid' | 'time' | 'user' | 'uts';

function procPath(pid: ProcessRef, rest: string): string {
  return `/proc/${pid === 'self' ? 'self' : String(pid)}/${rest}`;
}

function readFailure(step: string, path: string, error: unknown): IsoError {
  const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
  return new IsoError('ISO_SYSCALL_FAILED', `${step}: reading ${path} failed: ${code}`, {
    errnoCode: code,
    errno: (error as NodeJS.ErrnoException).errno ?? 0,
    syscall: 'open',
    step,
    phase: 'in-process',
    path,
  });
}

/** Reads a /proc file of a process, with a typed error naming the operation. */
export function readProcFile(pid: ProcessRef, rest: string, step: string): string {
  const path = procPath(pid, rest);
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw readFailure(step, path, error);
  }
}

/** The inode number that identifies the namespace of `kind` that a process is in. */
export function readNamespaceId(pid: ProcessRef, kind: NamespaceKind, step = `${kind}.namespaceId`): number {
  const path = procPath(pid, `ns/${kind}`);
  let link: string;
  try {
    link = readlinkSync(path);
  } catch (error) {
    throw readFailure(step, path, error);
  }
  const match = /\[(\d+)\]$/.exec(link);
  if (!match?.[1]) throw new IsoError('ISO_SYSCALL_FAILED', `unexpected namespace link ${link}`, { phase: 'in-process', path });
  return Number(match[1]);
}

/** One "Key:\tvalue" line of /proc/<pid>/status, or undefined. */
export function readStatusField(pid: ProcessRef, field: string, step: string): string | undefined {
  const status = readProcFile(pid, 'status', step);
  const line = status.split('\n').find((l) => l.startsWith(`${field}:`));
  return line?.slice(field.length + 1).trim();
}
