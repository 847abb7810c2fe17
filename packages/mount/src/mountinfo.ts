import { readProcFile } from '@iso/core';
import type { ProcessRef } from '@iso/core';

/** One line of /proc/<pid>/mountinfo (see proc(5)). */
export interface MountInfoEntry {
  mountId: number;
  parentId: number;
  /** 'major:minor' of the filesystem. */
  device: string;
  /** The path inside the filesystem that is mounted here. */
  root: string;
  mountPoint: string;
  mountOptions: string[];
  /** Optional fields such as 'shared:1' or 'master:2'. */
  propagation: string[];
  fsType: string;
  source: string;
  superOptions: string[];
}

// mountinfo escapes space, tab, newline and backslash as octal.
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export function parseMountInfo(text: string): MountInfoEntry[] {
  const entries: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6) continue;
    entries.push({
      mountId: Number(fields[0]),
      parentId: Number(fields[1]),
      device: fields[2] ?? '',
      root: unescape(fields[3] ?? ''),
      mountPoint: unescape(fields[4] ?? ''),
      mountOptions: (fields[5] ?? '').split(','),
      propagation: fields.slice(6, dash),
      fsType: fields[dash + 1] ?? '',
      source: unescape(fields[dash + 2] ?? ''),
      superOptions: (fields[dash + 3] ?? '').split(','),
    });
  }
  return entries;
}

/** The mount table as a process sees it. */
export function readMountInfo(pid: ProcessRef = 'self'): MountInfoEntry[] {
  return parseMountInfo(readProcFile(pid, 'mountinfo', 'mount.readMountInfo'));
}
