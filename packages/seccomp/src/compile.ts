// The compiler: a checked policy becomes one classic BPF program per machine.
//
// The program is built as a DAG of two node kinds, `ret` and `cmp` (load a 32-bit word
// of seccomp_data, maybe AND it, jump on a comparison), hash-consed so equal subtrees
// exist once, with tests whose outcome is already known on the way in dropped. Shape:
//
//   1. arch check: seccomp_data.arch against each handled AUDIT_ARCH, else bad-arch;
//   2. per arch, a tree of `jge` over the syscall number whose leaves are ranges of
//      numbers with one outcome (an allowlist of 300 calls is a tree over a few dozen
//      ranges), ending in short `jeq` chains for isolated numbers. On x86_64, numbers
//      with X32_SYSCALL_BIT are just the upper range of that tree: the x32 subtree or
//      the bad-arch action (but -1, which a tracer sets to skip a call, counts as x86_64,
//      as in libseccomp);
//   3. per syscall with argument rules, the rules in order (most restrictive first), each
//      64-bit argument compared as two 32-bit halves, high word then low word, unsigned;
//   4. the default action wherever nothing matched.
//
// Layout goes back to front, so every jump is forward and false branches mostly fall
// through. Classic BPF's jt/jf offsets are 8 bits: a jump farther than 255 goes through
// the nearest copy of its `ret`, or a `ja` trampoline, placed within reach.
import { invalidOptions, syscallTable } from '@iso/core';
import type { Arch } from '@iso/core';
import { BPF, BPF_MAXINSNS, SECCOMP_DATA, X32_SYSCALL_BIT, argHigh, argLow, encodeFilter } from './bpf.js';
import type { BpfInstruction } from './bpf.js';
import type { SeccompAbi, SeccompPolicy } from './options.js';
import { abisOfArch, auditArchOf, isNarrowAbi, normalizePolicy, wireNumber } from './policy.js';
import type { NormalizedCondition, NormalizedPolicy, NormalizedRule } from './policy.js';

/** A compiled filter: the bytes for the kernel and what explain() needs. */
export interface CompiledFilter {
  readonly arch: Arch;
  /** The ABIs the filter answers for; other calls get the bad-arch action. */
  readonly abis: readonly SeccompAbi[];
  readonly instructions: readonly BpfInstruction[];
  /** struct sock_filter[], as seccomp(SECCOMP_SET_MODE_FILTER) takes it through struct sock_fprog. */
  readonly bytes: Buffer;
  /** The checked policy it came from; explain() names its rules. */
  readonly policy: NormalizedPolicy;
}

type JumpOp = typeof BPF.JEQ | typeof BPF.JGT | typeof BPF.JGE | typeof BPF.JSET;

// Opcodes as plain constants for the hot paths below.
const { LD, W, ABS, ALU, AND, K, JMP, JA, JEQ, JGT, JGE, JSET, RET } = BPF;

interface RetNode {
  kind: 'ret';
  id: number;
  value: number;
}

interface CmpNode {
  kind: 'cmp';
  id: number;
  /** Offset in seccomp_data of the word to test. */
  load: number;
  /** Mask ANDed into the word before the test, if any. */
  and: number | undefined;
  op: JumpOp;
  k: number;
  t: Node;
  f: Node;
}

type Node = RetNode | CmpNode;

const ALL = 0xffffffff;

/**
 * What is known about one 32-bit word on a path through the filter: a range, values it
 * is not, bits known clear, and masks of which some bit is known set.
 */
interface Fact {
  min: number;
  max: number;
  not: readonly number[];
  clear: number;
  someSet: readonly number[];
}

const UNKNOWN: Fact = { min: 0, max: ALL, not: [], clear: 0, someSet: [] };

/** The fact after `a <op> k` came out as `outcome`. */
function learn(fact: Fact, op: JumpOp, k: number, outcome: boolean): Fact {
  switch (op) {
    case JEQ:
      return outcome ? { ...fact, min: k, max: k } : { ...fact, not: [...fact.not, k] };
    case JGT:
      return outcome ? { ...fact, min: Math.max(fact.min, k + 1) } : { ...fact, max: Math.min(fact.max, k) };
    case JGE:
      return outcome ? { ...fact, min: Math.max(fact.min, k) } : { ...fact, max: Math.min(fact.max, k - 1) };
    case JSET:
      return outcome ? { ...fact, someSet: [...fact.someSet, k] } : { ...fact, clear: (fact.clear | k) >>> 0 };
  }
}

/** The outcome of `a <op> k` given the fact, or undefined when it is open. */
function decide(fact: Fact, op: JumpOp, k: number): boolean | undefined {
  if (fact.min === fact.max) {
    const a = fact.min;
    if (op === JEQ) return a === k;
    if (op === JGT) return a > k;
    if (op === JGE) return a >= k;
    return ((a & k) >>> 0) !== 0;
  }
  switch (op) {
    case JEQ:
      if (k < fact.min || k > fact.max || fact.not.includes(k)) return false;
      if (((k & fact.clear) >>> 0) !== 0 || fact.someSet.some((m) => ((m & k) >>> 0) === 0)) return false;
      return undefined;
    case JGT:
      return fact.min > k ? true : fact.max <= k ? false : undefined;
    case JGE:
      return fact.min >= k ? true : fact.max < k ? false : undefined;
    case JSET:
      if (((k & ~fact.clear) >>> 0) === 0) return false;
      if (fact.someSet.some((m) => ((m & k) >>> 0) === m)) return true;
      return undefined;
  }
}

/** Builds hash-consed nodes and drops tests whose outcome is fixed. */
class Builder {
  private readonly nodes = new Map<string, Node>();
  private next = 0;

  ret(value: number): Node {
    const key = `r${value >>> 0}`;
    let node = this.nodes.get(key);
    if (!node) {
      node = { kind: 'ret', id: this.next++, value: value >>> 0 };
      this.nodes.set(key, node);
    }
    return node;
  }

  cmp(load: number, op: JumpOp, k: number, t: Node, f: Node, and?: number): Node {
    const mask = and === undefined || and >>> 0 === ALL ? undefined : and >>> 0;
    const value = k >>> 0;
    const fixed = decide(mask === undefined ? UNKNOWN : { ...UNKNOWN, max: mask, clear: ~mask >>> 0 }, op, value);
    if (fixed !== undefined) return fixed ? t : f;
    if (t === f) return t;
    const key = `c${load}/${mask ?? ''}/${op}/${value}/${t.id}/${f.id}`;
    let node = this.nodes.get(key);
    if (!node) {
      node = { kind: 'cmp', id: this.next++, load, and: mask, op, k: value, t, f };
      this.nodes.set(key, node);
    }
    return node;
  }

  private readonly specialized = new Map<number, Node>();
  private readonly wordsUnder = new Map<number, ReadonlySet<string>>();

  /** The words tested anywhere under `node`. */
  private words(node: Node): ReadonlySet<string> {
    if (node.kind === 'ret') return EMPTY;
    let out = this.wordsUnder.get(node.id);
    if (!out) {
      out = new Set([wordOf(node), ...this.words(node.t), ...this.words(node.f)]);
      this.wordsUnder.set(node.id, out);
    }
    return out;
  }

  /**
   * The subgraph under `node` rebuilt with what each path already learned, so that a
   * test repeated by the next rule (the high word of the same argument, say) is skipped.
   * Returns `node` itself if the rebuilt graph would grow past `budget` nodes.
   */
  specialize(node: Node, budget: number): Node {
    const done = this.specialized.get(node.id);
    if (done) return done;
    const memo = new Map<string, Node>();
    let made = 0;
    const walk = (at: Node, facts: ReadonlyMap<string, Fact>): Node => {
      if (at.kind === 'ret') return at;
      const word = wordOf(at);
      const fact = facts.get(word) ?? UNKNOWN;
      const known = decide(fact, at.op, at.k);
      if (known !== undefined) return walk(known ? at.t : at.f, facts);
      // Only facts about words still tested below can change the result.
      const relevant = this.words(at);
      let key = String(at.id);
      for (const [w, f] of facts) if (relevant.has(w)) key += `|${w}:${f.min},${f.max},${f.not.join('.')},${f.clear},${f.someSet.join('.')}`;
      const seen = memo.get(key);
      if (seen) return seen;
      if (++made > budget) throw new RangeError('specialization budget');
      const withOutcome = (outcome: boolean) => new Map(facts).set(word, learn(fact, at.op, at.k, outcome));
      const built = this.cmp(at.load, at.op, at.k, walk(at.t, withOutcome(true)), walk(at.f, withOutcome(false)), at.and);
      memo.set(key, built);
      return built;
    };
    let out = node;
    try {
      out = walk(node, new Map());
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
    }
    this.specialized.set(node.id, out);
    return out;
  }
}

const EMPTY: ReadonlySet<string> = new Set();

function wordOf(node: CmpNode): string {
  return `${node.load}/${node.and ?? ''}`;
}

function halves(value: bigint): [number, number] {
  return [Number((value >> 32n) & 0xffffffffn), Number(value & 0xffffffffn)];
}

/** `(word & mask) == value` for one 32-bit half, with jset where it saves an AND. */
function maskedHalf(b: Builder, load: number, mask: number, value: number, t: Node, f: Node): Node {
  if (mask === 0) return t;
  if (value === 0) return b.cmp(load, JSET, mask, f, t);
  if (value === mask && ((mask & (mask - 1)) >>> 0) === 0) return b.cmp(load, JSET, mask, t, f);
  return b.cmp(load, JEQ, value, t, f, mask);
}

/** One argument condition: true → t, false → f. */
function condition(b: Builder, c: NormalizedCondition, narrow: boolean, t: Node, f: Node): Node {
  const lo = argLow(c.index);
  const hi = argHigh(c.index);
  const [h, l] = halves(c.value);
  if (narrow) {
    // i386 and x32: the low word only, as libseccomp does for 32-bit ABIs.
    switch (c.op) {
      case '==':
        return b.cmp(lo, JEQ, l, t, f);
      case '!=':
        return b.cmp(lo, JEQ, l, f, t);
      case '>':
        return b.cmp(lo, JGT, l, t, f);
      case '>=':
        return b.cmp(lo, JGE, l, t, f);
      case '<':
        return b.cmp(lo, JGE, l, f, t);
      case '<=':
        return b.cmp(lo, JGT, l, f, t);
      case 'masked==': {
        const [, ml] = halves(c.mask);
        return maskedHalf(b, lo, ml, (l & ml) >>> 0, t, f);
      }
    }
  }
  // Unsigned 64-bit: decide on the high word, and look at the low word only when the
  // high words are equal.
  const greater = (orEqual: boolean, yes: Node, no: Node): Node =>
    b.cmp(hi, JGT, h, yes, b.cmp(hi, JEQ, h, b.cmp(lo, orEqual ? JGE : JGT, l, yes, no), no));
  switch (c.op) {
    case '==':
      return b.cmp(hi, JEQ, h, b.cmp(lo, JEQ, l, t, f), f);
    case '!=':
      return b.cmp(hi, JEQ, h, b.cmp(lo, JEQ, l, f, t), t);
    case '>':
      return greater(false, t, f);
    case '>=':
      return greater(true, t, f);
    case '<':
      return greater(true, f, t);
    case '<=':
      return greater(false, f, t);
    case 'masked==': {
      const [mh, ml] = halves(c.mask);
      return maskedHalf(b, hi, mh, h, maskedHalf(b, lo, ml, l, t, f), f);
    }
  }
}

/** The rules of one syscall, tried in order; `otherwise` when none matches. */
function ruleChain(b: Builder, rules: readonly NormalizedRule[], narrow: boolean, otherwise: Node): Node {
  let next = otherwise;
  for (let i = rules.length - 1; i >= 0; i--) {
    const rule = rules[i];
    if (!rule) continue;
    let node = b.ret(rule.action);
    for (let j = rule.conditions.length - 1; j >= 0; j--) {
      const c = rule.conditions[j];
      if (c) node = condition(b, c, narrow, node, next);
    }
    next = node;
  }
  return rules.some((rule) => rule.conditions.length > 0) ? b.specialize(next, 64 + 16 * rules.length) : next;
}

interface Range {
  start: number;
  node: Node;
  /** How many real syscalls fall in the range: the tree keeps heavy ranges shallow. */
  weight: number;
}

/** At most this many numbers are tested one by one with jeq before the tree splits. */
const CHAIN = 4;

/** Runs up to this long are tested number by number inside a chain. */
const RUN = 1;

/**
 * A tree over ranges of syscall numbers: `jge` splits, and at the bottom up to CHAIN
 * numbers tested with `jeq` before one common outcome, so an isolated syscall costs one
 * jeq rather than two range boundaries.
 */
function numberTree(b: Builder, ranges: readonly Range[], balance: Balance): Node {
  const end = (i: number) => ranges[i + 1]?.start ?? 2 ** 32;
  const length = (i: number) => end(i) - (ranges[i]?.start ?? 0);
  // The outcome of most numbers in [lo, hi]: the node of its widest range.
  const base = (lo: number, hi: number): Node | undefined => {
    let widest = lo;
    for (let i = lo + 1; i <= hi; i++) if (length(i) > length(widest)) widest = i;
    return ranges[widest]?.node;
  };
  // Numbers in ranges[i] with another outcome than `common`; a run of more than RUN
  // numbers costs less as two range boundaries than as jeq tests, so it counts as too many.
  const points = (i: number, common: Node | undefined) => (ranges[i]?.node === common ? 0 : length(i) > RUN ? CHAIN + 1 : length(i));
  const prefixWeight = [0];
  for (const range of ranges) prefixWeight.push((prefixWeight[prefixWeight.length - 1] ?? 0) + range.weight);
  const weight = (from: number, to: number) => (prefixWeight[to] ?? 0) - (prefixWeight[from] ?? 0);
  const build = (lo: number, hi: number): Node => {
    const only = ranges[lo];
    if (lo === hi && only) return only.node;
    const common = base(lo, hi);
    // Points before each range of [lo, hi].
    const before = [0];
    for (let i = lo; i <= hi; i++) before.push((before[before.length - 1] ?? 0) + points(i, common));
    const total = before[before.length - 1] ?? 0;
    if (common && total <= CHAIN) {
      let node = common;
      for (let i = hi; i >= lo; i--) {
        const range = ranges[i];
        if (!range || range.node === common) continue;
        for (let nr = end(i) - 1; nr >= range.start; nr--) node = b.cmp(SECCOMP_DATA.nr, JEQ, nr, range.node, node);
      }
      return node;
    }
    // Split into [lo, s) and [s, hi].
    let best = lo + 1;
    let bestScore = Infinity;
    for (let s = lo + 1; s <= hi; s++) {
      const left = balance === 'points' ? (before[s - lo] ?? 0) : weight(lo, s);
      const right = balance === 'points' ? total - (before[s - lo] ?? 0) : weight(s, hi + 1);
      const score = Math.abs(left - right) * 1024 + Math.abs(s - lo - (hi + 1 - s));
      if (score < bestScore) [best, bestScore] = [s, score];
    }
    const split = ranges[best];
    if (!split) throw new Error('unreachable: empty range split');
    return b.cmp(SECCOMP_DATA.nr, JGE, split.start, build(best, hi), build(lo, best - 1));
  };
  return build(0, ranges.length - 1);
}

const DEFINED = new Map<SeccompAbi, readonly number[]>();

/** Sorted syscall numbers of an ABI as the filter sees them. */
function definedNumbers(abi: SeccompAbi): readonly number[] {
  let numbers = DEFINED.get(abi);
  if (!numbers) {
    numbers = Object.keys(syscallTable(abi))
      .map((name) => wireNumber(abi, name) ?? 0)
      .sort((a, b) => a - b);
    DEFINED.set(abi, numbers);
  }
  return numbers;
}

/** Ranges covering 0..2^32-1 for one AUDIT_ARCH value. */
function ranges(b: Builder, policy: NormalizedPolicy, abis: readonly SeccompAbi[], fallback: (nr: number) => Node): Range[] {
  const points = new Map<number, Node>();
  const defined: number[] = [];
  for (const abi of abis) {
    const narrow = isNarrowAbi(abi);
    for (const [nr, rules] of policy.table.get(abi) ?? []) points.set(nr, ruleChain(b, rules, narrow, fallback(nr)));
    defined.push(...definedNumbers(abi));
  }
  defined.sort((a, z) => a - z);
  // Boundaries: every number with rules, the one after it, and where the fallback changes.
  const starts = new Set<number>([0]);
  for (const nr of points.keys()) {
    starts.add(nr);
    if (nr < ALL) starts.add(nr + 1);
  }
  if (abis.includes('x86_64')) [X32_SYSCALL_BIT, ALL].forEach((nr) => starts.add(nr));
  const sorted = [...starts].sort((a, z) => a - z);
  const out: Range[] = [];
  let d = 0;
  sorted.forEach((start, i) => {
    const end = sorted[i + 1] ?? 2 ** 32;
    let weight = 0;
    while (d < defined.length && (defined[d] ?? 0) < start) d++;
    while (d < defined.length && (defined[d] ?? 0) < end) [d, weight] = [d + 1, weight + 1];
    const node = points.get(start) ?? fallback(start);
    const last = out[out.length - 1];
    if (last && last.node === node) last.weight += weight;
    else out.push({ start, node, weight });
  });
  return out;
}

/**
 * How the number tree splits: by the weight of real syscalls (keeps most calls shallow;
 * best for allowlists) or by the count of numbers with their own outcome (fewest
 * instructions when a policy names scattered syscalls).
 */
type Balance = 'points' | 'weight';

/** The DAG of the whole filter. */
function buildGraph(policy: NormalizedPolicy, arch: Arch, balance: Balance): Node {
  const b = new Builder();
  const badArch = b.ret(policy.badArchAction);
  const otherwise = b.ret(policy.defaultAction);
  const abis = abisOfArch(arch).filter((abi) => policy.abis.includes(abi));
  // One subtree per AUDIT_ARCH value: x86_64 and x32 share one, split by X32_SYSCALL_BIT.
  const groups: [number, SeccompAbi[]][] = [];
  for (const abi of abis) {
    const audit = auditArchOf(abi);
    const group = groups.find(([value]) => value === audit);
    if (group) group[1].push(abi);
    else groups.push([audit, [abi]]);
  }
  let root = badArch;
  for (let g = groups.length - 1; g >= 0; g--) {
    const group = groups[g];
    if (!group) continue;
    const [audit, members] = group;
    // Numbers with X32_SYSCALL_BIT are x32 calls, except -1: a tracer's "skip this call"
    // (libseccomp counts it as x86_64 too).
    const fallback = (nr: number): Node =>
      members.includes('x86_64') && !members.includes('x32') && nr >= X32_SYSCALL_BIT && nr !== ALL ? badArch : otherwise;
    root = b.cmp(SECCOMP_DATA.arch, JEQ, audit, numberTree(b, ranges(b, policy, members, fallback), balance), root);
  }
  return root;
}

/** Nodes in postorder: every node after the nodes it jumps to. */
function postorder(root: Node): Node[] {
  const seen = new Set<number>();
  const out: Node[] = [];
  const visit = (node: Node): void => {
    if (seen.has(node.id)) return;
    seen.add(node.id);
    if (node.kind === 'cmp') {
      visit(node.t);
      visit(node.f);
    }
    out.push(node);
  };
  visit(root);
  return out;
}

/**
 * Lays the DAG out back to front, so every jump target is placed before the jump is, and
 * the false branch usually falls through. Loads are left out where the accumulator
 * already holds the word. A target more than 255 instructions away is reached through
 * the nearest copy of its `ret`, or `ja` to it, within reach, or a new one placed right
 * after the jump; later jumps reuse these.
 */
function layout(root: Node): BpfInstruction[] {
  const nodes = postorder(root);
  // A test needs its load (and AND) unless every way in comes from a test of the same word.
  const needsLoad = new Map<number, boolean>([[root.id, true]]);
  for (const node of nodes) {
    if (node.kind !== 'cmp') continue;
    for (const child of [node.t, node.f]) {
      if (child.kind !== 'cmp') continue;
      const same = child.load === node.load && child.and === node.and;
      needsLoad.set(child.id, (needsLoad.get(child.id) ?? false) || !same);
    }
  }
  // Built in reverse: index i here is the (length - 1 - i)th instruction of the program.
  const reversed: BpfInstruction[] = [];
  // Where each node can be entered: its own first instruction, ret copies, ja trampolines.
  const entries = new Map<number, number>();
  const enter = (node: Node, at: number) => entries.set(node.id, Math.max(entries.get(node.id) ?? -1, at));
  const reach = (target: Node, jump: number) => jump - (entries.get(target.id) ?? -Infinity) - 1;
  for (const node of nodes) {
    if (node.kind === 'ret') {
      reversed.push({ code: RET | K, jt: 0, jf: 0, k: node.value });
      enter(node, reversed.length - 1);
      continue;
    }
    // Trampolines go right after the jump; each one moves the jump one further away.
    let far: Node[] = [];
    for (let count = 0; ; count = far.length) {
      const jump = reversed.length + count;
      far = [node.t, node.f].filter((target, i, all) => reach(target, jump) > 255 && all.indexOf(target) === i);
      if (far.length <= count) break;
    }
    for (const target of [...far].reverse()) {
      const at = reversed.length;
      if (target.kind === 'ret') reversed.push({ code: RET | K, jt: 0, jf: 0, k: target.value });
      else reversed.push({ code: JMP | JA, jt: 0, jf: 0, k: at - (entries.get(target.id) ?? 0) - 1 });
      enter(target, at);
    }
    const jump = reversed.length;
    reversed.push({ code: JMP | node.op | K, jt: reach(node.t, jump), jf: reach(node.f, jump), k: node.k });
    if (needsLoad.get(node.id)) {
      if (node.and !== undefined) reversed.push({ code: ALU | AND | K, jt: 0, jf: 0, k: node.and });
      reversed.push({ code: LD | W | ABS, jt: 0, jf: 0, k: node.load });
    }
    enter(node, reversed.length - 1);
  }
  return reversed.reverse();
}

/**
 * Compiles a policy for one machine (by default this one). Throws ISO_INVALID_OPTIONS for
 * a bad policy, and for one that needs more than BPF_MAXINSNS (4096) instructions.
 */
export function compilePolicy(policy: SeccompPolicy | NormalizedPolicy, arch: Arch, path = 'seccomp'): CompiledFilter {
  const normalized = isNormalized(policy) ? policy : normalizePolicy(policy, path);
  const native: SeccompAbi = arch;
  if (!normalized.abis.includes(native)) throw invalidOptions(`${path}.abis`, `the policy has no rules for ${arch}; add '${arch}' to abis`);
  // Both ways of splitting; keep the one that runs fewer instructions per native syscall
  // (median), then the shorter one.
  const candidates = (['weight', 'points'] as const).map((balance) => {
    const program = layout(buildGraph(normalized, arch, balance));
    return { program, cost: medianExecuted(program, native) };
  });
  candidates.sort((a, b) => a.cost - b.cost || a.program.length - b.program.length);
  const instructions = candidates[0]?.program ?? [];
  if (instructions.length > BPF_MAXINSNS)
    throw invalidOptions(path, `compiles to ${instructions.length} BPF instructions for ${arch}; the kernel takes at most ${BPF_MAXINSNS} (BPF_MAXINSNS)`);
  return {
    arch,
    abis: abisOfArch(arch).filter((abi) => normalized.abis.includes(abi)),
    instructions,
    bytes: encodeFilter(instructions),
    policy: normalized,
  };
}

/**
 * The median number of instructions a program runs for the defined syscalls of `abi`
 * (no arguments). A tiny runner for what the compiler emits: loads, AND, jumps, returns.
 */
function medianExecuted(program: readonly BpfInstruction[], abi: SeccompAbi): number {
  const words = new Uint32Array(SECCOMP_DATA.size / 4);
  words[1] = auditArchOf(abi);
  const counts = definedNumbers(abi).map((nr) => {
    words[0] = nr;
    let a = 0;
    let executed = 0;
    for (let pc = 0; pc < program.length; pc++) {
      const insn = program[pc];
      if (!insn) break;
      executed++;
      const cls = insn.code & 0x07;
      if (cls === RET) break;
      if (cls === LD) a = words[insn.k >>> 2] ?? 0;
      else if (cls === ALU) a = (a & insn.k) >>> 0;
      else if ((insn.code & 0xf0) === JA) pc += insn.k;
      else {
        const op = insn.code & 0xf0;
        const taken = op === JEQ ? a === insn.k : op === JGT ? a > insn.k : op === JGE ? a >= insn.k : (a & insn.k) !== 0;
        pc += taken ? insn.jt : insn.jf;
      }
    }
    return executed;
  });
  counts.sort((x, y) => x - y);
  return counts[Math.floor(counts.length / 2)] ?? 0;
}

function isNormalized(policy: SeccompPolicy | NormalizedPolicy): policy is NormalizedPolicy {
  return 'table' in policy && policy.table instanceof Map;
}
