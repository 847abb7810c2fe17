// libseccomp 2.5 through koffi, as an oracle: it compiles the same rules, and its BPF runs
// through our interpreter next to ours. Test code only (core's koffi(), never 'koffi').
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { koffi } from '@iso/core/native';
import type { Arch } from '@iso/core';
import { decodeFilter } from '../src/bpf.js';
import { runFilter } from '../src/interpret.js';
import type { BpfInstruction } from '../src/bpf.js';
import type { SeccompAbi } from '../src/options.js';
import { abisOfArch, normalizePolicy } from '../src/policy.js';
import type { CompareOp, NormalizedPolicy } from '../src/policy.js';
import type { SeccompPolicy, SeccompRule } from '../src/options.js';
import { actionOf } from '../src/actions.js';

type Fn = (...args: unknown[]) => unknown;

interface Lib {
  init: Fn;
  release: Fn;
  archAdd: Fn;
  archRemove: Fn;
  attrSet: Fn;
  ruleAdd: Fn;
  merge: Fn;
  exportBpf: Fn;
  resolveName: Fn;
  resolveNameArch: Fn;
  version: Fn;
}

let lib: Lib | undefined;

function load(): Lib {
  if (lib) return lib;
  const k = koffi();
  const so = k.load('libseccomp.so.2');
  lib = {
    init: so.func('void *seccomp_init(uint32_t def_action)') as Fn,
    release: so.func('void seccomp_release(void *ctx)') as Fn,
    archAdd: so.func('int seccomp_arch_add(void *ctx, uint32_t arch_token)') as Fn,
    archRemove: so.func('int seccomp_arch_remove(void *ctx, uint32_t arch_token)') as Fn,
    attrSet: so.func('int seccomp_attr_set(void *ctx, int attr, uint32_t value)') as Fn,
    ruleAdd: so.func('int seccomp_rule_add_array(void *ctx, uint32_t action, int syscall, unsigned int arg_cnt, void *arg_array)') as Fn,
    merge: so.func('int seccomp_merge(void *dst, void *src)') as Fn,
    exportBpf: so.func('int seccomp_export_bpf(void *ctx, int fd)') as Fn,
    resolveName: so.func('int seccomp_syscall_resolve_name(const char *name)') as Fn,
    resolveNameArch: so.func('int seccomp_syscall_resolve_name_arch(uint32_t arch_token, const char *name)') as Fn,
    version: so.func('void *seccomp_version(void)') as Fn,
  };
  return lib;
}

/** libseccomp's version, like '2.5.4'. */
export function libseccompVersion(): string {
  const l = load();
  return Array.from(koffi().decode(l.version(), koffi().array('uint', 3)) as Uint32Array).join('.');
}

/** SCMP_ARCH_* tokens (AUDIT_ARCH values; x32 has its own token). */
export const TOKENS: Readonly<Record<SeccompAbi, number>> = {
  x86_64: 0xc000003e,
  x32: 0x4000003e,
  i386: 0x40000003,
  aarch64: 0xc00000b7,
};

const ATTR_ACT_BADARCH = 2;
const ATTR_CTL_OPTIMIZE = 8;
const OPS: Readonly<Record<CompareOp, number>> = { '!=': 1, '<': 2, '<=': 3, '==': 4, '>=': 5, '>': 6, 'masked==': 7 };

/**
 * i386 numbers libseccomp fills with multiplexed rules of its own: a rule on socket() or
 * semop() also becomes a socketcall(2)/ipc(2) rule there, which iso does not do. They
 * are left out of comparisons on i386.
 */
export const I386_MULTIPLEXERS: readonly number[] = [102, 117];

export interface OracleFilter {
  instructions: BpfInstruction[];
  /** Per ABI, numbers the two compilers may treat differently: names libseccomp does not know. */
  excluded: Map<SeccompAbi, Set<number>>;
  /** Names libseccomp does not know, per ABI, in rules of this policy. */
  unknown: Map<SeccompAbi, Set<string>>;
  /** Names libseccomp numbers differently from iso's tables. */
  mismatched: string[];
}

/**
 * Compiles a checked policy with libseccomp for `arch` (binary-tree optimization on),
 * as runc would: unknown names skipped, rules with the default action dropped.
 */
export function libseccompCompile(policy: NormalizedPolicy, arch: Arch): OracleFilter {
  const l = load();
  const excluded = new Map<SeccompAbi, Set<number>>();
  const unknown = new Map<SeccompAbi, Set<string>>();
  const mismatched: string[] = [];
  const abis = abisOfArch(arch).filter((abi) => policy.abis.includes(abi));
  const contexts: unknown[] = [];
  try {
    for (const abi of abis) {
      const skip = new Set<number>(abi === 'i386' ? I386_MULTIPLEXERS : []);
      const names = new Set<string>();
      excluded.set(abi, skip);
      unknown.set(abi, names);
      const ctx = l.init(policy.defaultAction);
      if (!ctx) throw new Error('seccomp_init failed');
      contexts.push(ctx);
      check(l.attrSet(ctx, ATTR_ACT_BADARCH, policy.badArchAction), 'attr badarch');
      check(l.attrSet(ctx, ATTR_CTL_OPTIMIZE, 2), 'attr optimize');
      if (abi !== 'x86_64') {
        check(l.archAdd(ctx, TOKENS[abi]), `arch_add ${abi}`);
        check(l.archRemove(ctx, TOKENS.x86_64), 'arch_remove native');
      }
      for (const rule of policy.rules) {
        if (rule.action === policy.defaultAction) continue;
        const args = Buffer.alloc(24 * rule.conditions.length);
        rule.conditions.forEach((c, i) => {
          args.writeUInt32LE(c.index, 24 * i);
          args.writeUInt32LE(OPS[c.op], 24 * i + 4);
          args.writeBigUInt64LE(c.op === 'masked==' ? c.mask : c.value, 24 * i + 8);
          args.writeBigUInt64LE(c.op === 'masked==' ? c.value : 0n, 24 * i + 16);
        });
        for (const [name, nr] of rule.syscalls.get(abi) ?? []) {
          const theirs = Number(l.resolveNameArch(TOKENS[abi], name));
          if (theirs < 0) {
            names.add(name);
            skip.add(nr);
            continue;
          }
          if (theirs >>> 0 !== nr) {
            mismatched.push(`${abi}:${name}=${nr}/${theirs}`);
            skip.add(nr);
            skip.add(theirs >>> 0);
            continue;
          }
          // The native number (or a pseudo number), which libseccomp maps to each arch by name.
          const native = Number(l.resolveName(name));
          const rc = Number(l.ruleAdd(ctx, rule.action, native, rule.conditions.length, rule.conditions.length ? args : null));
          if (rc !== 0) throw new Error(`seccomp_rule_add(${name} on ${abi}, ${rule.path}) failed: ${rc}`);
        }
      }
    }
    const [first, ...others] = contexts;
    for (const other of others) {
      check(l.merge(first, other), 'merge');
      contexts.splice(contexts.indexOf(other), 1);
    }
    const dir = mkdtempSync(join(tmpdir(), 'iso-seccomp-oracle-'));
    try {
      const file = join(dir, 'filter.bpf');
      const fd = openSync(file, 'w+');
      try {
        check(l.exportBpf(first, fd), 'export_bpf');
      } finally {
        closeSync(fd);
      }
      return { instructions: decodeFilter(readFileSync(file)), excluded, unknown, mismatched };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    for (const ctx of contexts) l.release(ctx);
  }
}

function check(rc: unknown, what: string): void {
  if (Number(rc) !== 0) throw new Error(`libseccomp ${what} failed: ${String(rc)}`);
}

/**
 * The policy as libseccomp saw it: per ABI, only the names it knows. Compiling this with
 * iso compares filter sizes on equal input (libseccomp 2.5.4 lacks newer syscalls, so it
 * compiles fewer rules).
 */
export function libseccompView(policy: NormalizedPolicy, oracle: OracleFilter): SeccompPolicy {
  const rules: SeccompRule[] = [];
  for (const rule of policy.rules)
    for (const [abi, calls] of rule.syscalls) {
      const names = calls.map(([name]) => name).filter((name) => !oracle.unknown.get(abi)?.has(name));
      if (names.length === 0) continue;
      const out: SeccompRule = { names, action: actionOf(rule.action), abis: [abi] };
      if (rule.conditions.length > 0)
        out.args = rule.conditions.map((c) => (c.op === 'masked==' ? { index: c.index, op: c.op, value: c.value, mask: c.mask } : { index: c.index, op: c.op, value: c.value }));
      rules.push(out);
    }
  return { defaultAction: actionOf(policy.defaultAction), badArchAction: actionOf(policy.badArchAction), abis: policy.abis, rules };
}

/**
 * libseccomp's own opinion of each rule of one call, alone: the actions of the rules whose
 * single-rule libseccomp filter matches these arguments (rules with the default action
 * cannot be judged this way and are left out). When libseccomp's full filter answers
 * something none of these justify, it contradicts itself: a bug in how it merges rules,
 * whatever the meaning of overlapping rules is taken to be.
 */
export function libseccompRuleVerdicts(policy: NormalizedPolicy, arch: Arch, abi: SeccompAbi, nr: number, args: readonly bigint[]): number[] {
  const out: number[] = [];
  const data = { arch: TOKENS[abi] === TOKENS.x32 ? TOKENS.x86_64 : TOKENS[abi], nr, args };
  for (const rule of policy.table.get(abi)?.get(nr) ?? []) {
    if (rule.action === policy.defaultAction) continue;
    const name = rule.syscalls.get(abi)?.find(([, n]) => n === nr)?.[0];
    if (name === undefined) continue;
    const single: SeccompPolicy = {
      defaultAction: actionOf(policy.defaultAction),
      badArchAction: actionOf(policy.badArchAction),
      abis: policy.abis,
      rules: [{ names: [name], action: actionOf(rule.action), abis: [abi], args: rule.conditions.map((c) => ({ index: c.index, op: c.op, value: c.value, ...(c.op === 'masked==' ? { mask: c.mask } : {}) })) }],
    };
    const filter = libseccompCompile(normalizePolicy(single), arch);
    if (runFilter(filter.instructions, data).value === rule.action) out.push(rule.action);
  }
  return out;
}
