import { describeValue, invalidOptions } from '@iso/core';
import type { LandlockPolicy } from './abi.js';
import { downgradeLandlock } from './abi.js';
import { ACCESS_FS, ACCESS_NET, SCOPE } from './consts.js';
import type { LandlockAccessName, LandlockOption, LandlockPathSetting, LandlockPortSetting, LandlockSettings } from './options.js';

const KEYS = new Set(['fs', 'net', 'scope', 'bestEffort']);
const NET_KEYS = new Set(['bind', 'connect']);
const SCOPE_KEYS = new Set(['abstractUnixSocket', 'signal']);
const RULE_KEYS = new Set(['access', 'optional']);

/** Bounds that keep a program well inside the runner's 4096 steps (a path rule is up to 6). */
export const MAX_PATH_RULES = 256;
export const MAX_PORTS = 256;
/** PATH_MAX, with its NUL. */
const PATH_MAX = 4096;

/** Each right's Landlock bits; rights a kernel lacks are masked off later, by ABI. */
export const ACCESS_BITS: Readonly<Record<LandlockAccessName, number>> = {
  read: ACCESS_FS.READ_FILE | ACCESS_FS.READ_DIR,
  write: ACCESS_FS.WRITE_FILE | ACCESS_FS.TRUNCATE | ACCESS_FS.IOCTL_DEV,
  execute: ACCESS_FS.EXECUTE,
  make:
    ACCESS_FS.MAKE_CHAR | ACCESS_FS.MAKE_DIR | ACCESS_FS.MAKE_REG | ACCESS_FS.MAKE_SOCK | ACCESS_FS.MAKE_FIFO | ACCESS_FS.MAKE_BLOCK | ACCESS_FS.MAKE_SYM | ACCESS_FS.REFER,
  remove: ACCESS_FS.REMOVE_DIR | ACCESS_FS.REMOVE_FILE,
};
const LETTERS: Readonly<Record<string, LandlockAccessName>> = { r: 'read', w: 'write', x: 'execute', m: 'make', d: 'remove' };

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function checkKeys(value: Record<string, unknown>, known: ReadonlySet<string>, path: string): void {
  for (const key of Object.keys(value)) if (!known.has(key)) throw invalidOptions(`${path}.${key}`, 'unknown option');
}

/** Landlock bits for letters ('rx') or names (['read', 'execute']). */
export function accessBits(access: unknown, path: string): number {
  const names: LandlockAccessName[] = [];
  if (typeof access === 'string') {
    for (const letter of access) {
      const name = LETTERS[letter];
      if (name === undefined) throw invalidOptions(path, `unknown right ${describeValue(letter)} in ${describeValue(access)}; the letters are r w x m d (read, write, execute, make, remove)`);
      names.push(name);
    }
  } else if (Array.isArray(access)) {
    for (let i = 0; i < access.length; i++) {
      const name: unknown = access[i];
      if (typeof name !== 'string' || !Object.hasOwn(ACCESS_BITS, name))
        throw invalidOptions(`${path}[${i}]`, `expected one of read, write, execute, make, remove, got ${describeValue(name)}`);
      names.push(name as LandlockAccessName);
    }
  } else {
    throw invalidOptions(path, `expected letters such as 'rx' or a list such as ['read', 'execute'], got ${describeValue(access)}`);
  }
  if (new Set(names).size !== names.length) throw invalidOptions(path, `a right is named twice in ${describeValue(access)}`);
  if (names.length === 0) throw invalidOptions(path, 'grants nothing; leave the path out to deny it');
  return names.reduce((bits, name) => bits | ACCESS_BITS[name], 0);
}

function checkPath(path: string, at: string): void {
  if (!path.startsWith('/')) throw invalidOptions(at, 'must be an absolute path');
  if (path.includes('\0')) throw invalidOptions(at, 'must not contain a NUL byte');
  if (Buffer.byteLength(path) >= PATH_MAX) throw invalidOptions(at, `is longer than ${PATH_MAX - 1} bytes`);
}

function pathRules(fs: unknown): LandlockPathSetting[] {
  if (!isPlainObject(fs)) throw invalidOptions('landlock.fs', `expected an object of path: access, got ${describeValue(fs)}`);
  const entries = Object.entries(fs);
  if (entries.length > MAX_PATH_RULES) throw invalidOptions('landlock.fs', `at most ${MAX_PATH_RULES} paths`);
  return entries.map(([path, rule]) => {
    const at = `landlock.fs[${JSON.stringify(path)}]`;
    checkPath(path, at);
    if (!isPlainObject(rule)) return { path, access: accessBits(rule, at), optional: false };
    checkKeys(rule, RULE_KEYS, at);
    const optional = rule.optional ?? false;
    if (typeof optional !== 'boolean') throw invalidOptions(`${at}.optional`, `expected a boolean, got ${describeValue(optional)}`);
    return { path, access: accessBits(rule.access, `${at}.access`), optional };
  });
}

function portList(value: unknown, path: string, lowest: number): number[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidOptions(path, `expected a list of port numbers, got ${describeValue(value)}`);
  const ports: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const port: unknown = value[i];
    if (typeof port !== 'number' || !Number.isInteger(port) || port < lowest || port > 65535)
      throw invalidOptions(`${path}[${i}]`, `expected a port from ${lowest} to 65535, got ${describeValue(port)}`);
    ports.push(port);
  }
  return ports;
}

function portRules(net: unknown): LandlockPortSetting[] {
  if (!isPlainObject(net)) throw invalidOptions('landlock.net', `expected { bind?, connect? }, got ${describeValue(net)}`);
  checkKeys(net, NET_KEYS, 'landlock.net');
  // bind to 0 asks for an ephemeral port, which a rule for 0 allows; connect to 0 is no port.
  const access = new Map<number, number>();
  for (const port of portList(net.bind, 'landlock.net.bind', 0)) access.set(port, (access.get(port) ?? 0) | ACCESS_NET.BIND_TCP);
  for (const port of portList(net.connect, 'landlock.net.connect', 1)) access.set(port, (access.get(port) ?? 0) | ACCESS_NET.CONNECT_TCP);
  if (access.size > MAX_PORTS) throw invalidOptions('landlock.net', `at most ${MAX_PORTS} distinct ports`);
  return [...access].sort(([a], [b]) => a - b).map(([port, bits]) => ({ port, access: bits }));
}

function scopeBits(scope: unknown): number {
  const all = SCOPE.ABSTRACT_UNIX_SOCKET | SCOPE.SIGNAL;
  if (scope === undefined || scope === true) return all;
  if (scope === false) return 0;
  if (!isPlainObject(scope)) throw invalidOptions('landlock.scope', `expected a boolean or { abstractUnixSocket?, signal? }, got ${describeValue(scope)}`);
  checkKeys(scope, SCOPE_KEYS, 'landlock.scope');
  let bits = 0;
  for (const [key, bit] of [
    ['abstractUnixSocket', SCOPE.ABSTRACT_UNIX_SOCKET],
    ['signal', SCOPE.SIGNAL],
  ] as const) {
    const on = scope[key] ?? true;
    if (typeof on !== 'boolean') throw invalidOptions(`landlock.scope.${key}`, `expected a boolean, got ${describeValue(on)}`);
    if (on) bits |= bit;
  }
  return bits;
}

/** Checks the `landlock` option into a policy at the newest ABI; undefined when it is off. */
export function landlockPolicy(option: LandlockOption | undefined): LandlockPolicy | undefined {
  if (option === undefined || option === false) return undefined;
  if ((option as unknown) === true) throw invalidOptions('landlock', 'expected an object saying what the target may reach ({ fs, net, scope }); true alone would restrict nothing but scopes, so say {} for that');
  if (!isPlainObject(option)) throw invalidOptions('landlock', `expected false or an object, got ${describeValue(option)}`);
  const given: Record<string, unknown> = option;
  checkKeys(given, KEYS, 'landlock');
  const bestEffort = given.bestEffort ?? false;
  if (typeof bestEffort !== 'boolean') throw invalidOptions('landlock.bestEffort', `expected a boolean, got ${describeValue(bestEffort)}`);
  return {
    paths: given.fs === undefined ? undefined : pathRules(given.fs),
    ports: given.net === undefined ? undefined : portRules(given.net),
    scoped: scopeBits(given.scope),
    bestEffort,
  };
}

/**
 * Checks the `landlock` option and fits it to a kernel at Landlock ABI `abi` (0: none);
 * undefined when it is off. Throws ISO_INVALID_OPTIONS naming the option path, and
 * ISO_UNSUPPORTED_KERNEL when the policy needs more than `abi` offers and bestEffort is off.
 */
export function normalizeLandlockOptions(option: LandlockOption | undefined, abi: number): LandlockSettings | undefined {
  const policy = landlockPolicy(option);
  return policy === undefined ? undefined : downgradeLandlock(policy, abi);
}
