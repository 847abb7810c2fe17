import type { FlagTable } from '../consts.js';
import { errnoNumber, invalidOptions } from '../errors.js';
import type { Arch } from '../syscalls/index.js';
import { syscallNumber } from '../syscalls/index.js';
import {
  ArgKind,
  FixedFd,
  HEADER_SIZE,
  HeaderField,
  MAX_PROGRAM_SIZE,
  MAX_SLOTS,
  MAX_STEPS,
  MAX_TOLERATED,
  MESSAGE_SIZE,
  MessageType,
  NO_SLOT,
  Op,
  STEP_SIZE,
  StepField,
  StepFlag,
  WIRE_MAGIC,
  WIRE_VERSION,
} from '../wire.js';
import type { ArgSpec, BlockPointer, BlockResult, ChildStep, ImmediateFormat, ParentHook, ProgramStep, StoreStep, SyscallStep } from './types.js';

/** An encoded child program, ready to send to the runner, with what explain() needs. */
export interface Program {
  readonly arch: Arch;
  /** The steps as the runner runs them: helpers flattened, stores put before the steps they serve. */
  readonly steps: readonly ProgramStep[];
  /** Syscall number per step (undefined for special ops). */
  readonly numbers: readonly (number | undefined)[];
  readonly bytes: Buffer;
  /** Parent hooks by sync id. */
  readonly hooks: ReadonlyMap<number, ParentHook>;
  /** It has an announceExec step: EOF without its message means setup died. */
  readonly announcesExec: boolean;
}

// Argument helpers, so plans read like the syscalls they make.
export function imm(value: number | bigint, format?: ImmediateFormat): ArgSpec {
  return format === undefined ? { kind: 'immediate', value } : { kind: 'immediate', value, format };
}
/** A NULL pointer argument. */
export function nullPointer(): ArgSpec {
  return { kind: 'immediate', value: 0, format: { as: 'enum', table: { NULL: 0 } } };
}
export function flags(value: number | bigint, table: FlagTable): ArgSpec {
  return { kind: 'immediate', value, format: { as: 'flags', table } };
}
export function str(value: string): Extract<ArgSpec, { kind: 'string' }> {
  return { kind: 'string', value };
}
export function bytes(value: Uint8Array, label?: string): Extract<ArgSpec, { kind: 'bytes' }> {
  return label === undefined ? { kind: 'bytes', value } : { kind: 'bytes', value, label };
}
export function strings(value: readonly string[], label?: string): Extract<ArgSpec, { kind: 'strings' }> {
  return label === undefined ? { kind: 'strings', value } : { kind: 'strings', value, label };
}
export function block(
  value: Uint8Array,
  pointers: readonly BlockPointer[],
  label?: string,
  results?: readonly BlockResult[],
): Extract<ArgSpec, { kind: 'block' }> {
  return { kind: 'block', value, pointers, ...(label === undefined ? {} : { label }), ...(results === undefined ? {} : { results }) };
}
export function result(name: string): ArgSpec {
  return { kind: 'result', name };
}

/** A saved result that a store step copies into the arena. */
interface PlacedResult {
  offset: number;
  name: string;
  size: number;
  into: string;
}

/** Lays out the arena: deduplicated strings, byte blocks and pointer arrays. */
class Arena {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private readonly strings = new Map<string, number>();
  readonly relocations: number[] = [];
  /** Result fields of the blocks placed since the last take(). */
  private results: PlacedResult[] = [];

  private place(data: Buffer, align: number): number {
    // Empty data still gets a byte, so its offset stays inside the arena.
    if (data.length === 0) data = Buffer.alloc(1);
    const pad = (align - (this.size % align)) % align;
    if (pad) this.chunks.push(Buffer.alloc(pad));
    const offset = this.size + pad;
    this.chunks.push(data);
    this.size = offset + data.length;
    return offset;
  }

  string(value: string): number {
    const known = this.strings.get(value);
    if (known !== undefined) return known;
    if (value.includes('\0')) throw new RangeError(`string contains a NUL byte: ${JSON.stringify(value)}`);
    const offset = this.place(Buffer.from(`${value}\0`, 'utf8'), 1);
    this.strings.set(value, offset);
    return offset;
  }

  bytes(value: Uint8Array): number {
    return this.place(Buffer.from(value), 8);
  }

  stringArray(values: readonly string[]): number {
    const targets = values.map((v) => this.string(v));
    const table = Buffer.alloc(8 * (targets.length + 1));
    targets.forEach((target, i) => table.writeBigUInt64LE(BigInt(target), 8 * i));
    const offset = this.place(table, 8);
    targets.forEach((_, i) => this.relocations.push(offset + 8 * i));
    return offset;
  }

  block(arg: Extract<ArgSpec, { kind: 'block' }>): number {
    const sorted = [...arg.pointers].sort((a, b) => a.at - b.at);
    const copy = Buffer.from(arg.value);
    for (const pointer of sorted) {
      if (pointer.at % 8 !== 0 || pointer.at + 8 > copy.length) throw new RangeError(`block pointer at ${pointer.at} is not an aligned 8-byte field`);
      copy.writeBigUInt64LE(BigInt(this.placeArg(pointer.to)), pointer.at);
    }
    const offset = this.place(copy, 8);
    for (const pointer of sorted) this.relocations.push(offset + pointer.at);
    for (const field of arg.results ?? []) {
      if (field.at < 0 || field.at + field.size > copy.length || sorted.some((p) => field.at < p.at + 8 && p.at < field.at + field.size))
        throw new RangeError(`block result ${field.name} at ${field.at} is not a ${field.size}-byte field of its own`);
      this.results.push({ offset: offset + field.at, name: field.name, size: field.size, into: `${arg.label ?? 'block'}+${field.at}` });
    }
    return offset;
  }

  /** Places any arena argument and returns its offset. */
  placeArg(arg: BlockPointer['to']): number {
    switch (arg.kind) {
      case 'string':
        return this.string(arg.value);
      case 'bytes':
        return this.bytes(arg.value);
      case 'strings':
        return this.stringArray(arg.value);
      case 'block':
        return this.block(arg);
    }
  }

  /** The result fields placed since the last call. */
  take(): PlacedResult[] {
    const taken = this.results;
    this.results = [];
    return taken;
  }

  finish(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }
}

/** How many result fields the step's blocks hold: the store steps it needs. */
function resultFields(step: ChildStep): number {
  if (step.op !== 'syscall') return 0;
  const count = (arg: ArgSpec | BlockPointer['to']): number =>
    arg.kind === 'block' ? (arg.results?.length ?? 0) + arg.pointers.reduce((sum, p) => sum + count(p.to), 0) : 0;
  return step.args.reduce((sum, arg) => sum + count(arg), 0);
}

/**
 * A helper's steps follow its fork in the flat program, as the runner runs them.
 * `helperOf[j]` is the flat index of the fork whose helper runs flat step j.
 */
function flatten(nested: readonly ChildStep[]): { steps: ChildStep[]; helperSizes: Map<number, number>; helperOf: (number | undefined)[] } {
  const steps: ChildStep[] = [];
  const helperSizes = new Map<number, number>();
  const helperOf: (number | undefined)[] = [];
  for (const step of nested) {
    steps.push(step);
    helperOf.push(undefined);
    if (step.op !== 'fork' || step.helper === undefined) continue;
    if (step.helper.length === 0 || step.helper.some((inner) => inner.op === 'fork' || inner.op === 'sync'))
      throw new RangeError(`${step.name}: a helper runs 1 or more steps, without forks or syncs`);
    const fork = steps.length - 1;
    helperSizes.set(fork, step.helper.length);
    steps.push(...step.helper);
    helperOf.push(...step.helper.map(() => fork));
  }
  return { steps, helperSizes, helperOf };
}

/** Encodes steps for `arch`. Throws RangeError on a malformed step (a bug in a plan). */
export function buildProgram(nested: readonly ChildStep[], arch: Arch): Program {
  const { steps: flat, helperSizes, helperOf } = flatten(nested);
  // Store steps go right before the step they serve; skips and helper ranges count them.
  const first: number[] = [];
  let total = 0;
  for (const step of flat) {
    first.push(total);
    total += resultFields(step) + 1;
  }
  first.push(total);
  const at = (j: number) => (first[j + 1] ?? total) - 1; // the position of flat step j itself
  if (flat.length === 0 || total > MAX_STEPS) throw new RangeError(`a program has 1 to ${MAX_STEPS} steps`);
  const arena = new Arena();
  const slots = new Map<string, number>();
  const hooks = new Map<number, ParentHook>();
  const numbers: (number | undefined)[] = Array.from({ length: total }, () => undefined);
  const programSteps: ProgramStep[] = new Array<ProgramStep>(total);
  const table = Buffer.alloc(total * STEP_SIZE);
  // A result first saved inside a helper is set only in the helper's process: the fork
  // (by flat index) it belongs to. Results saved outside any helper are in every process.
  const savedIn = new Map<string, number | undefined>();
  const slotFor = (name: string, stepName: string, j: number): number => {
    const slot = slots.get(name) ?? slots.size;
    if (slot >= MAX_SLOTS) throw new RangeError(`${stepName}: more than ${MAX_SLOTS} saved results`);
    if (!savedIn.has(name) || savedIn.get(name) !== undefined) savedIn.set(name, helperOf[j]);
    slots.set(name, slot);
    return slot;
  };
  const savedSlot = (name: string, stepName: string, j: number): number => {
    const slot = slots.get(name);
    if (slot === undefined) throw new RangeError(`${stepName}: no earlier step saved ${name}`);
    const helper = savedIn.get(name);
    if (helper !== undefined && helperOf[j] !== helper) throw new RangeError(`${stepName}: ${name} is saved only inside the helper of ${flat[helper]?.name ?? 'a fork'}`);
    return slot;
  };

  flat.forEach((original, j) => {
    const index = at(j);
    const base = index * STEP_SIZE;
    table.writeUInt16LE(NO_SLOT, base + StepField.resultSlot);
    const step = original.op === 'announceExec' ? announceExecCall(original.name) : original;
    programSteps[index] = original;
    switch (step.op) {
      case 'syscall': {
        const nr = syscallNumber(arch, step.syscall);
        if (nr === undefined) throw new RangeError(`${step.name}: no syscall ${step.syscall} on ${arch}`);
        numbers[index] = nr;
        table.writeUInt16LE(Op.syscall, base + StepField.op);
        table.writeUInt32LE(nr, base + StepField.nr);
        if (step.args.length > 6) throw new RangeError(`${step.name}: more than 6 arguments`);
        let kinds = 0;
        step.args.forEach((arg, a) => {
          const [kind, value] = encodeArg(arg, arena, (name) => savedSlot(name, step.name, j));
          kinds |= kind << (4 * a);
          table.writeBigUInt64LE(BigInt.asUintN(64, value), base + StepField.args + 8 * a);
        });
        table.writeUInt32LE(kinds, base + StepField.argKinds);
        arena.take().forEach((field, k) => {
          const store = (first[j] ?? index) + k;
          const storeStep: StoreStep = { op: 'store', name: step.name, result: field.name, size: field.size, into: field.into };
          programSteps[store] = storeStep;
          writeStore(table, store * STEP_SIZE, savedSlot(field.name, step.name, j), field);
        });
        const tolerate = step.tolerate ?? [];
        if (tolerate.length > MAX_TOLERATED) throw new RangeError(`${step.name}: at most ${MAX_TOLERATED} tolerated errnos`);
        tolerate.forEach((name, t) => table.writeUInt16LE(errnoNumber(name), base + StepField.tolerated + 2 * t));
        const skip = step.skipOnTolerated ?? 0;
        if (skip > 0 && (tolerate.length === 0 || j + skip >= flat.length))
          throw new RangeError(`${step.name}: skipOnTolerated needs tolerated errnos and enough following steps`);
        // The runner refuses a skip out of a helper; one from outside into a helper's steps
        // would run them in this process, which only the helper may run.
        const owner = helperOf[j];
        if (skip > 0 && owner !== undefined && j + skip > owner + (helperSizes.get(owner) ?? 0))
          throw new RangeError(`${step.name}: skipOnTolerated leaves the helper it is in`);
        if (skip > 0 && helperOf[j + skip + 1] !== undefined && helperOf[j + skip + 1] !== owner)
          throw new RangeError(`${step.name}: skipOnTolerated ends inside a helper; skip its fork and all its steps`);
        table.writeUInt16LE(skip === 0 ? 0 : (first[j + skip + 1] ?? total) - index - 1, base + StepField.skip);
        if (step.saveAs !== undefined) table.writeUInt16LE(slotFor(step.saveAs, step.name, j), base + StepField.resultSlot);
        break;
      }
      case 'fork': {
        table.writeUInt16LE(Op.fork, base + StepField.op);
        const size = helperSizes.get(j);
        if (size !== undefined) {
          table.writeUInt16LE(StepFlag.helper, base + StepField.flags);
          table.writeUInt32LE(at(j + size) - index, base + StepField.nr);
        }
        if (step.saveAs !== undefined) table.writeUInt16LE(slotFor(step.saveAs, step.name, j), base + StepField.resultSlot);
        break;
      }
      case 'sync': {
        const id = hooks.size + 1;
        hooks.set(id, step.hook);
        table.writeUInt16LE(Op.sync, base + StepField.op);
        table.writeUInt32LE(id, base + StepField.nr);
        break;
      }
      case 'dieWithParent':
        if (!Number.isInteger(step.signal) || step.signal < 1 || step.signal > 64) throw new RangeError(`${step.name}: signal must be 1 to 64`);
        table.writeUInt16LE(Op.dieWithParent, base + StepField.op);
        table.writeUInt32LE(step.signal, base + StepField.nr);
        if (step.expectedParent !== undefined) {
          table.writeUInt32LE(ArgKind.immediate, base + StepField.argKinds);
          table.writeBigUInt64LE(BigInt(step.expectedParent), base + StepField.args);
        }
        break;
    }
  });

  const arenaBytes = arena.finish();
  const relocOffset = HEADER_SIZE + table.length;
  const relocs = Buffer.alloc(4 * arena.relocations.length);
  arena.relocations.forEach((offset, i) => relocs.writeUInt32LE(offset, 4 * i));
  const arenaOffset = (relocOffset + relocs.length + 7) & ~7;
  const size = arenaOffset + arenaBytes.length;
  // Input makes a program this big (args, env, injected files), not a bug in a plan.
  if (size > MAX_PROGRAM_SIZE)
    throw invalidOptions('program', `the program is ${size} bytes, and the runner takes at most ${MAX_PROGRAM_SIZE}: pass less in args, env or injected files`);
  const header = Buffer.alloc(HEADER_SIZE);
  header.writeUInt32LE(WIRE_MAGIC, HeaderField.magic);
  header.writeUInt16LE(WIRE_VERSION, HeaderField.version);
  header.writeUInt16LE(HEADER_SIZE, HeaderField.headerSize);
  header.writeUInt32LE(size, HeaderField.totalSize);
  header.writeUInt32LE(total, HeaderField.stepCount);
  header.writeUInt32LE(relocOffset, HeaderField.relocOffset);
  header.writeUInt32LE(arena.relocations.length, HeaderField.relocCount);
  header.writeUInt32LE(arenaOffset, HeaderField.arenaOffset);
  header.writeUInt32LE(arenaBytes.length, HeaderField.arenaSize);
  const padding = Buffer.alloc(arenaOffset - relocOffset - relocs.length);
  const encoded = Buffer.concat([header, table, relocs, padding, arenaBytes], size);
  return { arch, steps: programSteps, numbers, bytes: encoded, hooks, announcesExec: flat.some((step) => step.op === 'announceExec') };
}

/** A store step: the low `size` bytes of slot `slot` into the arena at `offset`. */
function writeStore(table: Buffer, base: number, slot: number, field: PlacedResult): void {
  table.writeUInt16LE(Op.store, base + StepField.op);
  table.writeUInt16LE(NO_SLOT, base + StepField.resultSlot);
  table.writeUInt32LE(field.size, base + StepField.nr);
  table.writeUInt32LE(ArgKind.slot | (ArgKind.arena << 4), base + StepField.argKinds);
  table.writeBigUInt64LE(BigInt(slot), base + StepField.args);
  table.writeBigUInt64LE(BigInt(field.offset), base + StepField.args + 8);
}

/** The write an announceExec step is: an execNext message on fd 3, whose loss is harmless. */
function announceExecCall(name: string): SyscallStep {
  const message = Buffer.alloc(MESSAGE_SIZE);
  message.writeUInt32LE(MessageType.execNext, 0);
  return {
    op: 'syscall',
    name,
    syscall: 'write',
    args: [imm(FixedFd.control), bytes(message, '{execNext}'), imm(MESSAGE_SIZE)],
    tolerate: ['EPIPE', 'EBADF', 'EINTR', 'EAGAIN'],
  };
}

function encodeArg(arg: ArgSpec, arena: Arena, slotOf: (name: string) => number): [number, bigint] {
  switch (arg.kind) {
    case 'immediate':
      return [ArgKind.immediate, BigInt(arg.value)];
    case 'string':
    case 'bytes':
    case 'strings':
    case 'block':
      return [ArgKind.arena, BigInt(arena.placeArg(arg))];
    case 'result':
      return [ArgKind.slot, BigInt(slotOf(arg.name))];
  }
}
