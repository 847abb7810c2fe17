import type { IdMapRange } from './maps.js';

/** Host ids that back the sandbox's single mapping. */
export interface HostIds {
  uid: number;
  gid: number;
}

/** One line of an id map: `count` ids from `inside` map to host ids from `outside`. */
export type IdRange = IdMapRange;

/** Explicit maps: the lines of `uid_map` and `gid_map`, at most 340 each. */
export interface IdRanges {
  uid: readonly IdRange[];
  gid: readonly IdRange[];
}

/**
 * Options of the `userns` key: a new user namespace (rootless by default), or an existing
 * one to join. Needs Linux 3.8+, and unprivileged user namespaces for non-root callers
 * (see probeUserns).
 */
export interface UsernsOptions {
  /**
   * Which id the setup steps run as inside, with the single mapping. 'root' maps the
   * backing host id to 0, which gives the setup steps the capabilities they need inside
   * the namespace (and only there); 'same' keeps the id number, so the target runs
   * unprivileged. With `ranges`, only 'root' is allowed (pick the target's ids with
   * `user` and `group`); with explicit ranges or `join`, leave it out.
   * @defaultValue 'root'
   */
  inside?: 'root' | 'same';
  /**
   * The host ids that back inside 0 when the caller is root. Mapping root to root would
   * keep host-root ownership of files (a write to /proc/sys/kernel/core_pattern succeeds),
   * so root callers get an unprivileged host id by default, as Docker's userns-remap does.
   * A non-root caller is always backed by its own ids. Host id 0 is refused unless
   * `dangerouslyMapHostRoot` says so.
   * @defaultValue `{ uid: 65534, gid: 65534 }` (nobody)
   */
  hostIdsForRoot?: HostIds;
  /**
   * Let `hostIdsForRoot` or `ranges` map host uid or gid 0 into the sandbox. The target's
   * files are then host root's, and so is what it can change through every bind: there is
   * almost never a reason to. @defaultValue false
   */
  dangerouslyMapHostRoot?: boolean;
  /**
   * More ids than one. 'subordinate' maps inside 0 to the backing id (the caller's own,
   * or `hostIdsForRoot` for root) and inside 1 to 65536 to the first 65536 ids of the
   * caller's first range in /etc/subuid and /etc/subgid (by user name or uid). Explicit
   * ranges are written as given. A non-root caller's maps are written by the setuid
   * helpers /usr/bin/newuidmap and newgidmap (package uidmap), which allow only the
   * caller's own id and its subordinate ranges; root's are written by Node. With ranges,
   * setgroups(2) stays allowed, so `supplementaryGroups` works.
   * @defaultValue undefined: the single mapping
   */
  ranges?: 'subordinate' | IdRanges;
  /**
   * The uid the target runs as inside (stage 'credentials', in the target after the PID
   * forks). Must be mapped.
   * @defaultValue the setup uid (0, or the caller's inside uid with `inside: 'same'` or explicit ranges)
   */
  user?: number;
  /**
   * The gid the target runs as inside. Must be mapped. Like `docker run --user 1000`
   * without a passwd entry, setting only `user` keeps the setup gid (0).
   * @defaultValue the setup gid
   */
  group?: number;
  /**
   * The target's supplementary groups inside, each mapped. Needs setgroups(2), which the
   * kernel denies in the rootless single mapping (a non-root process may write its own
   * gid_map only after writing 'deny' to /proc/self/setgroups); use `ranges` for it.
   * @defaultValue `[]` where setgroups is allowed (ranges, root callers, a joined namespace
   * that allows it), so no host group reaches the target; otherwise the caller's groups stay
   */
  supplementaryGroups?: readonly number[];
  /**
   * Nothing inside the sandbox can create a user namespace, as bwrap's --disable-userns.
   * The runner sets user.max_user_namespaces to 1 in the sandbox's user namespace, then
   * creates one more nested user namespace (the last one allowed) and carries on in it,
   * with the same ids: the target owns every namespace it is in, but not the sysctl that
   * limits it, so even root inside cannot lift the limit. Costs one more runner launch
   * (the parent namespace's copy of the maps is written by a helper that joins it).
   * Needs Linux 4.9+ (per-namespace limits, NS_GET_PARENT).
   * @defaultValue false
   */
  disableNested?: boolean;
  /**
   * Join an existing user namespace instead of creating one: a pid (its
   * /proc/<pid>/ns/user) or the path of a user namespace file. The runner opens it,
   * calls setns(2) and switches to uid 0 and gid 0 of that namespace (as `nsenter -U`
   * does). Only the namespace's owner (or an ancestor's) and root may join. A root
   * caller drops its supplementary groups first and is refused when inside 0 maps to
   * host root. Cannot be combined with ranges, hostIdsForRoot, inside or disableNested.
   * Needs Linux 3.8+.
   * @defaultValue undefined: create a new user namespace
   */
  join?: number | string;
}

export type UsernsOption = boolean | UsernsOptions;

/** The target's identity inside, after checking. */
export interface UsernsCredentials {
  user?: number;
  group?: number;
  /** setgroups(2) with this list; absent when the groups are left alone. */
  groups?: readonly number[];
}

/** Multi-range maps after checking, and who writes them. */
export interface UsernsRanges {
  uid: readonly IdRange[];
  gid: readonly IdRange[];
  /** 'newidmap': newuidmap/newgidmap run by Node (non-root callers); 'parent': Node writes them (root). */
  writer: 'newidmap' | 'parent';
  /** The helpers, for writer 'newidmap'. */
  newuidmap?: string;
  newgidmap?: string;
}

/** An existing user namespace to join, after checking. */
export interface UsernsJoin {
  /** The namespace file the runner opens. */
  path: string;
  /** The process it belongs to, when known (join by pid, or a /proc/<pid>/ns/user path). */
  pid?: number;
  /** Its maps as read from /proc/<pid>, when known. */
  maps?: { uid: readonly IdRange[]; gid: readonly IdRange[]; setgroups: 'allow' | 'deny' };
}

/** The options after checking, with the caller's ids resolved. */
export interface UsernsSettings {
  inside: 'root' | 'same';
  /** Host ids that back the setup ids (as far as known, when joining by a bare path). */
  host: HostIds;
  /** The ids the setup steps run as inside. */
  ids: HostIds;
  /** The caller is root: the maps are written from Node and credentials switched inside. */
  callerIsRoot: boolean;
  /** Multi-range maps, with `ranges`. */
  ranges?: UsernsRanges;
  /** The target's identity, stage 'credentials'. */
  credentials?: UsernsCredentials;
  /** With `disableNested`. */
  disableNested?: true;
  /** With `join`. */
  join?: UsernsJoin;
}
