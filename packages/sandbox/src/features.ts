// The one place where @iso/sandbox names its features. Everything else in the package
// loops over this list. Adding a feature is one line here (and its package in
// package.json); see docs/architecture.md, "Adding a feature".
import { capsFeature } from '@iso/caps';
import { cgroupFeature } from '@iso/cgroup';
import { ipcFeature } from '@iso/ipc';
import { landlockFeature } from '@iso/landlock';
import { mountFeature } from '@iso/mount';
import { netFeature } from '@iso/net';
import { pidFeature } from '@iso/pid';
import { rlimitsFeature } from '@iso/rlimits';
import { seccompFeature } from '@iso/seccomp';
import { timeFeature } from '@iso/time';
import { usernsFeature } from '@iso/userns';
import { utsFeature } from '@iso/uts';

/**
 * Every feature, in the order they are normalized and, within a stage, planned. Features
 * that create namespaces come first (cgroup first of all: its sync point moves the runner
 * into the sandbox's cgroup before any other setup step), then userns (on whenever a
 * namespace is), then caps, then seccomp (which reads the capabilities caps keeps).
 */
export const FEATURES = [cgroupFeature, pidFeature, utsFeature, ipcFeature, mountFeature, timeFeature, netFeature, usernsFeature, capsFeature, rlimitsFeature, seccompFeature, landlockFeature] as const;

// The features' own types that users of the sandbox meet in its options and results.
export type { CapsOption } from '@iso/caps';
export type { CgroupEvent, CgroupLimits, CgroupOption, CgroupResult, CgroupUsage } from '@iso/cgroup';
export type { IpcOption } from '@iso/ipc';
export type { LandlockDrop, LandlockOption, LandlockResult } from '@iso/landlock';
export type { MountOption } from '@iso/mount';
export type { NetMode, NetOption, NetOptions } from '@iso/net';
export type { PidOption } from '@iso/pid';
export type { RlimitName, RlimitValue, RlimitsOption } from '@iso/rlimits';
export type { SeccompDecision, SeccompNotification, SeccompNotifyEvent, SeccompNotifyHandler, SeccompOption, SeccompResult } from '@iso/seccomp';
export type { TimeOption } from '@iso/time';
export type { UsernsOption } from '@iso/userns';
export type { UtsOption } from '@iso/uts';
