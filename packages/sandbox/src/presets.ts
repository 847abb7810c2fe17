// The presets: what each feature key is when the caller does not say. Besides features.ts
// this is the one place that names feature keys, as configuration: each preset is a set
// of options, and the caller's own options override it key by key.
import { invalidOptions, describeValue } from '@iso/core';
import type { FeatureOptions, SandboxOptions } from './options.js';

/**
 * - 'strict', the default: user, PID, mount, UTS, IPC and network namespaces (only `lo`,
 *   no way out); a read-only host
 *   root with a private 128 MiB `/tmp`, a minimal `/dev` (64 MiB `/dev/shm`) and Docker's
 *   masks; no capability, `no_new_privs`, iso's seccomp profile; resource limits (no core
 *   dumps, 1024 processes and open files, files up to 1 GiB); a new session and death
 *   with Node.
 * - 'none': hygiene only: a scrubbed environment, only fds 0 to 2, a new session and death
 *   with Node; no namespace and no seccomp filter. A root caller's target still runs as
 *   nobody on the host, through a user namespace and nothing else. A target of an
 *   unprivileged caller runs as the caller, and can reach what the caller can: its files,
 *   its other processes (`/proc/<pid>/mem` of Node itself), the network.
 */
export type PresetName = 'strict' | 'none';

export const DEFAULT_PRESET: PresetName = 'strict';

const STRICT: FeatureOptions = {
  pid: true,
  uts: true,
  ipc: true,
  net: 'none',
  mount: { root: 'host-readonly', entries: [{ type: 'tmpfs', target: '/tmp', size: '128m', mode: 0o1777 }] },
  userns: true,
  caps: 'none',
  seccomp: true,
  rlimits: true,
};

function presetOptions(name: PresetName, callerIsRoot: boolean): FeatureOptions {
  if (name === 'strict') return STRICT;
  // A root caller is never host root by default, under 'none' too.
  return callerIsRoot ? { userns: true, seccomp: false } : { seccomp: false };
}

/**
 * The options a call really runs with: its preset's (`preset`, 'strict' unless given),
 * then each of the caller's keys over them. `false` turns a feature off; `undefined`
 * leaves the preset's. The result keeps `preset`, so applying it again changes nothing.
 */
export function withPreset<O extends SandboxOptions>(options: O, callerIsRoot = process.getuid?.() === 0): O {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) return options; // refused by the checks
  const name: unknown = options.preset ?? DEFAULT_PRESET;
  if (name !== 'strict' && name !== 'none') throw invalidOptions('preset', `expected 'strict' or 'none', got ${describeValue(name)}`);
  const merged: Record<string, unknown> = { ...presetOptions(name, callerIsRoot) };
  for (const [key, value] of Object.entries(options)) if (value !== undefined) merged[key] = value;
  return merged as O;
}
