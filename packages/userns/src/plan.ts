import { writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { CLONE, flags, imm, invalidOptions, nullPointer, syscallError, writeFileSteps } from '@iso/core';
import type { ChildStep, StagedSteps } from '@iso/core';
import type { HostIds, UsernsOption, UsernsSettings } from './options.js';

const NOBODY: HostIds = { uid: 65534, gid: 65534 };
const MAX_ID = 0xfffffffe; // (uid_t)-1 is "no id"

function checkId(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_ID)
    throw invalidOptions(path, `expected an integer id from 0 to ${MAX_ID}, got ${JSON.stringify(value)}`);
  return value;
}

/** Checks the `userns` option against the caller; undefined when the feature is off. */
export function normalizeUsernsOptions(
  option: UsernsOption | undefined,
  caller: HostIds = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
): UsernsSettings | undefined {
  if (option === undefined || option === false) return undefined;
  const given = option === true ? {} : option;
  if (typeof given !== 'object' || given === null) throw invalidOptions('userns', 'expected true, false or an object');
  for (const key of Object.keys(given))
    if (key !== 'inside' && key !== 'hostIdsForRoot') throw invalidOptions(`userns.${key}`, 'unknown option');
  const inside = given.inside ?? 'root';
  if (inside !== 'root' && inside !== 'same')
    throw invalidOptions('userns.inside', `expected 'root' or 'same', got ${JSON.stringify(inside)}`);
  const callerIsRoot = caller.uid === 0;
  if (given.hostIdsForRoot !== undefined && !callerIsRoot)
    throw invalidOptions('userns.hostIdsForRoot', 'only a root caller can choose the backing ids; others are backed by their own');
  const chosen = given.hostIdsForRoot ?? NOBODY;
  if (typeof chosen !== 'object' || chosen === null) throw invalidOptions('userns.hostIdsForRoot', 'expected { uid, gid }');
  for (const key of Object.keys(chosen))
    if (key !== 'uid' && key !== 'gid') throw invalidOptions(`userns.hostIdsForRoot.${key}`, 'unknown option');
  const host = callerIsRoot
    ? { uid: checkId(chosen.uid, 'userns.hostIdsForRoot.uid'), gid: checkId(chosen.gid, 'userns.hostIdsForRoot.gid') }
    : caller;
  const ids = inside === 'root' ? { uid: 0, gid: 0 } : host;
  return { inside, host, ids, callerIsRoot };
}

const mapLine = (inside: number, outside: number) => `${inside} ${outside} 1\n`;

function writeMapsFromParent(settings: UsernsSettings): (pid: number) => void {
  return (pid) => {
    for (const [file, content] of [
      ['uid_map', mapLine(settings.ids.uid, settings.host.uid)],
      ['gid_map', mapLine(settings.ids.gid, settings.host.gid)],
    ] as const) {
      const path = `/proc/${pid}/${file}`;
      try {
        writeFileSync(path, content);
      } catch (error) {
        const errno = -((error as NodeJS.ErrnoException).errno ?? 0);
        throw syscallError(errno, { step: 'userns.maps', syscall: 'write', call: `write("${path}", ${JSON.stringify(content)})`, phase: 'parent', path });
      }
    }
  };
}

/**
 * A user namespace with one mapping. A non-root caller writes its own maps from inside
 * (the kernel allows mapping one's own id once setgroups is denied), which costs no round
 * trip to Node. A root caller's maps name another host id, which only a process outside
 * may write, so Node writes them at a sync point; the runner then switches to the mapped
 * ids at once and drops root's supplementary groups, so no later step runs as host root.
 */
export function usernsPlan(settings: UsernsSettings): StagedSteps {
  const unshare: ChildStep = { op: 'syscall', name: 'userns.unshare', syscall: 'unshare', args: [flags(CLONE.CLONE_NEWUSER, CLONE)] };
  if (!settings.callerIsRoot) {
    return {
      userns: [
        unshare,
        ...writeFileSteps('userns.setgroups', '/proc/self/setgroups', 'deny'),
        ...writeFileSteps('userns.uidMap', '/proc/self/uid_map', mapLine(settings.ids.uid, settings.host.uid)),
        ...writeFileSteps('userns.gidMap', '/proc/self/gid_map', mapLine(settings.ids.gid, settings.host.gid)),
      ],
    };
  }
  const writeMaps = writeMapsFromParent(settings);
  const { uid, gid } = settings.ids;
  return {
    userns: [
      unshare,
      { op: 'sync', name: 'userns.maps', hook: { name: 'userns.maps (written by Node)', run: ({ runnerPid }) => { writeMaps(runnerPid); } } },
      { op: 'syscall', name: 'userns.setresgid', syscall: 'setresgid', args: [imm(gid), imm(gid), imm(gid)] },
      { op: 'syscall', name: 'userns.setgroups', syscall: 'setgroups', args: [imm(0), nullPointer()] },
      { op: 'syscall', name: 'userns.setresuid', syscall: 'setresuid', args: [imm(uid), imm(uid), imm(uid)] },
      // A change of euid clears PDEATHSIG, so arm it again.
      { op: 'dieWithParent', name: 'userns.dieWithParent', signal: constants.signals.SIGKILL },
    ],
  };
}
