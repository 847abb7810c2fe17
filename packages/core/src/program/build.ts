import type { FlagTable } from '../consts.js';
import { errnoNumber } from '../errors.js';
import type { Arch } from '../syscalls/index.js';
import { syscallNumber } from '../syscalls/index.js';
import {
  ArgKind,
  CONTROL_FD,
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
  WIRE_MAGIC,
  WIRE_VERSION,
} from '../wire.js';
import type { ArgSpec, BlockPointer, ChildStep, ImmediateFormat, ParentHook, SyscallStep } from './types.js';

/** An encoded child program, ready to send to the runner, with what explain() needs. */
export interface Program {
  readonly arch: Arch;
  readonly steps: readonly ChildStep[];
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
export function block(value: Uint8Array, pointers: readonly BlockPointer[], label?: string): Extract<ArgSpec, { kind: 'block' }> {
  return label === undefined ? { kind: 'block', value, pointers } : { kind: 'block', value, pointers, label };
}
export function result(name: string): ArgSpec {
  return { kind: 'result', name };
}

/** Lays out the arena: deduplicated strings, byte blocks and pointer arrays. */
class Arena {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private readonly strings = new Map<string, number>();
  readonly relocations: number[] = [];

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

  block(value: Uint8Array, pointers: readonly BlockPointer[]): number {
    const sorted = [...pointers].sort((a, b) => a.at - b.at);
    const copy = Buffer.from(value);
    for (const pointer of sorted) {
      if (pointer.at % 8 !== 0 || pointer.at + 8 > copy.length) throw new RangeError(`block pointer at ${pointer.at} is not an aligned 8-byte field`);
      copy.writeBigUInt64LE(BigInt(this.placeArg(pointer.to)), pointer.at);
    }
    const offset = this.place(copy, 8);
    for (const pointer of sorted) this.relocations.push(offset + pointer.at);
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
        return this.block(arg.value, arg.pointers);
    }
  }

  finish(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }
}

/** Encodes steps for `arch`. Throws RangeError on a malformed step (a bug in a plan). */
export function buildProgram(nested: readonly ChildStep[], arch: Arch): Program {
  // A helper's steps follow it in the flat program, as the runner runs them.
  const steps = nested.flatMap((step): ChildStep[] => {
    if (step.op !== 'helper') return [step];
    if (step.steps.length === 0 || step.steps.some((inner) => inner.op === 'helper' || inner.op === 'fork'))
      throw new RangeError(`${step.name}: a helper runs 1 or more steps, without forks`);
    return [step, ...step.steps];
  });
  if (steps.length === 0 || steps.length > MAX_STEPS) throw new RangeError(`a program has 1 to ${MAX_STEPS} steps`);
  const arena = new Arena();
  const slots = new Map<string, number>();
  const hooks = new Map<number, ParentHook>();
  const numbers: (number | undefined)[] = [];
  const table = Buffer.alloc(steps.length * STEP_SIZE);
  const slotFor = (name: string, stepName: string): number => {
    const slot = slots.get(name) ?? slots.size;
    if (slot >= MAX_SLOTS) throw new RangeError(`${stepName}: more than ${MAX_SLOTS} saved results`);
    slots.set(name, slot);
    return slot;
  };

  steps.forEach((original, index) => {
    const at = index * STEP_SIZE;
    table.writeUInt16LE(NO_SLOT, at + StepField.resultSlot);
    const step = original.op === 'announceExec' ? announceExecCall(original.name) : original;
    switch (step.op) {
      case 'syscall': {
        const nr = syscallNumber(arch, step.syscall);
        if (nr === undefined) throw new RangeError(`${step.name}: no syscall ${step.syscall} on ${arch}`);
        numbers.push(nr);
        table.writeUInt16LE(Op.syscall, at + StepField.op);
        table.writeUInt32LE(nr, at + StepField.nr);
        if (step.args.length > 6) throw new RangeError(`${step.name}: more than 6 arguments`);
        let kinds = 0;
        step.args.forEach((arg, a) => {
          const [kind, value] = encodeArg(arg, arena, slots, step.name);
          kinds |= kind << (4 * a);
          table.writeBigUInt64LE(BigInt.asUintN(64, value), at + StepField.args + 8 * a);
        });
        table.writeUInt32LE(kinds, at + StepField.argKinds);
        const tolerate = step.tolerate ?? [];
        if (tolerate.length > MAX_TOLERATED) throw new RangeError(`${step.name}: at most ${MAX_TOLERATED} tolerated errnos`);
        tolerate.forEach((name, t) => table.writeUInt16LE(errnoNumber(name), at + StepField.tolerated + 2 * t));
        const skip = step.skipOnTolerated ?? 0;
        if (skip > 0 && (tolerate.length === 0 || index + skip >= steps.length))
          throw new RangeError(`${step.name}: skipOnTolerated needs tolerated errnos and enough following steps`);
        table.writeUInt16LE(skip, at + StepField.skip);
        if (step.saveAs !== undefined) table.writeUInt16LE(slotFor(step.saveAs, step.name), at + StepField.resultSlot);
        break;
      }
      case 'fork':
        numbers.push(undefined);
        table.writeUInt16LE(Op.forkSupervise, at + StepField.op);
        break;
      case 'helper':
        numbers.push(undefined);
        table.writeUInt16LE(Op.forkHelper, at + StepField.op);
        table.writeUInt32LE(step.steps.length, at + StepField.nr);
        if (step.saveAs !== undefined) table.writeUInt16LE(slotFor(step.saveAs, step.name), at + StepField.resultSlot);
        break;
      case 'sync': {
        numbers.push(undefined);
        const id = hooks.size + 1;
        hooks.set(id, step.hook);
        table.writeUInt16LE(Op.sync, at + StepField.op);
        table.writeUInt32LE(id, at + StepField.nr);
        break;
      }
      case 'sendFd': {
        if (!Number.isInteger(step.socket) || step.socket < 0 || step.socket > 0x7fffffff) throw new RangeError(`${step.name}: socket must be an fd number`);
        numbers.push(undefined);
        table.writeUInt16LE(Op.sendFd, at + StepField.op);
        const [kind, slot] = encodeArg({ kind: 'result', name: step.fd }, arena, slots, step.name);
        table.writeUInt32LE(ArgKind.immediate | (kind << 4), at + StepField.argKinds);
        table.writeBigUInt64LE(BigInt(step.socket), at + StepField.args);
        table.writeBigUInt64LE(slot, at + StepField.args + 8);
        break;
      }
      case 'dieWithParent':
        if (!Number.isInteger(step.signal) || step.signal < 1 || step.signal > 64) throw new RangeError(`${step.name}: signal must be 1 to 64`);
        numbers.push(undefined);
        table.writeUInt16LE(Op.dieWithParent, at + StepField.op);
        table.writeUInt32LE(step.signal, at + StepField.nr);
        if (step.expectedParent !== undefined) {
          table.writeUInt32LE(ArgKind.immediate, at + StepField.argKinds);
          table.writeBigUInt64LE(BigInt(step.expectedParent), at + StepField.args);
        }
        break;
    }
  });

  const arenaBytes = arena.finish();
  const relocOffset = HEADER_SIZE + table.length;
  const relocs = Buffer.alloc(4 * arena.relocations.length);
  arena.relocations.forEach((offset, i) => relocs.writeUInt32LE(offset, 4 * i));
  const arenaOffset = (relocOffset + relocs.length + 7) & ~7;
  const total = arenaOffset + arenaBytes.length;
  if (total > MAX_PROGRAM_SIZE) throw new RangeError(`the program is ${total} bytes; the runner takes at most ${MAX_PROGRAM_SIZE}`);
  const header = Buffer.alloc(HEADER_SIZE);
  header.writeUInt32LE(WIRE_MAGIC, HeaderField.magic);
  header.writeUInt16LE(WIRE_VERSION, HeaderField.version);
  header.writeUInt16LE(HEADER_SIZE, HeaderField.headerSize);
  header.writeUInt32LE(total, HeaderField.totalSize);
  header.writeUInt32LE(steps.length, HeaderField.stepCount);
  header.writeUInt32LE(relocOffset, HeaderField.relocOffset);
  header.writeUInt32LE(arena.relocations.length, HeaderField.relocCount);
  header.writeUInt32LE(arenaOffset, HeaderField.arenaOffset);
  header.writeUInt32LE(arenaBytes.length, HeaderField.arenaSize);
  const padding = Buffer.alloc(arenaOffset - relocOffset - relocs.length);
  const encoded = Buffer.concat([header, table, relocs, padding, arenaBytes], total);
  return { arch, steps, numbers, bytes: encoded, hooks, announcesExec: steps.some((step) => step.op === 'announceExec') };
}

/** The write an announceExec step is: an execNext message on fd 3, whose loss is harmless. */
function announceExecCall(name: string): SyscallStep {
  const message = Buffer.alloc(MESSAGE_SIZE);
  message.writeUInt32LE(MessageType.execNext, 0);
  return {
    op: 'syscall',
    name,
    syscall: 'write',
    args: [imm(CONTROL_FD), bytes(message, '{execNext}'), imm(MESSAGE_SIZE)],
    tolerate: ['EPIPE', 'EBADF', 'EINTR', 'EAGAIN'],
  };
}

function encodeArg(arg: ArgSpec, arena: Arena, slots: Map<string, number>, stepName: string): [number, bigint] {
  switch (arg.kind) {
    case 'immediate':
      return [ArgKind.immediate, BigInt(arg.value)];
    case 'string':
    case 'bytes':
    case 'strings':
    case 'block':
      return [ArgKind.arena, BigInt(arena.placeArg(arg))];
    case 'result': {
      const slot = slots.get(arg.name);
      if (slot === undefined) throw new RangeError(`${stepName}: no earlier step saved ${arg.name}`);
      return [ArgKind.slot, BigInt(slot)];
    }
  }
}
