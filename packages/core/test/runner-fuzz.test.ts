// Fuzzes the runner's validation with validateProgram() as the oracle. A corpus of valid
// programs (buildProgram with every kind of step and argument) is mutated blindly (bit
// flips, byte sets, truncation, garbage) and field by field (counts, offsets, kinds, slots,
// errnos, relocations), plus pure random bytes. Every input goes to `iso-runner --check`,
// which validates and never executes; the runner must never crash, must accept exactly
// what the oracle accepts, and must name the same rule and step index when it rejects.
// A few hundred rejected inputs also go to the runner in normal mode, which must reject
// them the same way before it runs anything. Inputs the oracle accepts are never run in
// normal mode: a mutated valid program could make arbitrary syscalls.
//
// Reproduce a failure with ISO_FUZZ_SEED=<seed> (printed with the failing input's hex).
import { describe, expect, it } from 'vitest';
import { block, buildProgram, bytes, hostArch, imm, result, str, strings, validateProgram } from '../src/index.js';
import type { ArgSpec, BlockPointer, BlockResult, ChildStep, Verdict } from '../src/index.js';
import {
  HEADER_SIZE,
  HeaderField,
  MAX_ERRNO,
  MAX_PROGRAM_SIZE,
  MAX_SLOTS,
  MAX_STEPS,
  MAX_SYSCALL_NR,
  NO_SLOT,
  ProtocolError,
  RunnerExit,
  STEP_SIZE,
  StepField,
  StepFlag,
  WIRE_MAGIC,
  WIRE_VERSION,
  protocolErrorName,
} from '../src/wire.js';
import { describeControl, protocolMessage, runRunner, startSpawner } from './runner-harness.js';
import type { RunResult } from './runner-harness.js';

const SEED = Number(process.env.ISO_FUZZ_SEED ?? 0x15c0ffee) >>> 0;
const CHECK_INPUTS = 10_200;
const NORMAL_MODE_INPUTS = 300;
/**
 * Runners in flight, spawned by helper processes: a lean process forks faster than a
 * test worker, and two of them keep both cores busy (see startSpawner).
 */
const SPAWNERS = 2;
const IN_FLIGHT_PER_SPAWNER = 6;
/** For the normal-mode runs, spawned here to capture their output. */
const LOCAL_IN_FLIGHT = 4;

/** mulberry32: small, fast, and good enough to pick mutations reproducibly. */
class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
  u32(): number {
    return this.int(0x100000000);
  }
  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }
  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
  text(max: number): string {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz/._-=0123456789 é';
    let s = '';
    for (let i = this.int(max + 1); i > 0; i--) s += alphabet.charAt(this.int(alphabet.length));
    return s;
  }
}

// ---------------------------------------------------------------------------------------
// The corpus: random valid programs.

const SYSCALLS = ['write', 'openat', 'close', 'mount', 'execve', 'chdir', 'getpid', 'kill', 'prctl', 'setns', 'unshare', 'sethostname'] as const;
const ERRNOS = ['ENOENT', 'EPERM', 'EACCES', 'EINVAL', 'EBUSY', 'ENOTDIR'] as const;

/** Names saved by earlier steps, which a block may take a result from (a store step). */
let savedForBlocks: readonly string[] = [];

function arenaArg(rng: Rng, depth: number): BlockPointer['to'] {
  switch (rng.int(depth > 1 ? 3 : 4)) {
    case 0:
      return { kind: 'string', value: rng.text(24) };
    case 1:
      // Empty bytes too: the builder must still give them an offset inside the arena.
      return { kind: 'bytes', value: rng.bytes(rng.int(40)) };
    case 2:
      return { kind: 'strings', value: Array.from({ length: rng.int(4) }, () => rng.text(12)) };
    default: {
      const fields = 1 + rng.int(6);
      const pointers: BlockPointer[] = [];
      const results: BlockResult[] = [];
      for (let f = 0; f < fields; f++) {
        if (rng.chance(0.5)) pointers.push({ at: 8 * f, to: arenaArg(rng, depth + 1) });
        else if (savedForBlocks.length > 0 && rng.chance(0.3)) results.push({ at: 8 * f + rng.pick([0, 4]), name: rng.pick(savedForBlocks), size: 4 });
        else if (savedForBlocks.length > 0 && rng.chance(0.2)) results.push({ at: 8 * f, name: rng.pick(savedForBlocks), size: rng.pick([1, 2, 8] as const) });
      }
      return { kind: 'block', value: rng.bytes(8 * fields + rng.int(8)), pointers, ...(results.length > 0 ? { results } : {}) };
    }
  }
}

function randomArg(rng: Rng, saved: readonly string[]): ArgSpec {
  const roll = rng.int(10);
  if (roll < 4) return imm(rng.chance(0.5) ? rng.int(64) : rng.u64());
  if (roll < 5 && saved.length > 0) return result(rng.pick(saved));
  const arg = arenaArg(rng, 0);
  switch (arg.kind) {
    case 'string':
      return str(arg.value);
    case 'bytes':
      return bytes(arg.value);
    case 'strings':
      return strings(arg.value);
    case 'block':
      return block(arg.value, arg.pointers, undefined, arg.results);
  }
}

function randomSteps(rng: Rng): ChildStep[] {
  const count = rng.chance(0.05) ? 20 + rng.int(60) : 1 + rng.int(9);
  const steps: ChildStep[] = [];
  const saved: string[] = [];
  for (let i = 0; i < count; i++) {
    const roll = rng.int(12);
    if (roll === 0) {
      if (rng.chance(0.5)) steps.push({ op: 'fork', name: 'fuzz.fork' });
      else
        steps.push({
          op: 'fork',
          name: 'fuzz.helper',
          ...(rng.chance(0.5) ? { saveAs: 'helperPid' } : {}),
          helper: Array.from({ length: 1 + rng.int(3) }, (): ChildStep => ({ op: 'syscall', name: 'fuzz.inHelper', syscall: 'getpid', args: [] })),
        });
    } else if (roll === 1) {
      steps.push({ op: 'sync', name: 'fuzz.sync', hook: { name: 'fuzz.hook', run: () => undefined } });
    } else if (roll === 2) {
      const signal = 1 + rng.int(64);
      steps.push(
        rng.chance(0.5)
          ? { op: 'dieWithParent', name: 'fuzz.die', signal }
          : { op: 'dieWithParent', name: 'fuzz.die', signal, expectedParent: rng.int(1 << 22) },
      );
    } else {
      savedForBlocks = saved;
      const args = Array.from({ length: rng.int(7) }, () => randomArg(rng, saved));
      const remaining = count - 1 - i;
      const tolerate = rng.chance(0.4) ? Array.from({ length: 1 + rng.int(4) }, () => rng.pick(ERRNOS)) : [];
      const skip = tolerate.length > 0 && remaining > 0 && rng.chance(0.5) ? 1 + rng.int(remaining) : 0;
      const saveAs = rng.chance(0.4) ? (saved.length > 0 && rng.chance(0.3) ? rng.pick(saved) : `r${saved.length}`) : undefined;
      steps.push({
        op: 'syscall',
        name: 'fuzz.syscall',
        syscall: rng.pick(SYSCALLS),
        args,
        ...(tolerate.length > 0 ? { tolerate } : {}),
        ...(skip > 0 ? { skipOnTolerated: skip } : {}),
        ...(saveAs === undefined ? {} : { saveAs }),
      });
      // A name saved here is usable from the next step on.
      if (saveAs !== undefined && !saved.includes(saveAs)) saved.push(saveAs);
    }
  }
  return steps;
}

/**
 * Skips count flat steps, a helper's too, and buildProgram refuses one that ends inside a
 * helper (this process would run the helper's steps): such a skip is made to skip the
 * helper whole. randomSteps picks skips by top-level steps, as a plan's author counts.
 */
function skipWholeHelpers(steps: readonly ChildStep[]): ChildStep[] {
  const flatIndex: number[] = [];
  const helperEnd = new Map<number, number>(); // flat index of a helper's step -> of its last step
  let at = 0;
  for (const step of steps) {
    flatIndex.push(at);
    if (step.op === 'fork' && step.helper) for (let k = 1; k <= step.helper.length; k++) helperEnd.set(at + k, at + step.helper.length);
    at += 1 + (step.op === 'fork' ? (step.helper?.length ?? 0) : 0);
  }
  return steps.map((step, i) => {
    if (step.op !== 'syscall' || !step.skipOnTolerated) return step;
    const from = flatIndex[i] ?? 0;
    const end = helperEnd.get(from + step.skipOnTolerated + 1);
    return end === undefined ? step : { ...step, skipOnTolerated: end - from };
  });
}

// ---------------------------------------------------------------------------------------
// Mutations.

interface Layout {
  stepCount: number;
  relocOffset: number;
  relocCount: number;
  arenaOffset: number;
  arenaSize: number;
}

function layoutOf(b: Buffer): Layout {
  return {
    stepCount: b.readUInt32LE(HeaderField.stepCount),
    relocOffset: b.readUInt32LE(HeaderField.relocOffset),
    relocCount: b.readUInt32LE(HeaderField.relocCount),
    arenaOffset: b.readUInt32LE(HeaderField.arenaOffset),
    arenaSize: b.readUInt32LE(HeaderField.arenaSize),
  };
}

const INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x03, 0x04, 0x07, 0x08, 0x0f, 0x10, 0x1f, 0x20, 0x3f, 0x40, 0x7f, 0x80, 0xfe, 0xff];

function interestingU32(rng: Rng, around: number): number {
  const candidates = [
    0,
    1,
    2,
    HEADER_SIZE - 1,
    HEADER_SIZE,
    HEADER_SIZE + 1,
    around,
    around - 1,
    around + 1,
    around - 4,
    around + 4,
    around - 8,
    around + 8,
    around * 2,
    MAX_STEPS,
    MAX_STEPS + 1,
    MAX_PROGRAM_SIZE,
    MAX_PROGRAM_SIZE + 1,
    MAX_PROGRAM_SIZE / 4,
    MAX_PROGRAM_SIZE / 4 + 1,
    0x7fffffff,
    0x80000000,
    0xffffffff,
    rng.u32(),
  ];
  return rng.pick(candidates) >>> 0;
}

/** Recomputes the derived header fields so that the layout holds for the buffer as it is. */
function fixLayout(b: Buffer): void {
  const stepCount = b.readUInt32LE(HeaderField.stepCount);
  const relocCount = b.readUInt32LE(HeaderField.relocCount);
  if (stepCount > MAX_STEPS || relocCount > 64) return;
  const relocOffset = HEADER_SIZE + stepCount * STEP_SIZE;
  const arenaOffset = (relocOffset + 4 * relocCount + 7) & ~7;
  if (arenaOffset > b.length) return;
  b.writeUInt32LE(relocOffset, HeaderField.relocOffset);
  b.writeUInt32LE(arenaOffset, HeaderField.arenaOffset);
  b.writeUInt32LE(b.length - arenaOffset, HeaderField.arenaSize);
  b.writeUInt32LE(b.length, HeaderField.totalSize);
}

function setHeaderField(rng: Rng, b: Buffer): void {
  const fields = [
    [HeaderField.magic, 4],
    [HeaderField.version, 2],
    [HeaderField.headerSize, 2],
    [HeaderField.totalSize, 4],
    [HeaderField.stepCount, 4],
    [HeaderField.relocOffset, 4],
    [HeaderField.relocCount, 4],
    [HeaderField.arenaOffset, 4],
    [HeaderField.arenaSize, 4],
  ] as const;
  const [at, size] = rng.pick(fields);
  if (size === 2) {
    b.writeUInt16LE(rng.pick([0, 1, 2, HEADER_SIZE, HEADER_SIZE + 8, 0xffff, b.readUInt16LE(at) ^ (1 << rng.int(16))]), at);
  } else {
    const value = interestingU32(rng, b.readUInt32LE(at));
    b.writeUInt32LE(at === HeaderField.magic && rng.chance(0.3) ? (WIRE_MAGIC ^ (1 << rng.int(32))) >>> 0 : value, at);
  }
  // Often keep the layout consistent, so the body checks are reached with the odd counts.
  if ((at === HeaderField.stepCount || at === HeaderField.relocCount) && rng.chance(0.6)) fixLayout(b);
}

function setStepField(rng: Rng, b: Buffer): void {
  const { stepCount, arenaSize } = layoutOf(b);
  if (stepCount === 0 || HEADER_SIZE + stepCount * STEP_SIZE > b.length) return;
  const at = HEADER_SIZE + rng.int(Math.min(stepCount, MAX_STEPS)) * STEP_SIZE;
  if (at + STEP_SIZE > b.length) return;
  switch (rng.int(8)) {
    case 0:
      b.writeUInt16LE(rng.chance(0.7) ? rng.int(7) : rng.int(0x10000), at + StepField.op);
      break;
    case 1:
      b.writeUInt16LE(rng.pick([0, 1, 0x8000, rng.int(0x10000)]), at + StepField.flags);
      break;
    case 2:
      b.writeUInt16LE(rng.pick([NO_SLOT, NO_SLOT - 1, MAX_SLOTS, MAX_SLOTS - 1, rng.int(MAX_SLOTS + 2), rng.int(0x10000)]), at + StepField.resultSlot);
      break;
    case 3:
      b.writeUInt16LE(rng.pick([0, 1, stepCount - 1, stepCount, stepCount + 1, rng.int(8), rng.int(0x10000)]) & 0xffff, at + StepField.skip);
      break;
    case 4:
      b.writeUInt32LE(rng.pick([0, 1, 2, 7, 8, 9, 63, 64, 65, stepCount, MAX_SYSCALL_NR - 1, MAX_SYSCALL_NR, 0xffff, 0x10000, 0x40000000 | rng.int(512), rng.u32()]) >>> 0, at + StepField.nr);
      break;
    case 5: {
      const kinds = b.readUInt32LE(at + StepField.argKinds);
      const nibble = rng.int(8);
      const kind = rng.chance(0.8) ? rng.int(4) : rng.int(16);
      const next = rng.chance(0.9) ? (kinds & ~(0xf << (4 * nibble))) | (kind << (4 * nibble)) : rng.u32();
      b.writeUInt32LE(next >>> 0, at + StepField.argKinds);
      break;
    }
    case 6: {
      const t = rng.int(4);
      b.writeUInt16LE(rng.pick([0, 1, 2, MAX_ERRNO, MAX_ERRNO + 1, 0xffff, rng.int(0x10000)]), at + StepField.tolerated + 2 * t);
      break;
    }
    default: {
      const a = rng.int(6);
      const value = rng.pick([0n, 1n, BigInt(arenaSize) - 1n, BigInt(arenaSize), BigInt(arenaSize) + 1n, BigInt(rng.int(MAX_SLOTS + 2)), rng.u64()]);
      b.writeBigUInt64LE(BigInt.asUintN(64, value), at + StepField.args + 8 * a);
    }
  }
}

function setReloc(rng: Rng, b: Buffer): void {
  const { relocOffset, relocCount, arenaOffset, arenaSize } = layoutOf(b);
  if (relocCount === 0 || relocCount > 4096 || relocOffset + 4 * relocCount > b.length) return;
  const j = rng.int(relocCount);
  const at = relocOffset + 4 * j;
  const current = b.readUInt32LE(at);
  if (rng.chance(0.3) && arenaOffset + current + 8 <= b.length) {
    const target = rng.pick([BigInt(arenaSize) - 1n, BigInt(arenaSize), BigInt(arenaSize) + 8n, 0n, rng.u64()]);
    b.writeBigUInt64LE(BigInt.asUintN(64, target), arenaOffset + current);
    return;
  }
  const previous = j > 0 ? b.readUInt32LE(at - 4) : 0;
  const value = rng.pick([current + 1, current + 4, current - 8, current + 8, previous, previous + 8, arenaSize - 8, arenaSize - 4, arenaSize, 0, rng.u32()]);
  b.writeUInt32LE(value >>> 0, at);
}

/** A header that holds together around random, loosely step-shaped bytes. */
function randomBody(rng: Rng): Buffer {
  const stepCount = 1 + rng.int(5);
  const relocCount = rng.int(4);
  const arenaSize = rng.chance(0.2) ? rng.int(8) : 8 * (1 + rng.int(8));
  const relocOffset = HEADER_SIZE + stepCount * STEP_SIZE;
  const arenaOffset = (relocOffset + 4 * relocCount + 7) & ~7;
  const b = Buffer.alloc(arenaOffset + arenaSize);
  b.writeUInt32LE(WIRE_MAGIC, HeaderField.magic);
  b.writeUInt16LE(WIRE_VERSION, HeaderField.version);
  b.writeUInt16LE(HEADER_SIZE, HeaderField.headerSize);
  b.writeUInt32LE(b.length, HeaderField.totalSize);
  b.writeUInt32LE(stepCount, HeaderField.stepCount);
  b.writeUInt32LE(relocOffset, HeaderField.relocOffset);
  b.writeUInt32LE(relocCount, HeaderField.relocCount);
  b.writeUInt32LE(arenaOffset, HeaderField.arenaOffset);
  b.writeUInt32LE(arenaSize, HeaderField.arenaSize);
  for (let i = 0; i < stepCount; i++) {
    const at = HEADER_SIZE + i * STEP_SIZE;
    const op = rng.chance(0.9) ? 1 + rng.int(5) : rng.int(8);
    b.writeUInt16LE(op, at + StepField.op);
    b.writeUInt16LE((op === 1 || op === 2) && rng.chance(0.5) ? rng.int(MAX_SLOTS) : NO_SLOT, at + StepField.resultSlot);
    if (op === 1) b.writeUInt32LE(rng.int(MAX_SYSCALL_NR), at + StepField.nr);
    if (op === 2 && rng.chance(0.5)) {
      b.writeUInt16LE(StepFlag.helper, at + StepField.flags);
      b.writeUInt32LE(rng.int(stepCount + 1), at + StepField.nr);
    }
    if (op === 4) b.writeUInt32LE(1 + rng.int(64), at + StepField.nr);
    if (op === 5) b.writeUInt32LE(rng.pick([1, 2, 4, 8, rng.int(10)]), at + StepField.nr);
    if (op === 1 && rng.chance(0.3)) b.writeUInt16LE(1 + rng.int(MAX_ERRNO), at + StepField.tolerated);
    let kinds = 0;
    for (let a = 0; a < 6; a++) {
      if ((op !== 1 && op !== 5) || rng.chance(0.5)) continue;
      const kind = op === 5 && a < 2 && rng.chance(0.8) ? (a === 0 ? 3 : 2) : 1 + rng.int(3);
      kinds |= kind << (4 * a);
      const value = kind === 1 ? rng.u64() : kind === 2 ? BigInt(rng.int(arenaSize + 2)) : BigInt(rng.int(4));
      b.writeBigUInt64LE(value, at + StepField.args + 8 * a);
    }
    b.writeUInt32LE(kinds, at + StepField.argKinds);
    if (rng.chance(0.05)) b[at + rng.int(STEP_SIZE)] = rng.int(256);
  }
  let off = 0;
  for (let j = 0; j < relocCount; j++) {
    off += rng.chance(0.9) ? 8 * rng.int(2) + (j === 0 ? 0 : 8) : rng.int(16);
    b.writeUInt32LE(off, relocOffset + 4 * j);
    if (arenaOffset + off + 8 <= b.length) b.writeBigUInt64LE(BigInt(rng.int(arenaSize + 2)), arenaOffset + off);
  }
  return b;
}

function mutateOnce(rng: Rng, input: Buffer): Buffer {
  const b = Buffer.from(input);
  if (b.length === 0) return rng.bytes(rng.int(64));
  const { relocOffset, relocCount, arenaOffset } = layoutOf(b.length >= HEADER_SIZE ? b : Buffer.alloc(HEADER_SIZE));
  const setByteIn = (from: number, to: number): Buffer => {
    const lo = Math.min(from, b.length - 1);
    const hi = Math.max(lo + 1, Math.min(to, b.length));
    b[lo + rng.int(hi - lo)] = rng.chance(0.5) ? rng.pick(INTERESTING_BYTES) : rng.int(256);
    return b;
  };
  switch (rng.int(12)) {
    case 0: {
      for (let k = 1 + rng.int(8); k > 0; k--) {
        const at = rng.int(b.length);
        b[at] = (b[at] ?? 0) ^ (1 << rng.int(8));
      }
      return b;
    }
    case 1:
      return setByteIn(0, HEADER_SIZE);
    case 2:
      return setByteIn(HEADER_SIZE, relocOffset);
    case 3:
      return relocCount > 0 ? setByteIn(relocOffset, relocOffset + 4 * relocCount) : setByteIn(0, b.length);
    case 4:
      return setByteIn(arenaOffset, b.length);
    case 5:
      return b.subarray(0, rng.int(b.length));
    case 6:
      return Buffer.concat([b, rng.bytes(1 + rng.int(64))]);
    case 7:
    case 8:
      if (b.length >= HEADER_SIZE) setHeaderField(rng, b);
      return b;
    case 9:
    case 10:
      if (b.length >= HEADER_SIZE) setStepField(rng, b);
      return b;
    default:
      if (b.length >= HEADER_SIZE) setReloc(rng, b);
      return b;
  }
}

// ---------------------------------------------------------------------------------------
// The inputs, all made up front from the seed.

interface Input {
  origin: string;
  bytes: Buffer;
  verdict: Verdict;
}

function makeInputs(rng: Rng): Input[] {
  const arch = hostArch();
  const corpus: Buffer[] = [];
  for (let i = 0; i < 300; i++) corpus.push(buildProgram(skipWholeHelpers(randomSteps(rng)), arch).bytes);
  const inputs: Input[] = [];
  const add = (origin: string, input: Buffer) => inputs.push({ origin, bytes: input, verdict: validateProgram(input) });
  corpus.forEach((program) => add('corpus', program));
  while (inputs.length < CHECK_INPUTS) {
    const roll = rng.int(100);
    if (roll < 6) {
      add('random bytes', rng.bytes(rng.int(rng.chance(0.5) ? 40 : 400)));
    } else if (roll < 10) {
      const b = rng.bytes(HEADER_SIZE + rng.int(400));
      b.writeUInt32LE(WIRE_MAGIC, HeaderField.magic);
      b.writeUInt16LE(WIRE_VERSION, HeaderField.version);
      b.writeUInt16LE(HEADER_SIZE, HeaderField.headerSize);
      if (rng.chance(0.5)) b.writeUInt32LE(1 + rng.int(4), HeaderField.stepCount);
      if (rng.chance(0.7)) fixLayout(b);
      add('random body', b);
    } else if (roll < 20) {
      add('random steps', randomBody(rng));
    } else {
      let b = rng.pick(corpus);
      const rounds = 1 + (rng.chance(0.3) ? rng.int(3) : 0);
      for (let k = 0; k < rounds; k++) b = mutateOnce(rng, b);
      add('mutated', b);
    }
  }
  return inputs;
}

/** Runs `work` on every item, `runners.length` at a time, each slot with its own runner. */
async function pool<T, R>(items: readonly T[], runners: readonly R[], work: (item: T, runner: R) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (runner: R): Promise<void> => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) await work(item, runner);
    }
  };
  await Promise.all(runners.map(worker));
}

type Run = (input: Uint8Array, args: readonly string[]) => Promise<RunResult>;
/** Spawned by this process, with stdout and stderr captured. */
const local: Run = (input, args) => runRunner(input, { args, capture: true });

/** Why `run` disagrees with the oracle, or undefined when it agrees. */
function disagreement(input: Input, run: RunResult): string | undefined {
  if (run.signal !== null) return `died by ${run.signal}`;
  if (input.verdict.ok) {
    if (run.code !== 0 || run.control.length !== 0) return `expected exit 0, got ${run.code} with ${describeControl(run.control)}`;
    return undefined;
  }
  const expected = protocolMessage(input.verdict.code, input.verdict.index);
  if (run.code !== RunnerExit.protocol || !run.control.equals(expected))
    return `expected exit 125 with ${describeControl(expected)}, got ${run.code} with ${describeControl(run.control)}`;
  return undefined;
}

function report(mode: string, input: Input, problem: string): string {
  const verdict = input.verdict.ok ? 'valid' : `${protocolErrorName(input.verdict.code)} at ${input.verdict.index}`;
  return `[seed ${SEED}, ${mode}, ${input.origin}] oracle: ${verdict}; runner: ${problem}\n  input (${input.bytes.length} bytes): ${input.bytes.toString('hex')}`;
}

/** Invalid inputs for the normal-mode run: round-robin over the rules, in input order. */
function normalModeSample(inputs: readonly Input[]): Input[] {
  const byRule = new Map<number, Input[]>();
  for (const input of inputs) {
    if (input.verdict.ok) continue;
    const list = byRule.get(input.verdict.code) ?? [];
    list.push(input);
    byRule.set(input.verdict.code, list);
  }
  const sample: Input[] = [];
  for (let round = 0; sample.length < NORMAL_MODE_INPUTS; round++) {
    let added = false;
    for (const list of byRule.values()) {
      const input = list[round];
      if (input && sample.length < NORMAL_MODE_INPUTS) {
        sample.push(input);
        added = true;
      }
    }
    if (!added) break;
  }
  return sample;
}

describe('runner fuzz', () => {
  const inputs = makeInputs(new Rng(SEED));
  /** Inputs on which runner --check and the oracle agreed. */
  const agreed = new Set<Input>();

  it(`the corpus and its mutations cover every rule (seed ${SEED})`, () => {
    expect(inputs.length).toBeGreaterThanOrEqual(10_000);
    const counts = new Map<string, number>();
    for (const { verdict } of inputs) {
      const key = verdict.ok ? 'valid' : protocolErrorName(verdict.code);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const programCodes = Object.values(ProtocolError).filter((c) => c !== ProtocolError.io && c !== ProtocolError.usage);
    for (const code of programCodes) expect(counts.get(protocolErrorName(code)) ?? 0, protocolErrorName(code)).toBeGreaterThan(20);
    expect(counts.get('valid') ?? 0).toBeGreaterThan(500);
    expect(inputs.filter((i) => i.origin === 'corpus').every((i) => i.verdict.ok)).toBe(true);
  });

  it(
    'runner --check agrees with validateProgram on every input, and never crashes',
    async () => {
      const failures: string[] = [];
      let runs = 0;
      const spawners = Array.from({ length: SPAWNERS }, () => startSpawner());
      const runners = spawners.flatMap((spawner) => Array<Run>(IN_FLIGHT_PER_SPAWNER).fill(spawner.run));
      try {
        await pool(inputs, runners, async (input, run) => {
          const result = await run(input.bytes, ['--check']);
          runs++;
          const problem = disagreement(input, result);
          if (problem) failures.push(report('--check', input, problem));
          else agreed.add(input);
        });
      } finally {
        await Promise.all(spawners.map((spawner) => spawner.close()));
      }
      expect(failures.slice(0, 5).join('\n'), `${failures.length} of ${runs} inputs disagree`).toBe('');
      expect(runs).toBeGreaterThanOrEqual(10_000);
    },
    180_000,
  );

  it(
    'the runner in normal mode rejects invalid inputs the same way, before running anything',
    async () => {
      const sample = normalModeSample(inputs);
      expect(sample.length).toBe(NORMAL_MODE_INPUTS);
      const failures: string[] = [];
      await pool(sample, Array<Run>(LOCAL_IN_FLIGHT).fill(local), async (input, runner) => {
        // Only what --check rejected as the oracle said may run in normal mode.
        if (!agreed.has(input)) {
          const problem = disagreement(input, await runner(input.bytes, ['--check']));
          if (problem) {
            failures.push(report('--check before normal mode', input, problem));
            return;
          }
        }
        const run = await runner(input.bytes, []);
        const problem = disagreement(input, run) ?? (run.stdout || run.stderr ? `wrote output: ${run.stdout}${run.stderr}` : undefined);
        if (problem) failures.push(report('normal mode', input, problem));
      });
      expect(failures.slice(0, 5).join('\n'), `${failures.length} of ${sample.length} inputs disagree`).toBe('');
    },
    60_000,
  );
});
