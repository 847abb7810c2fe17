// The Docker/OCI seccomp profile format, loaded as is and turned into a typed policy the
// way moby (profiles/seccomp) and runc read it:
// - includes/excludes by caps, arches and minKernel are evaluated against the kept
//   capabilities, the machine and the running kernel;
// - names unknown to an ABI are skipped (the profile names calls of many architectures);
// - several conditions on one argument index in a rule become one rule per condition
//   (runc's rule: libseccomp cannot AND two comparisons of one argument), so they OR;
// - rules whose action is the default action are dropped, as runc drops them;
// - Podman's superset is read too: errno names (`defaultErrno`, a rule's `errno`) beside
//   the numbers, which must agree when both are there;
// - rules that contradict each other (same syscall and conditions, different actions, as
//   Podman's setns rules do without CAP_SYS_ADMIN) resolve to the most restrictive action,
//   where libseccomp would keep whichever came first.
import { release } from 'node:os';
import { describeValue, errnoNumber, invalidOptions, kernelVersion } from '@iso/core';
import type { Arch } from '@iso/core';
import { MAX_ERRNO } from './actions.js';
import type {
  DockerFilter,
  DockerProfile,
  DockerSyscallRule,
  SeccompAbi,
  SeccompAction,
  SeccompArgCondition,
  SeccompFlags,
  SeccompPolicy,
  SeccompRule,
} from './options.js';
import { toU64 } from './policy.js';

const ARCHES: Readonly<Record<string, SeccompAbi | null>> = {
  SCMP_ARCH_X86_64: 'x86_64',
  SCMP_ARCH_X86: 'i386',
  SCMP_ARCH_X32: 'x32',
  SCMP_ARCH_AARCH64: 'aarch64',
  // Architectures iso has no tables for; their calls get the bad-arch action.
  SCMP_ARCH_ARM: null,
  SCMP_ARCH_MIPS: null,
  SCMP_ARCH_MIPS64: null,
  SCMP_ARCH_MIPS64N32: null,
  SCMP_ARCH_MIPSEL: null,
  SCMP_ARCH_MIPSEL64: null,
  SCMP_ARCH_MIPSEL64N32: null,
  SCMP_ARCH_PPC: null,
  SCMP_ARCH_PPC64: null,
  SCMP_ARCH_PPC64LE: null,
  SCMP_ARCH_S390: null,
  SCMP_ARCH_S390X: null,
  SCMP_ARCH_PARISC: null,
  SCMP_ARCH_PARISC64: null,
  SCMP_ARCH_RISCV64: null,
  SCMP_ARCH_LOONGARCH64: null,
  SCMP_ARCH_M68K: null,
  SCMP_ARCH_SH: null,
  SCMP_ARCH_SHEB: null,
};

/** Names a profile's includes/excludes.arches may use for each machine (Go's, then the kernel's). */
const ARCH_ALIASES: Readonly<Record<Arch, readonly string[]>> = { x86_64: ['amd64', 'x86_64'], aarch64: ['arm64', 'aarch64'] };

const ACTIONS = new Set([
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
]);

const OPS: Readonly<Record<string, SeccompArgCondition['op']>> = {
  SCMP_CMP_NE: '!=',
  SCMP_CMP_LT: '<',
  SCMP_CMP_LE: '<=',
  SCMP_CMP_EQ: '==',
  SCMP_CMP_GE: '>=',
  SCMP_CMP_GT: '>',
  SCMP_CMP_MASKED_EQ: 'masked==',
};

const FLAGS: Readonly<Record<string, keyof SeccompFlags | null>> = {
  SECCOMP_FILTER_FLAG_LOG: 'log',
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 'specAllow',
  // Accepted and ignored: iso never sets TSYNC in the child, and has no listener yet.
  SECCOMP_FILTER_FLAG_TSYNC: null,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: null,
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function only(value: Record<string, unknown>, keys: readonly string[], path: string): void {
  for (const key of Object.keys(value)) if (!keys.includes(key)) throw invalidOptions(`${path}.${key}`, 'unknown field');
}

function stringList(value: unknown, path: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw invalidOptions(path, 'expected an array of strings');
  // A copy: the checked profile must not change with the caller's arrays.
  return [...(value as string[])];
}

function errnoRet(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_ERRNO)
    throw invalidOptions(path, `expected an errno number from 0 to ${MAX_ERRNO}`);
  return value;
}

/**
 * The errno of `errnoRet` and of Podman's `errno` (an errno name written beside it, or
 * alone): either one, or both when they agree. An empty name is Go's unset string.
 */
function errnoOfFields(record: Record<string, unknown>, numberKey: string, nameKey: string, path: string): number | undefined {
  const number = record[numberKey] === undefined || record[numberKey] === null ? undefined : errnoRet(record[numberKey], `${path}.${numberKey}`);
  const name = record[nameKey];
  if (name === undefined || name === null || name === '') return number;
  if (typeof name !== 'string') throw invalidOptions(`${path}.${nameKey}`, "expected an errno name like 'EPERM'");
  let named: number;
  try {
    named = errnoNumber(name);
  } catch {
    throw invalidOptions(`${path}.${nameKey}`, `unknown errno name ${JSON.stringify(name)}`);
  }
  if (number !== undefined && number !== named)
    throw invalidOptions(`${path}.${nameKey}`, `${name} is ${named}, but ${numberKey} says ${number}`);
  return named;
}

function filter(value: unknown, path: string): DockerFilter {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw invalidOptions(path, 'expected { caps?, arches?, minKernel? }');
  only(value, ['caps', 'arches', 'minKernel'], path);
  const { caps, arches, minKernel } = value;
  if (minKernel !== undefined && minKernel !== null && (typeof minKernel !== 'string' || !kernelVersion(minKernel)))
    throw invalidOptions(`${path}.minKernel`, "expected a version like '4.8'");
  return {
    ...(caps === undefined || caps === null ? {} : { caps: stringList(caps, `${path}.caps`) }),
    ...(arches === undefined || arches === null ? {} : { arches: stringList(arches, `${path}.arches`) }),
    ...(typeof minKernel === 'string' ? { minKernel } : {}),
  };
}

function argCondition(arg: unknown, at: string): DockerSyscallRule['args'][number] {
  if (!isRecord(arg)) throw invalidOptions(at, 'expected { index, value, valueTwo?, op }');
  only(arg, ['index', 'value', 'valueTwo', 'op'], at);
  if (typeof arg.index !== 'number' || !Number.isInteger(arg.index) || arg.index < 0 || arg.index > 5)
    throw invalidOptions(`${at}.index`, 'expected an argument index from 0 to 5');
  if (typeof arg.op !== 'string' || !(arg.op in OPS)) throw invalidOptions(`${at}.op`, `expected one of ${Object.keys(OPS).join(', ')}`);
  for (const key of ['value', 'valueTwo'] as const)
    if (arg[key] !== undefined && (typeof arg[key] === 'number' || typeof arg[key] === 'bigint') && arg[key] < 0)
      throw invalidOptions(`${at}.${key}`, 'expected an unsigned 64-bit value');
  return {
    index: arg.index,
    value: toU64(arg.value, `${at}.value`),
    valueTwo: arg.valueTwo === undefined ? 0n : toU64(arg.valueTwo, `${at}.valueTwo`),
    op: arg.op,
  };
}

function syscallRule(value: unknown, path: string): DockerSyscallRule {
  if (!isRecord(value)) throw invalidOptions(path, 'expected a syscall rule object');
  only(value, ['names', 'name', 'action', 'errnoRet', 'errno', 'args', 'comment', 'includes', 'excludes'], path);
  let names: string[];
  if (value.name !== undefined) {
    if (value.names !== undefined) throw invalidOptions(`${path}.name`, "use either 'name' or 'names'");
    if (typeof value.name !== 'string') throw invalidOptions(`${path}.name`, 'expected a string');
    names = [value.name];
  } else {
    names = stringList(value.names, `${path}.names`);
  }
  const action = value.action;
  if (typeof action !== 'string' || !ACTIONS.has(action)) throw invalidOptions(`${path}.action`, `expected one of ${[...ACTIONS].join(', ')}`);
  const errno = errnoOfFields(value, 'errnoRet', 'errno', path);
  if (errno !== undefined && action !== 'SCMP_ACT_ERRNO' && action !== 'SCMP_ACT_TRACE')
    throw invalidOptions(`${path}.${value.errnoRet === undefined || value.errnoRet === null ? 'errno' : 'errnoRet'}`, 'only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take errnoRet');
  let args: DockerSyscallRule['args'] = [];
  if (value.args !== undefined && value.args !== null) {
    if (!Array.isArray(value.args)) throw invalidOptions(`${path}.args`, 'expected an array');
    if (value.args.length > 6) throw invalidOptions(`${path}.args`, `at most 6 argument conditions, got ${value.args.length}`);
    args = value.args.map((arg: unknown, i) => argCondition(arg, `${path}.args[${i}]`));
  }
  return {
    names,
    action,
    ...(errno === undefined ? {} : { errnoRet: errno }),
    args,
    includes: filter(value.includes, `${path}.includes`),
    excludes: filter(value.excludes, `${path}.excludes`),
    ...(typeof value.comment === 'string' ? { comment: value.comment } : {}),
    path,
  };
}

/**
 * Checks a Docker/OCI profile (an object, or JSON text), Podman's superset included: its
 * errno names (`defaultErrno`, a rule's `errno`) are read beside the numbers. Throws
 * ISO_INVALID_OPTIONS naming the field, such as 'seccomp.docker.syscalls[3].args[0].op'.
 */
export function parseDockerProfile(json: unknown, path = 'seccomp.docker'): DockerProfile {
  let value = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json) as unknown;
    } catch (error) {
      throw invalidOptions(path, `malformed JSON: ${(error as Error).message}`);
    }
  }
  if (!isRecord(value)) throw invalidOptions(path, 'expected a seccomp profile object');
  only(value, ['defaultAction', 'defaultErrnoRet', 'defaultErrno', 'architectures', 'archMap', 'syscalls', 'flags', 'listenerPath', 'listenerMetadata'], path);
  const defaultAction = value.defaultAction;
  if (typeof defaultAction !== 'string' || !ACTIONS.has(defaultAction))
    throw invalidOptions(`${path}.defaultAction`, `expected one of ${[...ACTIONS].join(', ')}`);
  if (defaultAction === 'SCMP_ACT_NOTIFY') throw invalidOptions(`${path}.defaultAction`, 'SCMP_ACT_NOTIFY cannot be the default action');
  if (value.listenerPath !== undefined && value.listenerPath !== '')
    throw invalidOptions(`${path}.listenerPath`, 'seccomp listeners are not supported yet');
  const defaultErrno = errnoOfFields(value, 'defaultErrnoRet', 'defaultErrno', path);

  // The ABIs: `architectures` if given, else the archMap entries of each machine
  // (moby: the native architecture and its subArchitectures). The native one is always in.
  const abis = new Set<SeccompAbi>(['x86_64', 'aarch64']);
  const known = (name: unknown, at: string): SeccompAbi | null => {
    if (typeof name !== 'string' || !(name in ARCHES)) throw invalidOptions(at, `unknown architecture ${describeValue(name)}`);
    return ARCHES[name] ?? null;
  };
  const architectures = value.architectures === undefined || value.architectures === null ? [] : stringList(value.architectures, `${path}.architectures`);
  if (architectures.length > 0) {
    architectures.forEach((name, i) => {
      const abi = known(name, `${path}.architectures[${i}]`);
      if (abi) abis.add(abi);
    });
  } else if (value.archMap !== undefined && value.archMap !== null) {
    if (!Array.isArray(value.archMap)) throw invalidOptions(`${path}.archMap`, 'expected an array');
    value.archMap.forEach((entry: unknown, i) => {
      const at = `${path}.archMap[${i}]`;
      if (!isRecord(entry)) throw invalidOptions(at, 'expected { architecture, subArchitectures }');
      only(entry, ['architecture', 'subArchitectures'], at);
      const main = known(entry.architecture, `${at}.architecture`);
      const subs = entry.subArchitectures === null || entry.subArchitectures === undefined ? [] : stringList(entry.subArchitectures, `${at}.subArchitectures`);
      const subAbis = subs.map((name, j) => known(name, `${at}.subArchitectures[${j}]`));
      // Only the entries of the machines iso runs on count, as moby keeps the native one.
      if (main !== 'x86_64' && main !== 'aarch64') return;
      for (const abi of subAbis) if (abi) abis.add(abi);
    });
  }

  const flags: { -readonly [K in keyof SeccompFlags]: SeccompFlags[K] } = {};
  if (value.flags !== undefined && value.flags !== null)
    stringList(value.flags, `${path}.flags`).forEach((flag, i) => {
      if (!(flag in FLAGS)) throw invalidOptions(`${path}.flags[${i}]`, `unknown flag ${JSON.stringify(flag)}`);
      const key = FLAGS[flag];
      if (key) flags[key] = true;
    });

  let syscalls: DockerSyscallRule[] = [];
  if (value.syscalls !== undefined && value.syscalls !== null) {
    if (!Array.isArray(value.syscalls)) throw invalidOptions(`${path}.syscalls`, 'expected an array');
    syscalls = value.syscalls.map((rule: unknown, i) => syscallRule(rule, `${path}.syscalls[${i}]`));
  }
  return {
    defaultAction,
    ...(defaultErrno === undefined ? {} : { defaultErrnoRet: defaultErrno }),
    abis: (['x86_64', 'x32', 'i386', 'aarch64'] as const).filter((abi) => abis.has(abi)),
    flags,
    syscalls,
    path,
  };
}

function action(name: string, errno: number | undefined): SeccompAction {
  switch (name) {
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return 'kill-thread';
    case 'SCMP_ACT_KILL_PROCESS':
      return 'kill-process';
    case 'SCMP_ACT_TRAP':
      return 'trap';
    case 'SCMP_ACT_ERRNO':
      return { errno: errno ?? 1 };
    case 'SCMP_ACT_TRACE':
      // runc: a trace without errnoRet carries EPERM as its message.
      return { trace: errno ?? 1 };
    case 'SCMP_ACT_LOG':
      return 'log';
    case 'SCMP_ACT_NOTIFY':
      return 'notify';
    default:
      return 'allow';
  }
}

function sameAction(a: SeccompAction, b: SeccompAction): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** 'CAP_SYS_ADMIN' for 'sys_admin', 'cap_sys_admin' or 'CAP_SYS_ADMIN'. */
export function capabilityName(name: string): string {
  const upper = name.trim().toUpperCase();
  return upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
}

export interface DockerLoadOptions {
  /** Capabilities the target keeps (its bounding set in Docker), as 'CAP_SYS_ADMIN'. @defaultValue none */
  keptCaps?: readonly string[];
  /** The kernel minKernel is compared with. @defaultValue os.release() */
  kernelRelease?: string;
}

/**
 * A Docker/OCI profile as a typed policy, its includes/excludes evaluated for both
 * machines against `keptCaps` and the kernel. Each rule keeps its profile path as
 * `origin`, so errors and explain() name 'seccomp.docker.syscalls[3]'.
 */
export function dockerPolicy(profile: DockerProfile, options: DockerLoadOptions = {}): SeccompPolicy {
  const kept = new Set((options.keptCaps ?? []).map(capabilityName));
  const kernelText: unknown = options.kernelRelease ?? release();
  const kernel = typeof kernelText === 'string' ? kernelVersion(kernelText) : undefined;
  if (!kernel) throw invalidOptions(profile.path, `cannot read the kernel version ${describeValue(kernelText)}`);
  const atLeast = (min: string) => {
    const [major, minor] = kernelVersion(min) ?? [0, 0];
    return kernel[0] > major || (kernel[0] === major && kernel[1] >= minor);
  };
  const defaultAction = action(profile.defaultAction, profile.defaultErrnoRet);
  const rules: SeccompRule[] = [];
  for (const rule of profile.syscalls) {
    // moby's order: excludes (arches, caps, minKernel), then includes.
    const machines = (['x86_64', 'aarch64'] as const).filter((machine) => {
      const aliases = ARCH_ALIASES[machine];
      if (rule.excludes.arches?.some((a) => aliases.includes(a))) return false;
      if (rule.includes.arches && !rule.includes.arches.some((a) => aliases.includes(a))) return false;
      return true;
    });
    if (machines.length === 0) continue;
    if (rule.excludes.caps?.some((cap) => kept.has(capabilityName(cap)))) continue;
    if (rule.excludes.minKernel !== undefined && atLeast(rule.excludes.minKernel)) continue;
    if (rule.includes.caps && !rule.includes.caps.every((cap) => kept.has(capabilityName(cap)))) continue;
    if (rule.includes.minKernel !== undefined && !atLeast(rule.includes.minKernel)) continue;
    const ruleAction = action(rule.action, rule.errnoRet);
    if (sameAction(ruleAction, defaultAction)) continue;
    const abis = profile.abis.filter((abi) => machines.includes(abi === 'aarch64' ? 'aarch64' : 'x86_64'));
    if (abis.length === 0) continue;
    const conditions: SeccompArgCondition[] = rule.args.map((arg) => {
      const op = OPS[arg.op] ?? '==';
      // libseccomp compares (arg & mask) == (valueTwo & mask).
      return op === 'masked=='
        ? { index: arg.index, op, value: arg.valueTwo & arg.value, mask: arg.value }
        : { index: arg.index, op, value: arg.value };
    });
    const perIndex = new Map<number, number>();
    for (const c of conditions) perIndex.set(c.index, (perIndex.get(c.index) ?? 0) + 1);
    const groups = [...perIndex.values()].some((n) => n > 1) ? conditions.map((c) => [c]) : [conditions];
    for (const args of groups) {
      const out: SeccompRule = { names: rule.names, action: ruleAction, origin: rule.path };
      if (args.length > 0) out.args = args;
      if (abis.length < profile.abis.length) out.abis = abis;
      if (rule.comment !== undefined) out.comment = rule.comment;
      rules.push(out);
    }
  }
  return { defaultAction, badArchAction: 'kill-process', abis: [...profile.abis], rules, unknownSyscalls: 'skip', conflicts: 'strictest' };
}

/** parseDockerProfile() then dockerPolicy(): a Docker/OCI profile as a typed policy. */
export function loadDockerProfile(json: unknown, options: DockerLoadOptions & { path?: string } = {}): SeccompPolicy {
  return dockerPolicy(parseDockerProfile(json, options.path), options);
}
