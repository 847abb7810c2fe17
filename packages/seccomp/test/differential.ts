// Helpers of the differential tests: a seeded PRNG, random policies whose meaning does not
// depend on how overlapping rules are resolved, and a comparison of filters on every
// syscall number and on argument values around each comparison constant.
import { syscallTable } from '@iso/core';
import type { Arch } from '@iso/core';
import { AUDIT_ARCH, BPF, X32_SYSCALL_BIT } from '../src/bpf.js';
import type { BpfInstruction } from '../src/bpf.js';
import type { FilterInput } from '../src/interpret.js';
import { runFilter, seccompDataWords, traceFilter } from '../src/interpret.js';
import type { SeccompAbi, SeccompAction, SeccompArgCondition, SeccompPolicy, SeccompRule } from '../src/options.js';
import { abisOfArch, auditArchOf, evaluatePolicy, wireNumber } from '../src/policy.js';
import type { NormalizedPolicy } from '../src/policy.js';

/** mulberry32: small, fast, good enough to pick test cases reproducibly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rng = () => number;

const int = (rng: Rng, n: number) => Math.floor(rng() * n);
const pick = <T>(rng: Rng, items: readonly T[]): T => {
  const item = items[int(rng, items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
};
const u32 = (rng: Rng) => BigInt(int(rng, 2 ** 32));
const u64 = (rng: Rng) => (u32(rng) << 32n) | u32(rng);

function randomAction(rng: Rng, allowNotify: boolean): SeccompAction {
  const roll = int(rng, allowNotify ? 9 : 8);
  switch (roll) {
    case 0:
    case 1:
      return 'allow';
    case 2:
      return { errno: 1 + int(rng, 150) };
    case 3:
      return 'kill-process';
    case 4:
      return 'kill-thread';
    case 5:
      return 'trap';
    case 6:
      return 'log';
    case 7:
      return { trace: int(rng, 65536) };
    default:
      return 'notify';
  }
}

const key = (action: SeccompAction) => JSON.stringify(action);
const NAMES = new Map<string, string[]>();

/**
 * A random policy where rules with different actions never overlap on a call: each
 * conditional rule takes a "slot", a test of one discriminating argument, and slots are
 * disjoint (distinct ==, a < below them all, a > above them all, or distinct values under
 * one mask). Then every sane resolution of overlaps, iso's (most restrictive wins) and
 * libseccomp's (tree order), gives the same answer, and the two must agree exactly.
 */
export function randomPolicy(rng: Rng): SeccompPolicy {
  const abis: SeccompAbi[] = ['x86_64', 'aarch64'];
  if (rng() < 0.5) abis.push('i386');
  if (rng() < 0.3) abis.push('x32');
  const narrow = abis.includes('i386') || abis.includes('x32');
  const defaultAction = randomAction(rng, false);
  const badArchAction = pick<SeccompAction>(rng, ['kill-process', 'kill-thread', { errno: 38 }, 'trap', 'allow', 'log']);
  const disc = int(rng, 6);
  // Slots as lists of interchangeable conditions on the discriminating argument.
  const slots: SeccompArgCondition[][] = [];
  if (rng() < 0.6) {
    const wide = !narrow && rng() < 0.5;
    const low = wide ? u64(rng) >> 2n : BigInt(1 + int(rng, 1000));
    const high = low + BigInt(20 + int(rng, 1000));
    slots.push([
      { index: disc, op: '<', value: low },
      { index: disc, op: '<=', value: low - 1n },
    ]);
    slots.push([
      { index: disc, op: '>', value: high },
      { index: disc, op: '>=', value: high + 1n },
    ]);
    const values = new Set<bigint>();
    while (values.size < 6) values.add(low + BigInt(int(rng, Number(high - low) + 1)));
    for (const value of values) slots.push([{ index: disc, op: '==', value }]);
  } else {
    let mask = narrow ? u32(rng) | (u32(rng) << 32n) : u64(rng);
    if ((mask & 0xffffffffn) === 0n) mask |= 0xf0n;
    const bits: bigint[] = [];
    for (let b = 0n; b < 64n; b++) if ((mask >> b) & 1n) bits.push(1n << b);
    const low = bits.filter((bit) => bit <= 0xffffffffn);
    const seen = new Set<bigint>();
    for (let tries = 0; tries < 50 && slots.length < 6; tries++) {
      let value = 0n;
      for (const bit of bits) if (rng() < 0.5) value |= bit;
      const identity = narrow ? value & 0xffffffffn : value;
      if (narrow && low.length === 0) break;
      if (seen.has(identity)) continue;
      seen.add(identity);
      slots.push([{ index: disc, op: 'masked==', value, mask }]);
    }
  }
  const namesOf = (ruleAbis: readonly SeccompAbi[]) => {
    const key = ruleAbis.join();
    let names = NAMES.get(key);
    if (!names) NAMES.set(key, (names = [...new Set(ruleAbis.flatMap((abi) => Object.keys(syscallTable(abi))))]));
    return names;
  };
  const accepted = new Map<string, { action: string; slot: number | null }[]>();
  const rules: SeccompRule[] = [];
  const count = 1 + int(rng, 30);
  for (let r = 0; r < count; r++) {
    const ruleAbis = rng() < 0.2 ? abis.filter(() => rng() < 0.6) : abis;
    if (ruleAbis.length === 0) continue;
    const action = randomAction(rng, true);
    const slot = slots.length > 0 && rng() < 0.6 ? int(rng, slots.length) : null;
    const args: SeccompArgCondition[] = [];
    if (slot !== null) {
      args.push(pick(rng, slots[slot] ?? []));
      const others = [0, 1, 2, 3, 4, 5].filter((i) => i !== disc);
      for (let e = int(rng, 3); e > 0; e--) {
        const index = others.splice(int(rng, others.length), 1)[0] ?? 0;
        const op = pick(rng, ['==', '!=', '<', '<=', '>', '>=', 'masked=='] as const);
        const value = rng() < 0.5 ? u64(rng) : BigInt(int(rng, 100));
        if (op === 'masked==') {
          const mask = rng() < 0.5 ? u64(rng) : BigInt(int(rng, 256));
          args.push({ index, op, value: value & mask, mask });
        } else {
          args.push({ index, op, value });
        }
      }
    }
    const pool = namesOf(ruleAbis);
    const names = new Set<string>();
    for (let n = 1 + int(rng, 8); n > 0; n--) names.add(pick(rng, pool));
    const kept = [...names].filter((name) => {
      const calls = ruleAbis.flatMap((abi) => {
        const nr = wireNumber(abi, name);
        return nr === undefined ? [] : [`${abi}:${nr}`];
      });
      const clash = calls.some((call) =>
        (accepted.get(call) ?? []).some((other) => other.action !== key(action) && (other.slot === null || slot === null || other.slot === slot)),
      );
      if (clash) return false;
      for (const call of calls) accepted.set(call, [...(accepted.get(call) ?? []), { action: key(action), slot }]);
      return true;
    });
    if (kept.length === 0) continue;
    const rule: SeccompRule = { names: kept, action };
    if (args.length > 0) rule.args = args;
    if (ruleAbis !== abis) rule.abis = ruleAbis;
    rules.push(rule);
  }
  return { defaultAction, badArchAction, abis, rules };
}

const MAX = (1n << 64n) - 1n;
const wrap = (value: bigint) => BigInt.asUintN(64, value);

/** Argument vectors around the constants of the rules of one call. */
export function argumentSamples(policy: NormalizedPolicy, abi: SeccompAbi, nr: number, rng: Rng): bigint[][] {
  const rules = policy.table.get(abi)?.get(nr) ?? [];
  const candidates: bigint[][] = [[], [], [], [], [], []];
  const add = (index: number, ...values: bigint[]) => candidates[index]?.push(...values.map(wrap));
  for (const rule of rules)
    for (const c of rule.conditions) {
      const v = c.value;
      add(c.index, v, v - 1n, v + 1n, v ^ (1n << 32n), v & 0xffffffffn, v | (0xffffffffn << 32n), (v & 0xffffffffn) - 1n);
      if (c.op === 'masked==') {
        const lowest = c.mask & -c.mask;
        add(c.index, v | (~c.mask & u64(rng)), v ^ lowest, v ^ (c.mask & u64(rng)));
      }
    }
  const common = [0n, 1n, 0xffffffffn, 1n << 32n, 1n << 63n, MAX];
  const draw = (index: number) => {
    const list = candidates[index] ?? [];
    return list.length > 0 && rng() < 0.8 ? pick(rng, list) : pick(rng, common);
  };
  const out: bigint[][] = [];
  candidates.forEach((list, index) => {
    // Each boundary value once (up to 16 per argument), the other arguments drawn.
    for (const value of [...new Set(list)].slice(0, 16)) {
      const args = [0, 1, 2, 3, 4, 5].map(draw);
      args[index] = value;
      out.push(args);
    }
  });
  for (let i = 0; i < 8; i++) out.push([0, 1, 2, 3, 4, 5].map(draw));
  return out;
}

export interface Mismatch {
  abi: SeccompAbi | 'other-arch';
  nr: number;
  args: bigint[];
  reference: string;
  ours: string;
  theirs: string;
}

export interface Comparison {
  calls: number;
  /** Calls where iso's filter and the reference meaning differ: always a failure. */
  mismatches: Mismatch[];
  /** Calls where iso agrees with the reference and libseccomp does not: to be judged. */
  oracle: (Mismatch & { staleAccumulator: boolean })[];
}

/**
 * Conditional jumps whose accumulator may hold different things depending on the path
 * that reached them: a forward dataflow over the program of what A was loaded from. A
 * correct compiler never emits one (its comparison would test whichever word came last).
 */
export function ambiguousJumps(program: readonly BpfInstruction[]): Set<number> {
  const states = program.map(() => new Set<string>());
  states[0]?.add('none');
  const out = new Set<number>();
  program.forEach((insn, pc) => {
    const here = states[pc] ?? new Set<string>();
    const cls = insn.code & 0x07;
    let next = here;
    if (insn.code === (BPF.LD | BPF.W | BPF.ABS)) next = new Set([`[${insn.k}]`]);
    else if (insn.code === (BPF.ALU | BPF.AND | BPF.K)) next = new Set([...here].map((s) => `${s}&${insn.k}`));
    else if (cls === BPF.LD || cls === BPF.ALU || cls === BPF.MISC) next = new Set([`other@${pc}`]);
    const flow = (target: number) => {
      for (const s of next) states[target]?.add(s);
    };
    if (cls === BPF.RET) return;
    if (cls === BPF.JMP) {
      if ((insn.code & 0xf0) === BPF.JA) flow(pc + 1 + insn.k);
      else {
        if (here.size > 1) out.add(pc);
        flow(pc + 1 + insn.jt);
        flow(pc + 1 + insn.jf);
      }
      return;
    }
    flow(pc + 1);
  });
  return out;
}

const hex = (value: number) => `0x${(value >>> 0).toString(16)}`;

/** Syscall numbers to try on `abi`: every number up to the table's maximum and beyond, and edge values. */
export function numbersToTry(abi: SeccompAbi): number[] {
  const max = Math.max(...Object.values(syscallTable(abi)));
  const base = abi === 'x32' ? X32_SYSCALL_BIT : 0;
  const out: number[] = [];
  for (let nr = 0; nr <= max + 64; nr++) out.push(base + nr);
  out.push(0x3fffffff, 0x40000000, 0x400003ff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff);
  return out;
}

/**
 * Runs iso's filter, libseccomp's filter and the policy's reference meaning on the same
 * calls and collects disagreements. `excluded` numbers (names libseccomp does not know)
 * are compared between iso and the reference only.
 */
export function compareFilters(
  policy: NormalizedPolicy,
  arch: Arch,
  ours: FilterInput,
  theirs: readonly BpfInstruction[],
  excluded: ReadonlyMap<SeccompAbi, ReadonlySet<number>>,
  rng: Rng,
): Comparison {
  const mismatches: Mismatch[] = [];
  const oracle: Comparison['oracle'] = [];
  const ambiguous = ambiguousJumps(theirs);
  let calls = 0;
  const one = (abi: Mismatch['abi'], auditArch: number, nr: number, args: bigint[], skipTheirs: boolean) => {
    calls++;
    const words = seccompDataWords({ arch: auditArch, nr, args });
    const reference = evaluatePolicy(policy, arch, { auditArch, nr, args }).value;
    const a = runFilter(ours, words).value;
    const b = skipTheirs ? reference : runFilter(theirs, words).value;
    if (a === reference && b === reference) return;
    const mismatch = { abi, nr, args, reference: hex(reference), ours: hex(a), theirs: skipTheirs ? '(excluded)' : hex(b) };
    if (a !== reference) mismatches.push(mismatch);
    else oracle.push({ ...mismatch, staleAccumulator: traceFilter(theirs, words).path.some((pc) => ambiguous.has(pc)) });
  };
  for (const abi of abisOfArch(arch)) {
    const auditArch = auditArchOf(abi);
    const skip = excluded.get(abi) ?? new Set<number>();
    for (const nr of numbersToTry(abi)) {
      one(abi, auditArch, nr, [0n, 0n, 0n, 0n, 0n, 0n], skip.has(nr));
      if (!policy.abis.includes(abi)) continue;
      const rules = policy.table.get(abi)?.get(nr) ?? [];
      if (rules.some((rule) => rule.conditions.length > 0))
        for (const args of argumentSamples(policy, abi, nr, rng)) one(abi, auditArch, nr, args, skip.has(nr));
    }
  }
  const others = arch === 'x86_64' ? [AUDIT_ARCH.aarch64, AUDIT_ARCH.arm, 0, 0xffffffff] : [AUDIT_ARCH.x86_64, AUDIT_ARCH.i386, AUDIT_ARCH.arm, 0];
  for (const auditArch of others) for (const nr of [0, 1, 59, 221]) one('other-arch', auditArch, nr, [], false);
  return { calls, mismatches, oracle };
}

/** Median of a list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return sorted.length % 2 ? (sorted[Math.floor(middle)] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/**
 * A random policy with no care for overlaps: several rules per syscall with different
 * actions, several conditions on one argument. Only iso can compile these with a defined
 * meaning (the most restrictive match wins), so they test the compiler against the
 * reference evaluator, not against libseccomp. Returns undefined if it drew a conflict.
 */
export function randomOverlappingPolicy(rng: Rng): SeccompPolicy {
  const abis: SeccompAbi[] = ['x86_64', 'aarch64'];
  if (rng() < 0.4) abis.push('i386');
  if (rng() < 0.3) abis.push('x32');
  // A few syscalls get many rules, so overlaps are common.
  const names = ['read', 'write', 'openat', 'socket', 'clone', 'mmap', 'ioctl', 'prctl', 'futex', 'kill'];
  const values = [0n, 1n, 2n, 40n, 0xffffffffn, 1n << 32n, (1n << 32n) + 5n, (1n << 63n) + 7n, (1n << 64n) - 1n];
  const rules: SeccompRule[] = [];
  for (let r = 1 + int(rng, 25); r > 0; r--) {
    const args: SeccompArgCondition[] = [];
    for (let c = int(rng, 4); c > 0; c--) {
      const index = int(rng, 3);
      const op = pick(rng, ['==', '!=', '<', '<=', '>', '>=', 'masked=='] as const);
      const value = rng() < 0.7 ? pick(rng, values) : u64(rng);
      if (op === 'masked==') {
        const mask = rng() < 0.5 ? pick(rng, values) | 1n : u64(rng);
        args.push({ index, op, value: value & mask, mask });
      } else args.push({ index, op, value });
    }
    const rule: SeccompRule = { names: [pick(rng, names), pick(rng, names)], action: randomAction(rng, true) };
    if (args.length) rule.args = args;
    rules.push(rule);
  }
  return { defaultAction: randomAction(rng, false), badArchAction: pick<SeccompAction>(rng, ['kill-process', 'trap', { errno: 1 }]), abis, rules };
}
