// Options in, settings out: the `seccomp` option checked before anything is created. A
// Docker profile takes tens of milliseconds to check, and a sandbox normalizes on every
// launch its plan cache misses, so equal options give back the same frozen settings.
import { release } from 'node:os';
import { describeValue, invalidOptions, syscallNumber } from '@iso/core';
import { SECCOMP_RET } from './actions.js';
import { parseDockerProfile } from './docker.js';
import type { SeccompOption, SeccompPolicy, SeccompSettings } from './options.js';
import { normalizePolicy } from './policy.js';

type Draft = { -readonly [K in keyof SeccompSettings]: SeccompSettings[K] };

const DEFAULT_SETTINGS: SeccompSettings = Object.freeze({ source: Object.freeze({ kind: 'default' as const }), log: false, specAllow: false, notify: false });

/** Settings of recent object options, by kernel release and option key; oldest first. */
const recent = new Map<string, SeccompSettings>();
const RECENT_SIZE = 16;

/**
 * Checks the `seccomp` option before anything is created: the typed policy or Docker
 * profile is validated here, so a typo fails fast. `undefined` and `true` are the default
 * profile, `false` is no filter (undefined). Throws ISO_INVALID_OPTIONS naming the option
 * path. `kernelRelease` is what a Docker profile's minKernel is compared with.
 *
 * The settings are frozen and never hold `onNotify`; an option equal to a recent one (the
 * same data, and a handler or none) gives back the same settings object.
 */
export function normalizeSeccompOptions(option: SeccompOption | undefined, kernelRelease: string = release()): SeccompSettings | undefined {
  if (option === undefined || option === true) return DEFAULT_SETTINGS;
  if (option === false) return undefined;
  if (typeof option !== 'object' || option === null || Array.isArray(option)) throw invalidOptions('seccomp', 'expected true, false or an object');
  if (typeof kernelRelease !== 'string') throw invalidOptions('kernelRelease', 'expected a release string like 6.18.0');
  // Checking a private copy means the caller's object (its getters, its later changes)
  // cannot differ from what was checked, nor from the key it is remembered by.
  const { data, key } = snapshot(option, 'seccomp');
  const cacheKey = `${kernelRelease}\n${key}`;
  const known = recent.get(cacheKey);
  if (known) {
    recent.delete(cacheKey);
    recent.set(cacheKey, known);
    return known;
  }
  const settings = deepFreeze(checkOption(data as Record<string, unknown>, kernelRelease));
  if (recent.size >= RECENT_SIZE) recent.delete(recent.keys().next().value ?? '');
  recent.set(cacheKey, settings);
  return settings;
}

function checkOption(option: Record<string, unknown>, kernelRelease: string): SeccompSettings {
  const { onNotify, ...withoutHandler } = option;
  if (onNotify !== undefined && typeof onNotify !== 'function') throw invalidOptions('seccomp.onNotify', 'expected a function');
  const settings = sourceSettings(withoutHandler, kernelRelease);
  if (settings.notify && onNotify === undefined)
    throw invalidOptions('seccomp.onNotify', `${settings.notifyPath ?? 'a rule'} sends calls to user space (notify), so a handler must decide them`);
  if (!settings.notify && onNotify !== undefined) throw invalidOptions('seccomp.onNotify', "no rule has action 'notify', so it would never be called");
  return settings;
}

function sourceSettings(option: Record<string, unknown>, kernelRelease: string): Draft {
  const settings: Draft = { source: { kind: 'default' }, log: false, specAllow: false, notify: false };
  const { log, specAllow, ...rest } = option;
  for (const [key, value] of [
    ['log', log],
    ['specAllow', specAllow],
  ] as const) {
    if (value === undefined) continue;
    if (typeof value !== 'boolean') throw invalidOptions(`seccomp.${key}`, 'expected a boolean');
    settings[key] = value;
  }
  if ('docker' in rest) {
    for (const key of Object.keys(rest)) if (key !== 'docker') throw invalidOptions(`seccomp.${key}`, 'not allowed beside docker');
    const profile = parseDockerProfile(rest.docker, 'seccomp.docker');
    const notifying = profile.syscalls.find((rule) => rule.action === 'SCMP_ACT_NOTIFY');
    if (notifying) {
      settings.notify = true;
      settings.notifyPath = notifying.path;
    }
    settings.log ||= profile.flags.log === true;
    settings.specAllow ||= profile.flags.specAllow === true;
    settings.source = { kind: 'docker', profile, kernelRelease };
    return settings;
  }
  if ('profile' in rest) {
    for (const key of Object.keys(rest)) if (key !== 'profile' && key !== 'notify') throw invalidOptions(`seccomp.${key}`, 'not allowed beside profile');
    if (rest.profile !== 'default') throw invalidOptions('seccomp.profile', "expected 'default'");
    if (rest.notify !== undefined) {
      const names = notifyNames(rest.notify);
      if (names.length > 0) {
        settings.source = { kind: 'default', notify: names };
        settings.notify = true;
        settings.notifyPath = 'seccomp.notify';
      }
    }
    return settings;
  }
  // `rest` is part of the private snapshot already, so the policy needs no copy.
  const policy = rest as SeccompPolicy;
  const notifying = normalizePolicy(policy, 'seccomp').rules.find((rule) => rule.action === SECCOMP_RET.USER_NOTIF);
  if (notifying) {
    settings.notify = true;
    settings.notifyPath = notifying.path;
  }
  settings.source = { kind: 'policy', policy };
  return settings;
}

const ARCHES = ['x86_64', 'aarch64'] as const;

/** The `notify` list beside the default profile: known syscall names, no repeats. */
function notifyNames(value: unknown): string[] {
  if (!Array.isArray(value)) throw invalidOptions('seccomp.notify', 'expected an array of syscall names');
  const names = new Set<string>();
  for (let i = 0; i < value.length; i++) {
    const name: unknown = value[i];
    if (typeof name !== 'string' || !ARCHES.some((arch) => syscallNumber(arch, name) !== undefined))
      throw invalidOptions(`seccomp.notify[${i}]`, `expected a syscall name, got ${describeValue(name)}`);
    names.add(name);
  }
  return [...names];
}

interface Snapshot {
  /** Own enumerable data, copied: plain objects and arrays (holes kept), primitives, functions. */
  readonly data: unknown;
  /** Equal for equal data. Bigints are spelled out; a function is only '[function]'. */
  readonly key: string;
}

/** A private copy of an option and its key, in one walk. Throws for data that refers back to itself. */
function snapshot(value: unknown, path: string, open = new Set<object>()): Snapshot {
  switch (typeof value) {
    case 'string':
      return { data: value, key: JSON.stringify(value) };
    case 'number':
      return { data: value, key: Number.isFinite(value) ? String(value) : `<${String(value)}>` };
    case 'bigint':
      return { data: value, key: `${value}n` };
    case 'boolean':
      return { data: value, key: String(value) };
    case 'undefined':
      return { data: value, key: 'undefined' };
    case 'function':
      return { data: value, key: '[function]' };
    case 'symbol':
      return { data: value, key: '[symbol]' };
    case 'object':
      break;
  }
  if (value === null) return { data: null, key: 'null' };
  if (open.has(value)) throw invalidOptions(path, 'refers back to itself; expected plain data');
  open.add(value);
  try {
    if (Array.isArray(value)) {
      const list: unknown[] = value;
      const copy: unknown[] = new Array<unknown>(list.length);
      const keys: string[] = [];
      for (let i = 0; i < list.length; i++) {
        // A hole stays a hole: forEach skips it, where it would not skip undefined.
        if (!(i in list)) {
          keys.push('');
          continue;
        }
        const item = snapshot(list[i], `${path}[${i}]`, open);
        copy[i] = item.data;
        keys.push(item.key);
      }
      return { data: copy, key: `[${keys.join(',')}]` };
    }
    const record = value as Record<string, unknown>;
    const copy: Record<string, unknown> = {};
    const keys: string[] = [];
    for (const name of Object.keys(record)) {
      const item = snapshot(record[name], `${path}.${name}`, open);
      // defineProperty, so that an own '__proto__' stays a key instead of a prototype.
      Object.defineProperty(copy, name, { value: item.data, enumerable: true, writable: true, configurable: true });
      keys.push(`${JSON.stringify(name)}:${item.key}`);
    }
    return { data: copy, key: `{${keys.join(',')}}` };
  } finally {
    open.delete(value);
  }
}

/** Freezes the settings all the way down: they are shared by every launch with an equal option. */
function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value) || ArrayBuffer.isView(value)) return value;
  Object.freeze(value);
  for (const item of Object.values(value)) deepFreeze(item);
  return value;
}
