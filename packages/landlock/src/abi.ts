import { IsoError } from '@iso/core';
import { ABI_KERNEL, ACCESS_FS, ACCESS_NET, FS_RIGHT_ABI, NET_ABI, NEWEST_KNOWN_ABI, SCOPE, SCOPE_ABI, fsRightsOf } from './consts.js';
import type { LandlockDrop, LandlockPathSetting, LandlockPortSetting, LandlockSettings } from './options.js';

/** A checked policy at the newest ABI iso knows, before it meets a kernel. */
export interface LandlockPolicy {
  /** Path rules; undefined when the filesystem is not restricted. */
  readonly paths: readonly LandlockPathSetting[] | undefined;
  /** Port rules; undefined when TCP is not restricted. */
  readonly ports: readonly LandlockPortSetting[] | undefined;
  /** SCOPE bits. */
  readonly scoped: number;
  readonly bestEffort: boolean;
}

const kernelOf = (abi: number) => `ABI ${abi}, Linux ${ABI_KERNEL[abi] ?? '?'}`;

/** What each right that came after ABI 1 does, when a kernel lacks it. */
const LATER_FS_RIGHTS: readonly { name: keyof typeof FS_RIGHT_ABI; what: string; lost: (granted: boolean) => string | undefined }[] = [
  {
    name: 'REFER',
    what: 'fs.refer',
    // Without REFER, Landlock denies every link or rename across directories: a right lost, not a restriction.
    lost: (granted) => (granted ? 'linking or renaming into another directory is denied everywhere (EXDEV), though make allows it' : undefined),
  },
  { name: 'TRUNCATE', what: 'fs.truncate', lost: () => 'truncate(2) and O_TRUNC are not restricted' },
  { name: 'IOCTL_DEV', what: 'fs.ioctlDev', lost: () => 'ioctl(2) on devices is not restricted' },
];

/** What of `policy` a kernel at Landlock ABI `abi` (0: none) cannot enforce. */
export function landlockDrops(policy: LandlockPolicy, abi: number): LandlockDrop[] {
  const anything = policy.paths !== undefined || policy.ports !== undefined || policy.scoped !== 0;
  if (abi < 1) return anything ? [{ what: 'landlock', abi: 1, effect: 'nothing is restricted: this kernel has no Landlock' }] : [];
  const drops: LandlockDrop[] = [];
  if (policy.paths !== undefined)
    for (const right of LATER_FS_RIGHTS) {
      const needs = FS_RIGHT_ABI[right.name] ?? 1;
      if (abi >= needs) continue;
      const effect = right.lost(policy.paths.some((rule) => (rule.access & ACCESS_FS[right.name]) !== 0));
      if (effect !== undefined) drops.push({ what: right.what, abi: needs, effect });
    }
  if (policy.ports !== undefined && abi < NET_ABI) drops.push({ what: 'net', abi: NET_ABI, effect: 'TCP bind and connect are not restricted' });
  if (abi < SCOPE_ABI) {
    if (policy.scoped & SCOPE.ABSTRACT_UNIX_SOCKET)
      drops.push({ what: 'scope.abstractUnixSocket', abi: SCOPE_ABI, effect: 'abstract unix sockets outside the sandbox can be connected to' });
    if (policy.scoped & SCOPE.SIGNAL) drops.push({ what: 'scope.signal', abi: SCOPE_ABI, effect: 'processes outside the sandbox can be signalled' });
  }
  return drops;
}

/**
 * The policy as a kernel at Landlock ABI `abi` (0: none) can enforce it. Strict (the
 * default) refuses with ISO_UNSUPPORTED_KERNEL when anything would be dropped; best
 * effort keeps what it can and lists the rest in `dropped`.
 */
export function downgradeLandlock(policy: LandlockPolicy, abi: number): LandlockSettings {
  const dropped = landlockDrops(policy, abi);
  if (dropped.length > 0 && !policy.bestEffort) {
    const missing = dropped.map((drop) => `${drop.what} (${kernelOf(drop.abi)}: ${drop.effect})`).join('; ');
    const have = abi < 1 ? 'this kernel has no Landlock' : `this kernel has Landlock ABI ${abi}`;
    throw new IsoError('ISO_UNSUPPORTED_KERNEL', `landlock: ${have}, which cannot enforce ${missing}; set landlock.bestEffort: true to run with what it can enforce`, {
      phase: 'validate',
      path: 'landlock',
    });
  }
  const rulesetAbi = Math.max(0, Math.min(abi, NEWEST_KNOWN_ABI));
  const handledFs = policy.paths === undefined ? 0 : fsRightsOf(rulesetAbi);
  const handledNet = policy.ports !== undefined && rulesetAbi >= NET_ABI ? ACCESS_NET.BIND_TCP | ACCESS_NET.CONNECT_TCP : 0;
  const scoped = rulesetAbi >= SCOPE_ABI ? policy.scoped : 0;
  return {
    abi,
    rulesetAbi,
    handledFs,
    handledNet,
    scoped,
    // A rule may grant only handled rights (EINVAL otherwise); one left with none is no rule.
    paths: (policy.paths ?? []).map((rule) => ({ ...rule, access: rule.access & handledFs })).filter((rule) => rule.access !== 0),
    ports: handledNet === 0 ? [] : (policy.ports ?? []),
    bestEffort: policy.bestEffort,
    dropped,
  };
}

/** Whether the settings restrict anything: a ruleset that handles nothing is refused by the kernel (ENOMSG). */
export function enforcesAnything(settings: Pick<LandlockSettings, 'handledFs' | 'handledNet' | 'scoped'>): boolean {
  return settings.handledFs !== 0 || settings.handledNet !== 0 || settings.scoped !== 0;
}
