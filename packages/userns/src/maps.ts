import { readProcFile } from '@iso/core';
import type { ProcessRef } from '@iso/core';

/** One line of uid_map or gid_map: `count` ids from `inside` map to ids from `outside`. */
export interface IdMapRange {
  inside: number;
  outside: number;
  count: number;
}

export interface IdMaps {
  uid: IdMapRange[];
  gid: IdMapRange[];
  /** 'deny' once setgroups(2) is disabled in the namespace. */
  setgroups: 'allow' | 'deny';
}

export function parseIdMap(text: string): IdMapRange[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number))
    .filter((fields): fields is [number, number, number] => fields.length === 3 && fields.every(Number.isFinite))
    .map(([inside, outside, count]) => ({ inside, outside, count }));
}

/** The id maps of a process's user namespace, as seen from the caller's namespace. */
export function readIdMaps(pid: ProcessRef = 'self'): IdMaps {
  const setgroups = readProcFile(pid, 'setgroups', 'userns.readIdMaps').trim();
  return {
    uid: parseIdMap(readProcFile(pid, 'uid_map', 'userns.readIdMaps')),
    gid: parseIdMap(readProcFile(pid, 'gid_map', 'userns.readIdMaps')),
    setgroups: setgroups === 'deny' ? 'deny' : 'allow',
  };
}

/** The outside id for an inside id, or undefined when it is not mapped. */
export function mapToOutside(ranges: readonly IdMapRange[], inside: number): number | undefined {
  const hit = ranges.find((r) => inside >= r.inside && inside < r.inside + r.count);
  return hit ? hit.outside + (inside - hit.inside) : undefined;
}

/** The inside id for a host id (as the caller sees it), or undefined when it is not mapped. */
export function mapToInside(ranges: readonly IdMapRange[], outside: number): number | undefined {
  const hit = ranges.find((r) => outside >= r.outside && outside < r.outside + r.count);
  return hit ? hit.inside + (outside - hit.outside) : undefined;
}

/** The text of uid_map or gid_map for `ranges`: one "inside outside count" line each. */
export function formatIdMap(ranges: readonly IdMapRange[]): string {
  return ranges.map((r) => `${r.inside} ${r.outside} ${r.count}\n`).join('');
}
