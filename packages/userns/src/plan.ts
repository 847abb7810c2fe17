import { constants } from 'node:os';
import { AT_FDCWD, CLONE, O, bytes, flags, imm, nullPointer, result, str, writeFileSteps } from '@iso/core';
import type { ChildStep, StagedSteps } from '@iso/core';
import { formatIdMap } from './maps.js';
import { newidmapHook, nestedMapsHook } from './hooks.js';
import type { IdMapPair } from './hooks.js';
import type { UsernsCredentials, UsernsSettings } from './options.js';

const PR_SET_KEEPCAPS = 8;
const PR = { PR_SET_KEEPCAPS } as const;

const unshareStep = (name: string): ChildStep => ({ op: 'syscall', name, syscall: 'unshare', args: [flags(CLONE.CLONE_NEWUSER, CLONE)] });

const rearm = (name: string): ChildStep => ({ op: 'dieWithParent', name, signal: constants.signals.SIGKILL });

/** setgroups(n, list): gid_t is 32 bits on every arch iso runs on. */
function setgroupsStep(name: string, groups: readonly number[]): ChildStep {
  if (groups.length === 0) return { op: 'syscall', name, syscall: 'setgroups', args: [imm(0), nullPointer()] };
  const list = Buffer.alloc(4 * groups.length);
  groups.forEach((gid, i) => list.writeUInt32LE(gid, 4 * i));
  return { op: 'syscall', name, syscall: 'setgroups', args: [imm(groups.length), bytes(list, `[${groups.join(', ')}]`)] };
}

/**
 * Switches the runner to `ids` inside at once, so no later step runs as host root, and
 * drops root's supplementary groups; a change of euid clears PDEATHSIG, so arm it again.
 */
function switchSteps(prefix: string, ids: { uid: number; gid: number }, dropGroups: boolean): ChildStep[] {
  return [
    { op: 'syscall', name: `${prefix}.setresgid`, syscall: 'setresgid', args: [imm(ids.gid), imm(ids.gid), imm(ids.gid)] },
    ...(dropGroups ? [setgroupsStep(`${prefix}.setgroups`, [])] : []),
    { op: 'syscall', name: `${prefix}.setresuid`, syscall: 'setresuid', args: [imm(ids.uid), imm(ids.uid), imm(ids.uid)] },
    rearm(`${prefix}.dieWithParent`),
  ];
}

/**
 * A root caller's namespace. Its maps name other host ids, which only a process outside
 * the namespace may write. A helper forked before the unshare stays outside: it holds
 * the runner's /proc/<pid> directory, opened before the fork, waits on an eventfd until
 * the runner has unshared, writes the maps there and exits. The runner waits for it,
 * then switches to the mapped ids at once, so no later step runs as host root. No round
 * trip to Node.
 */
function rootMapSteps(settings: UsernsSettings): ChildStep[] {
  const { ids, host } = settings;
  const maps: IdMapPair = settings.ranges ?? {
    uid: [{ inside: ids.uid, outside: host.uid, count: 1 }],
    gid: [{ inside: ids.gid, outside: host.gid, count: 1 }],
  };
  const one = Buffer.alloc(8);
  one.writeBigUInt64LE(1n);
  const writeMap = (file: 'uid_map' | 'gid_map', lines: IdMapPair['uid']): ChildStep[] => {
    const content = Buffer.from(formatIdMap(lines));
    const fd = `userns.${file}`;
    return [
      { op: 'syscall', name: `userns.writer.${file}`, syscall: 'openat', args: [result('userns.self'), str(file), flags(O.O_WRONLY | O.O_CLOEXEC, O)], saveAs: fd },
      { op: 'syscall', name: `userns.writer.${file}`, syscall: 'write', args: [result(fd), bytes(content, JSON.stringify(content.toString())), imm(content.length)] },
    ];
  };
  return [
    { op: 'syscall', name: 'userns.self', syscall: 'openat', args: [flags(AT_FDCWD, { AT_FDCWD }), str('/proc/self'), flags(O.O_RDONLY | O.O_CLOEXEC, O)], saveAs: 'userns.self' },
    { op: 'syscall', name: 'userns.unshared', syscall: 'eventfd2', args: [imm(0), flags(O.O_CLOEXEC, { EFD_CLOEXEC: O.O_CLOEXEC })], saveAs: 'userns.unshared' },
    {
      op: 'fork',
      name: 'userns.writer',
      saveAs: 'userns.writer',
      helper: [
        rearm('userns.writer.dieWithParent'),
        { op: 'syscall', name: 'userns.writer.wait', syscall: 'read', args: [result('userns.unshared'), bytes(new Uint8Array(8), '<8 bytes>'), imm(8)] },
        ...writeMap('uid_map', maps.uid),
        ...writeMap('gid_map', maps.gid),
      ],
    },
    unshareStep('userns.unshare'),
    { op: 'syscall', name: 'userns.unshared', syscall: 'write', args: [result('userns.unshared'), bytes(one, '<1>'), imm(8)] },
    { op: 'syscall', name: 'userns.writer.reap', syscall: 'wait4', args: [result('userns.writer'), nullPointer(), imm(0), nullPointer()] },
    { op: 'syscall', name: 'userns.self.close', syscall: 'close', args: [result('userns.self')] },
    { op: 'syscall', name: 'userns.unshared.close', syscall: 'close', args: [result('userns.unshared')] },
    ...switchSteps('userns', ids, true),
  ];
}

/** The id maps of a namespace this plan creates. */
function mapSteps(settings: UsernsSettings): ChildStep[] {
  const { ranges, ids, host } = settings;
  if (ranges?.writer === 'newidmap') {
    // The runner's own host ids map to the setup ids, so it needs no switch.
    const helpers = { newuidmap: ranges.newuidmap ?? '/usr/bin/newuidmap', newgidmap: ranges.newgidmap ?? '/usr/bin/newgidmap' };
    return [{ op: 'sync', name: 'userns.maps', hook: newidmapHook(ranges, helpers) }];
  }
  if (ranges === undefined && !settings.callerIsRoot) {
    // The kernel lets a process map its own ids once setgroups is denied: no round trip to Node.
    return [
      ...writeFileSteps('userns.setgroups', '/proc/self/setgroups', 'deny'),
      ...writeFileSteps('userns.uidMap', '/proc/self/uid_map', formatIdMap([{ inside: ids.uid, outside: host.uid, count: 1 }])),
      ...writeFileSteps('userns.gidMap', '/proc/self/gid_map', formatIdMap([{ inside: ids.gid, outside: host.gid, count: 1 }])),
    ];
  }
  // A root caller's maps name other host ids, which only a process outside may write:
  // usernsPlan gives those to rootMapSteps, so no other caller reaches here.
  throw new RangeError('userns: a root caller\'s maps are planned by rootMapSteps');
}

/**
 * setns into an existing user namespace (the runner is single-threaded, so the kernel
 * allows it), then uid and gid 0 there, as `nsenter -U` does. A root caller drops its
 * supplementary groups first, while it still may, in case the namespace denies setgroups.
 */
function joinSteps(settings: UsernsSettings, path: string): ChildStep[] {
  return [
    ...(settings.callerIsRoot ? [setgroupsStep('userns.join.dropGroups', [])] : []),
    {
      op: 'syscall',
      name: 'userns.join.open',
      syscall: 'openat',
      args: [flags(AT_FDCWD, { AT_FDCWD }), str(path), flags(O.O_RDONLY | O.O_CLOEXEC, O)],
      saveAs: 'userns.join.fd',
    },
    { op: 'syscall', name: 'userns.join.setns', syscall: 'setns', args: [result('userns.join.fd'), flags(CLONE.CLONE_NEWUSER, CLONE)] },
    { op: 'syscall', name: 'userns.join.close', syscall: 'close', args: [result('userns.join.fd')] },
    ...switchSteps('userns.join', settings.ids, false),
  ];
}

/** The inside ids of the namespace made here, each mapped onto itself: the nested namespace's maps. */
function identityMaps(settings: UsernsSettings): IdMapPair {
  const identity = (ranges: IdMapPair['uid']) => ranges.map((r) => ({ inside: r.inside, outside: r.inside, count: r.count }));
  if (settings.ranges) return { uid: identity(settings.ranges.uid), gid: identity(settings.ranges.gid) };
  const { uid, gid } = settings.ids;
  return { uid: [{ inside: uid, outside: uid, count: 1 }], gid: [{ inside: gid, outside: gid, count: 1 }] };
}

/**
 * disableNested, as bwrap's --disable-userns: the sandbox's namespace may have one child,
 * and the runner makes it now and goes on in it, so it owns every later namespace. The
 * target can raise user.max_user_namespaces only in its own namespace, not in the parent
 * whose limit (1, used up) the kernel also checks. Setting 0 in a single namespace would
 * not hold: root inside has CAP_SYS_RESOURCE there and could write it back.
 */
function nestedSteps(settings: UsernsSettings): ChildStep[] {
  return [
    ...writeFileSteps('userns.nested.limit', '/proc/sys/user/max_user_namespaces', '1'),
    unshareStep('userns.nested.unshare'),
    { op: 'sync', name: 'userns.nested.maps', hook: nestedMapsHook(identityMaps(settings)) },
  ];
}

/**
 * The target's identity, in the target after the PID forks: groups, gid, then uid, each
 * needing a capability the next may take away. PR_SET_KEEPCAPS keeps the permitted set
 * across a uid change away from 0, so @iso/caps can still shape it; execve clears it.
 */
function credentialSteps(credentials: UsernsCredentials): ChildStep[] {
  const steps: ChildStep[] = [];
  if (credentials.groups !== undefined) steps.push(setgroupsStep('userns.credentials.setgroups', credentials.groups));
  const { group, user } = credentials;
  if (group !== undefined) steps.push({ op: 'syscall', name: 'userns.credentials.setresgid', syscall: 'setresgid', args: [imm(group), imm(group), imm(group)] });
  if (user !== undefined) {
    steps.push(
      { op: 'syscall', name: 'userns.credentials.keepCaps', syscall: 'prctl', args: [imm(PR_SET_KEEPCAPS, { as: 'enum', table: PR }), imm(1), imm(0), imm(0), imm(0)] },
      { op: 'syscall', name: 'userns.credentials.setresuid', syscall: 'setresuid', args: [imm(user), imm(user), imm(user)] },
      rearm('userns.credentials.dieWithParent'),
    );
  }
  return steps;
}

/**
 * The user namespace's steps. Stage 'userns': create one (or join one), its maps, and
 * with disableNested the nested namespace the rest runs in. Stage 'credentials': the
 * target's user, group and supplementary groups.
 *
 * Who writes the maps: a non-root caller's single mapping is written by the runner itself
 * (no round trip to Node); its multi-range maps by newuidmap and newgidmap, run by Node
 * at a sync point; a root caller's maps by Node at a sync point, after which the runner
 * switches to the mapped ids at once, so no later step runs as host root.
 */
export function usernsPlan(settings: UsernsSettings): StagedSteps {
  const userns = settings.join
    ? joinSteps(settings, settings.join.path)
    : settings.callerIsRoot && settings.ranges?.writer !== 'newidmap'
      ? rootMapSteps(settings)
      : [unshareStep('userns.unshare'), ...mapSteps(settings)];
  if (settings.disableNested) userns.push(...nestedSteps(settings));
  const plan: StagedSteps = { userns };
  if (settings.credentials) {
    const credentials = credentialSteps(settings.credentials);
    if (credentials.length > 0) plan.credentials = credentials;
  }
  return plan;
}
