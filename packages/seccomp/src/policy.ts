// The typed policy checked and resolved: actions as return values, argument values as
// unsigned 64-bit numbers, names as syscall numbers per ABI. The compiler and the
// reference evaluator below both work from this form, so they share one meaning.
import { invalidOptions, syscallTable } from '@iso/core';
import type { Arch } from '@iso/core';
import { SECCOMP_RET, actionPrecedence, encodeAction } from './actions.js';
import { AUDIT_ARCH, X32_SYSCALL_BIT } from './bpf.js';
import type { SeccompAbi, SeccompArgCondition, SeccompPolicy, SeccompRule } from './options.js';

export const ABIS: readonly SeccompAbi[] = ['x86_64', 'x32', 'i386', 'aarch64'];

/** The ABIs a filter for `arch` can serve, native first. */
export function abisOfArch(arch: Arch): readonly SeccompAbi[] {
  return arch === 'x86_64' ? ['x86_64', 'x32', 'i386'] : ['aarch64'];
}

/** The machine whose filter serves `abi`. */
export function archOfAbi(abi: SeccompAbi): Arch {
  return abi === 'aarch64' ? 'aarch64' : 'x86_64';
}

/** seccomp_data.arch for calls of `abi`. */
export function auditArchOf(abi: SeccompAbi): number {
  switch (abi) {
    case 'x86_64':
    case 'x32':
      return AUDIT_ARCH.x86_64;
    case 'i386':
      return AUDIT_ARCH.i386;
    case 'aarch64':
      return AUDIT_ARCH.aarch64;
  }
}

/** Whether the ABI's arguments are compared as 32-bit values. */
export function isNarrowAbi(abi: SeccompAbi): boolean {
  return abi === 'i386' || abi === 'x32';
}

/** The number `abi`'s calls of `name` carry in seccomp_data.nr, or undefined. */
export function wireNumber(abi: SeccompAbi, name: string): number | undefined {
  const table = syscallTable(abi);
  if (!Object.hasOwn(table, name)) return undefined;
  const nr = table[name];
  if (nr === undefined) return undefined;
  return abi === 'x32' ? (nr | X32_SYSCALL_BIT) >>> 0 : nr;
}

export type CompareOp = SeccompArgCondition['op'];

export const U64_MAX = (1n << 64n) - 1n;

/** A condition with its values as unsigned 64-bit numbers; `mask` is all ones except for masked==. */
export interface NormalizedCondition {
  index: number;
  op: CompareOp;
  value: bigint;
  mask: bigint;
}

export interface NormalizedRule {
  /** Position in the policy's `rules`. */
  index: number;
  /** The option path errors and explanations name, such as 'seccomp.rules[3]'. */
  path: string;
  action: number;
  /** Sorted by argument index. */
  conditions: readonly NormalizedCondition[];
  /** The syscalls of the rule per ABI, as [name, number in seccomp_data.nr]. */
  syscalls: ReadonlyMap<SeccompAbi, readonly (readonly [string, number])[]>;
  comment?: string;
}

export interface NormalizedPolicy {
  defaultAction: number;
  badArchAction: number;
  abis: readonly SeccompAbi[];
  rules: readonly NormalizedRule[];
  /** Per ABI and syscall number, the rules in the order they are tried: most restrictive first. */
  table: ReadonlyMap<SeccompAbi, ReadonlyMap<number, readonly NormalizedRule[]>>;
}

const POLICY_KEYS = new Set(['defaultAction', 'badArchAction', 'abis', 'rules', 'unknownSyscalls', 'conflicts']);
const RULE_KEYS = new Set(['names', 'action', 'args', 'abis', 'origin', 'comment']);
const CONDITION_KEYS = new Set(['index', 'op', 'value', 'mask']);
const OPS = new Set<string>(['==', '!=', '<', '<=', '>', '>=', 'masked==']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkKeys(value: Record<string, unknown>, allowed: ReadonlySet<string>, path: string): void {
  for (const key of Object.keys(value)) if (!allowed.has(key)) throw invalidOptions(`${path}.${key}`, 'unknown option');
}

/** A 64-bit value as unsigned; negative numbers become their two's complement. */
export function toU64(value: unknown, path: string): bigint {
  let big: bigint;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw invalidOptions(path, 'expected an integer (use a bigint above 2^53)');
    big = BigInt(value);
  } else if (typeof value === 'bigint') {
    big = value;
  } else {
    throw invalidOptions(path, 'expected a bigint or an integer');
  }
  if (big < -(1n << 63n) || big > U64_MAX) throw invalidOptions(path, 'out of the 64-bit range');
  return BigInt.asUintN(64, big);
}

function checkAbis(value: unknown, path: string, within?: readonly SeccompAbi[]): SeccompAbi[] {
  if (!Array.isArray(value) || value.length === 0) throw invalidOptions(path, `expected a non-empty array of ${ABIS.join(', ')}`);
  const out: SeccompAbi[] = [];
  value.forEach((abi: unknown, i) => {
    if (typeof abi !== 'string' || !(ABIS as readonly string[]).includes(abi)) throw invalidOptions(`${path}[${i}]`, `expected one of ${ABIS.join(', ')}`);
    const known = abi as SeccompAbi;
    if (within && !within.includes(known)) throw invalidOptions(`${path}[${i}]`, `${known} is not among the policy's abis (${within.join(', ')})`);
    if (!out.includes(known)) out.push(known);
  });
  return out;
}

function checkCondition(value: unknown, path: string): NormalizedCondition {
  if (!isRecord(value)) throw invalidOptions(path, 'expected { index, op, value, mask? }');
  checkKeys(value, CONDITION_KEYS, path);
  const { index, op } = value;
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index > 5)
    throw invalidOptions(`${path}.index`, 'expected an argument index from 0 to 5');
  if (typeof op !== 'string' || !OPS.has(op)) throw invalidOptions(`${path}.op`, `expected one of ${[...OPS].join(' ')}`);
  const number = toU64(value.value, `${path}.value`);
  if (op !== 'masked==') {
    if (value.mask !== undefined) throw invalidOptions(`${path}.mask`, 'only masked== takes a mask');
    return { index, op: op as CompareOp, value: number, mask: U64_MAX };
  }
  if (value.mask === undefined) throw invalidOptions(`${path}.mask`, 'masked== needs a mask');
  const mask = toU64(value.mask, `${path}.mask`);
  if ((number & ~mask) !== 0n) throw invalidOptions(`${path}.value`, `has bits outside the mask 0x${mask.toString(16)}, so it never matches`);
  return { index, op: 'masked==', value: number, mask };
}

const OP_ORDER: readonly CompareOp[] = ['==', '!=', '<', '<=', '>', '>=', 'masked=='];

function compareConditions(a: NormalizedCondition, b: NormalizedCondition): number {
  if (a.index !== b.index) return a.index - b.index;
  if (a.op !== b.op) return OP_ORDER.indexOf(a.op) - OP_ORDER.indexOf(b.op);
  if (a.value !== b.value) return a.value < b.value ? -1 : 1;
  return a.mask === b.mask ? 0 : a.mask < b.mask ? -1 : 1;
}

/** A key equal for rules with the same conditions. */
export function conditionsKey(conditions: readonly NormalizedCondition[]): string {
  return conditions.map((c) => `${c.index}${c.op}${c.value.toString(16)}/${c.mask.toString(16)}`).join('&');
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++)
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)));
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function suggestion(name: string, abis: readonly SeccompAbi[]): string {
  let best: string | undefined;
  let distance = 3;
  for (const abi of abis)
    for (const candidate of Object.keys(syscallTable(abi))) {
      const d = editDistance(name, candidate);
      if (d < distance) [best, distance] = [candidate, d];
    }
  return best === undefined ? '' : ` (did you mean ${JSON.stringify(best)}?)`;
}

function normalizeRule(value: unknown, index: number, path: string, abis: readonly SeccompAbi[], skipUnknown: boolean): NormalizedRule {
  if (!isRecord(value)) throw invalidOptions(path, 'expected { names, action, args?, abis? }');
  const rule = value as Partial<SeccompRule> & Record<string, unknown>;
  if (rule.origin !== undefined && (typeof rule.origin !== 'string' || rule.origin === '')) throw invalidOptions(`${path}.origin`, 'expected a string');
  if (rule.origin !== undefined) path = rule.origin;
  checkKeys(value, RULE_KEYS, path);
  if (rule.comment !== undefined && typeof rule.comment !== 'string') throw invalidOptions(`${path}.comment`, 'expected a string');
  const ruleAbis = rule.abis === undefined ? abis : checkAbis(rule.abis, `${path}.abis`, abis);
  const action = encodeAction(rule.action as SeccompRule['action'], `${path}.action`);
  let conditions: NormalizedCondition[] = [];
  if (rule.args !== undefined) {
    if (!Array.isArray(rule.args)) throw invalidOptions(`${path}.args`, 'expected an array of conditions');
    if (rule.args.length > 6) throw invalidOptions(`${path}.args`, `at most 6 argument conditions, got ${rule.args.length}`);
    conditions = rule.args.map((c: unknown, i) => checkCondition(c, `${path}.args[${i}]`)).sort(compareConditions);
  }
  if (!Array.isArray(rule.names) || rule.names.length === 0) throw invalidOptions(`${path}.names`, 'expected a non-empty array of syscall names');
  const syscalls = new Map<SeccompAbi, [string, number][]>();
  rule.names.forEach((name: unknown, i) => {
    const at = `${path}.names[${i}]`;
    if (typeof name !== 'string' || name === '') throw invalidOptions(at, 'expected a syscall name');
    let known = false;
    for (const abi of ruleAbis) {
      const nr = wireNumber(abi, name);
      if (nr === undefined) continue;
      known = true;
      const list = syscalls.get(abi) ?? [];
      if (!list.some(([, n]) => n === nr)) list.push([name, nr]);
      syscalls.set(abi, list);
    }
    if (!known && !skipUnknown) throw invalidOptions(at, `unknown syscall ${JSON.stringify(name)} for ${ruleAbis.join(', ')}${suggestion(name, ruleAbis)}`);
  });
  const out: NormalizedRule = { index, path, action, conditions, syscalls };
  if (rule.comment !== undefined) out.comment = rule.comment;
  return out;
}

/**
 * Checks a typed policy and resolves it. Throws ISO_INVALID_OPTIONS naming the option
 * path (`path`, then `.rules[3].names[0]`...), or a rule's `origin` when it has one.
 */
export function normalizePolicy(given: SeccompPolicy, path = 'seccomp'): NormalizedPolicy {
  if (!isRecord(given)) throw invalidOptions(path, 'expected a policy object');
  checkKeys(given, POLICY_KEYS, path);
  const policy: SeccompPolicy = given;
  const defaultAction = encodeAction(policy.defaultAction ?? { errno: 'EPERM' }, `${path}.defaultAction`);
  const badArchAction = encodeAction(policy.badArchAction ?? 'kill-process', `${path}.badArchAction`);
  if (defaultAction === SECCOMP_RET.USER_NOTIF) throw invalidOptions(`${path}.defaultAction`, 'notify cannot be the default action');
  if (badArchAction === SECCOMP_RET.USER_NOTIF) throw invalidOptions(`${path}.badArchAction`, 'notify cannot be the bad-arch action');
  const abis = policy.abis === undefined ? (['x86_64', 'aarch64'] as SeccompAbi[]) : checkAbis(policy.abis, `${path}.abis`);
  if (!abis.includes('x86_64') && !abis.includes('aarch64')) throw invalidOptions(`${path}.abis`, 'needs x86_64 or aarch64');
  if ((abis.includes('i386') || abis.includes('x32')) && !abis.includes('x86_64'))
    throw invalidOptions(`${path}.abis`, 'i386 and x32 are served by the x86_64 filter, so list x86_64 too');
  const unknown = policy.unknownSyscalls ?? 'error';
  if (unknown !== 'error' && unknown !== 'skip') throw invalidOptions(`${path}.unknownSyscalls`, "expected 'error' or 'skip'");
  const conflicts = policy.conflicts ?? 'error';
  if (conflicts !== 'error' && conflicts !== 'strictest') throw invalidOptions(`${path}.conflicts`, "expected 'error' or 'strictest'");
  const list: unknown = policy.rules ?? [];
  if (!Array.isArray(list)) throw invalidOptions(`${path}.rules`, 'expected an array of rules');
  const rules = list.map((rule: unknown, i) => normalizeRule(rule, i, `${path}.rules[${i}]`, abis, unknown === 'skip'));

  const table = new Map<SeccompAbi, Map<number, NormalizedRule[]>>();
  for (const abi of abis) table.set(abi, new Map());
  for (const rule of rules)
    for (const [abi, list] of rule.syscalls)
      for (const [, nr] of list) {
        const byNumber = table.get(abi);
        if (!byNumber) continue;
        const existing = byNumber.get(nr) ?? [];
        if (!existing.includes(rule)) existing.push(rule);
        byNumber.set(nr, existing);
      }
  for (const [abi, byNumber] of table)
    for (const [nr, list] of byNumber) {
      const seen = new Map<string, NormalizedRule>();
      for (const rule of list) {
        const key = conditionsKey(rule.conditions);
        const earlier = seen.get(key);
        // 'strictest' keeps both: the sort below puts the more restrictive one first.
        if (earlier && earlier.action !== rule.action && conflicts === 'error') {
          const name = rule.syscalls.get(abi)?.find(([, n]) => n === nr)?.[0] ?? String(nr);
          throw invalidOptions(rule.path, `conflicts with ${earlier.path}: same syscall ${JSON.stringify(name)} (${abi}) and conditions, different action`);
        }
        if (!earlier) seen.set(key, rule);
      }
      list.sort((a, b) => actionPrecedence(a.action) - actionPrecedence(b.action) || a.index - b.index);
    }
  return { defaultAction, badArchAction, abis, rules, table };
}

/** The ABI of a call under a filter built for `arch`, or undefined if the filter blocks its arch. */
export function abiOfCall(policy: NormalizedPolicy, arch: Arch, auditArch: number, nr: number): SeccompAbi | undefined {
  let abi: SeccompAbi | undefined;
  if (arch === 'x86_64') {
    // -1 is a tracer's "skip this call", not an x32 number.
    if (auditArch >>> 0 === AUDIT_ARCH.x86_64) abi = nr >>> 0 >= X32_SYSCALL_BIT && nr >>> 0 !== 0xffffffff ? 'x32' : 'x86_64';
    else if (auditArch >>> 0 === AUDIT_ARCH.i386) abi = 'i386';
  } else if (auditArch >>> 0 === AUDIT_ARCH.aarch64) {
    abi = 'aarch64';
  }
  return abi !== undefined && policy.abis.includes(abi) ? abi : undefined;
}

/** Whether a condition holds for an argument, with the ABI's width. */
export function conditionHolds(condition: NormalizedCondition, argument: bigint, narrow: boolean): boolean {
  const cut = narrow ? 0xffffffffn : U64_MAX;
  const x = BigInt.asUintN(64, argument) & cut;
  const v = condition.value & cut;
  switch (condition.op) {
    case '==':
      return x === v;
    case '!=':
      return x !== v;
    case '<':
      return x < v;
    case '<=':
      return x <= v;
    case '>':
      return x > v;
    case '>=':
      return x >= v;
    case 'masked==':
      return (x & condition.mask & cut) === (v & condition.mask);
  }
}

export interface PolicyVerdict {
  /** The filter's return value. */
  value: number;
  reason: 'rule' | 'default' | 'bad-arch';
  rule?: NormalizedRule;
  abi?: SeccompAbi;
}

/**
 * What the policy means for one call, straight from the rules rather than from BPF: the
 * reference that compiled filters are tested against, and what explain() names.
 */
export function evaluatePolicy(
  policy: NormalizedPolicy,
  arch: Arch,
  call: { auditArch: number; nr: number; args?: readonly (bigint | number)[] },
): PolicyVerdict {
  const abi = abiOfCall(policy, arch, call.auditArch, call.nr);
  if (abi === undefined) return { value: policy.badArchAction, reason: 'bad-arch' };
  const narrow = isNarrowAbi(abi);
  const args = call.args ?? [];
  for (const rule of policy.table.get(abi)?.get(call.nr >>> 0) ?? [])
    if (rule.conditions.every((c) => conditionHolds(c, BigInt(args[c.index] ?? 0), narrow))) return { value: rule.action, reason: 'rule', rule, abi };
  return { value: policy.defaultAction, reason: 'default', abi };
}
