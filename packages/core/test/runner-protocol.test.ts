// The runner and its wire protocol, against the real binary: every protocol error the
// runner can report (and validateProgram() agreeing on each), then real programs run
// through launch(): output, step failures, tolerated errnos, saved results, sync points,
// fork and supervise, die-with-parent, and the fds the target inherits.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AT_FDCWD,
  CLONE,
  IsoError,
  O,
  block,
  buildProgram,
  bytes,
  execSteps,
  explainProgram,
  hostArch,
  imm,
  launch,
  prepareSteps,
  readStatusField,
  result,
  str,
  strings,
  syscallNumber,
  validateProgram,
  writeFileSteps,
} from '../src/index.js';
import type { ChildStep, HookContext, Launch, ParentHook, Program } from '../src/index.js';
import {
  HEADER_SIZE,
  HeaderField,
  MAX_PROGRAM_SIZE,
  MESSAGE_SIZE,
  MessageType,
  NO_SLOT,
  Op,
  ProtocolError,
  RunnerExit,
  STEP_SIZE,
  StepField,
  StepFlag,
  WIRE_MAGIC,
  protocolErrorName,
} from '../src/wire.js';
import type { ProtocolErrorCode } from '../src/wire.js';
import { describeControl, protocolMessage, runRunner, stepFailedMessage } from './runner-harness.js';

const arch = hostArch();
const work = mkdtempSync(join(tmpdir(), 'iso-runner-protocol-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

const missingPath = join(work, 'does', 'not', 'exist');

function nr(name: string): number {
  const n = syscallNumber(arch, name);
  if (n === undefined) throw new Error(`no syscall ${name} on ${arch}`);
  return n;
}

/** A step that writes `text` to stdout. */
function say(text: string, name = 'test.say'): ChildStep {
  const data = Buffer.from(text);
  return { op: 'syscall', name, syscall: 'write', args: [imm(1), bytes(data), imm(data.length)] };
}

function exitGroup(code: number): ChildStep {
  return { op: 'syscall', name: 'test.exit', syscall: 'exit_group', args: [imm(code)] };
}

function hook(name: string, run: (context: HookContext) => void | Promise<void>): ParentHook {
  return { name, run };
}

interface Outcome {
  /** undefined when `ready` resolved, else what it rejected with. */
  failure: unknown;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Launches `program` with stdout and stderr piped, and waits for both `ready` and the exit. */
async function runLaunch(program: Program, started?: (handle: Launch) => void): Promise<Outcome> {
  const handle = launch(program, { stdio: ['ignore', 'pipe', 'pipe'] });
  started?.(handle);
  let stdout = '';
  let stderr = '';
  handle.child.stdout?.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  handle.child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    handle.child.once('close', (code, signal) => {
      resolve([code, signal]);
    });
  });
  const failure = await handle.ready.then(
    () => undefined,
    (error: unknown) => error,
  );
  const [code, signal] = await exited;
  return { failure, code, signal, stdout, stderr };
}

function asIsoError(value: unknown): IsoError {
  expect(value).toBeInstanceOf(IsoError);
  return value as IsoError;
}

// ---------------------------------------------------------------------------------------
// Handcrafted invalid programs.

/**
 * A valid program with every kind of step and argument: a saved result (slot 0), a
 * tolerated errno with a skip, a slot argument, pointer arrays (2 relocations), a fork, a
 * sync point, die-with-parent, a store (step 7, before the write that uses its block) and a
 * helper fork (step 9, with one step). It is only ever run with --check or after corruption.
 */
const base = buildProgram(
  [
    { op: 'syscall', name: 't.getpid', syscall: 'getpid', args: [], saveAs: 'pid' },
    { op: 'syscall', name: 't.write', syscall: 'write', args: [imm(1), str('x'), imm(1)], tolerate: ['EBADF'], skipOnTolerated: 1 },
    { op: 'syscall', name: 't.kill', syscall: 'kill', args: [result('pid'), imm(0)] },
    { op: 'syscall', name: 't.exec', syscall: 'execve', args: [str('/bin/true'), strings(['true', 'a']), strings([])] },
    { op: 'fork', name: 't.fork' },
    { op: 'sync', name: 't.sync', hook: hook('noop', () => undefined) },
    { op: 'dieWithParent', name: 't.die', signal: constants.signals.SIGKILL },
    { op: 'syscall', name: 't.stored', syscall: 'write', args: [imm(1), block(Buffer.alloc(16), [], 'pid', [{ at: 0, name: 'pid', size: 4 }]), imm(16)] },
    { op: 'fork', name: 't.helper', helper: [{ op: 'syscall', name: 't.inHelper', syscall: 'getpid', args: [] }] },
  ],
  arch,
);
const baseBytes = base.bytes;
const stepCount = baseBytes.readUInt32LE(HeaderField.stepCount);
const relocOffset = baseBytes.readUInt32LE(HeaderField.relocOffset);
const arenaOffset = baseBytes.readUInt32LE(HeaderField.arenaOffset);
const arenaSize = baseBytes.readUInt32LE(HeaderField.arenaSize);
const reloc = (i: number): number => baseBytes.readUInt32LE(relocOffset + 4 * i);
const step = (i: number, field: number): number => HEADER_SIZE + i * STEP_SIZE + field;
const argAt = (i: number, a: number): number => step(i, StepField.args) + 8 * a;

/** A copy of the base program, edited. */
function edit(change: (b: Buffer) => void): Buffer {
  const copy = Buffer.from(baseBytes);
  change(copy);
  return copy;
}

/** The base program with its helper's one step (10) replaced by a bare step of `op`. */
function opInHelper(op: number): Buffer {
  return edit((b) => {
    b.fill(0, step(10, 0), step(11, 0));
    b.writeUInt16LE(op, step(10, StepField.op));
    b.writeUInt16LE(NO_SLOT, step(10, StepField.resultSlot));
  });
}

interface Case {
  name: string;
  input: Buffer;
  code: ProtocolErrorCode;
  index?: number;
}

const invalid: Case[] = [
  { name: 'empty input', input: Buffer.alloc(0), code: ProtocolError.truncated },
  { name: 'truncated header', input: baseBytes.subarray(0, HEADER_SIZE - 1), code: ProtocolError.truncated },
  { name: 'truncated body', input: baseBytes.subarray(0, baseBytes.length - 1), code: ProtocolError.truncated },
  { name: 'header only', input: baseBytes.subarray(0, HEADER_SIZE), code: ProtocolError.truncated },
  { name: 'bad magic', input: edit((b) => b.writeUInt32LE(WIRE_MAGIC ^ 0x100, HeaderField.magic)), code: ProtocolError.magic },
  { name: 'magic byte-swapped', input: edit((b) => b.writeUInt32BE(WIRE_MAGIC, HeaderField.magic)), code: ProtocolError.magic },
  { name: 'version 1 (before the op table)', input: edit((b) => b.writeUInt16LE(1, HeaderField.version)), code: ProtocolError.version },
  { name: 'version 3', input: edit((b) => b.writeUInt16LE(3, HeaderField.version)), code: ProtocolError.version },
  { name: 'version 0', input: edit((b) => b.writeUInt16LE(0, HeaderField.version)), code: ProtocolError.version },
  { name: 'header size 40', input: edit((b) => b.writeUInt16LE(40, HeaderField.headerSize)), code: ProtocolError.header },
  { name: 'total size below the header', input: edit((b) => b.writeUInt32LE(HEADER_SIZE - 1, HeaderField.totalSize)), code: ProtocolError.size },
  { name: 'total size above the limit', input: edit((b) => b.writeUInt32LE(MAX_PROGRAM_SIZE + 1, HeaderField.totalSize)), code: ProtocolError.size },
  { name: 'no steps', input: edit((b) => b.writeUInt32LE(0, HeaderField.stepCount)), code: ProtocolError.layout },
  { name: 'too many steps', input: edit((b) => b.writeUInt32LE(4097, HeaderField.stepCount)), code: ProtocolError.layout },
  { name: 'step count off by one', input: edit((b) => b.writeUInt32LE(stepCount + 1, HeaderField.stepCount)), code: ProtocolError.layout },
  { name: 'reloc offset moved', input: edit((b) => b.writeUInt32LE(relocOffset + 8, HeaderField.relocOffset)), code: ProtocolError.layout },
  { name: 'reloc count huge', input: edit((b) => b.writeUInt32LE(MAX_PROGRAM_SIZE / 4 + 1, HeaderField.relocCount)), code: ProtocolError.layout },
  { name: 'arena offset misaligned', input: edit((b) => b.writeUInt32LE(arenaOffset + 4, HeaderField.arenaOffset)), code: ProtocolError.layout },
  { name: 'arena size past the end', input: edit((b) => b.writeUInt32LE(arenaSize + 8, HeaderField.arenaSize)), code: ProtocolError.layout },
  { name: 'reloc misaligned', input: edit((b) => b.writeUInt32LE(reloc(0) + 4, relocOffset)), code: ProtocolError.reloc, index: 0 },
  {
    name: 'reloc out of the arena',
    input: edit((b) => b.writeUInt32LE((arenaSize & ~7) + 8, relocOffset + 4)),
    code: ProtocolError.reloc,
    index: 1,
  },
  { name: 'relocs not increasing', input: edit((b) => b.writeUInt32LE(reloc(0), relocOffset + 4)), code: ProtocolError.reloc, index: 1 },
  {
    name: 'reloc target out of the arena',
    input: edit((b) => b.writeBigUInt64LE(BigInt(arenaSize), arenaOffset + reloc(0))),
    code: ProtocolError.reloc,
    index: 0,
  },
  { name: 'unknown op 7', input: edit((b) => b.writeUInt16LE(7, step(3, StepField.op))), code: ProtocolError.op, index: 3 },
  { name: 'unknown op 6', input: edit((b) => b.writeUInt16LE(6, step(3, StepField.op))), code: ProtocolError.op, index: 3 },
  { name: 'store of 0 bytes', input: edit((b) => b.writeUInt32LE(0, step(7, StepField.nr))), code: ProtocolError.step, index: 7 },
  { name: 'store of 9 bytes', input: edit((b) => b.writeUInt32LE(9, step(7, StepField.nr))), code: ProtocolError.step, index: 7 },
  { name: 'store with a result slot', input: edit((b) => b.writeUInt16LE(1, step(7, StepField.resultSlot))), code: ProtocolError.step, index: 7 },
  { name: 'store with a tolerated errno', input: edit((b) => b.writeUInt16LE(2, step(7, StepField.tolerated))), code: ProtocolError.step, index: 7 },
  { name: 'store with flags', input: edit((b) => b.writeUInt16LE(1, step(7, StepField.flags))), code: ProtocolError.step, index: 7 },
  { name: 'store of an immediate', input: edit((b) => b.writeUInt32LE(0x21, step(7, StepField.argKinds))), code: ProtocolError.arg, index: 7 },
  { name: 'store to an immediate address', input: edit((b) => b.writeUInt32LE(0x13, step(7, StepField.argKinds))), code: ProtocolError.arg, index: 7 },
  { name: 'store with a third argument', input: edit((b) => b.writeUInt32LE(0x123, step(7, StepField.argKinds))), code: ProtocolError.arg, index: 7 },
  { name: 'store past the end of the arena', input: edit((b) => b.writeBigUInt64LE(BigInt(arenaSize - 3), argAt(7, 1))), code: ProtocolError.arg, index: 7 },
  { name: 'store from an unsaved slot', input: edit((b) => b.writeBigUInt64LE(5n, argAt(7, 0))), code: ProtocolError.slot, index: 7 },
  { name: 'helper flag on a syscall', input: edit((b) => b.writeUInt16LE(StepFlag.helper, step(2, StepField.flags))), code: ProtocolError.step, index: 2 },
  { name: 'unknown flag on a fork', input: edit((b) => b.writeUInt16LE(2, step(9, StepField.flags))), code: ProtocolError.step, index: 9 },
  { name: 'helper of 0 steps', input: edit((b) => b.writeUInt32LE(0, step(9, StepField.nr))), code: ProtocolError.step, index: 9 },
  { name: 'helper past the last step', input: edit((b) => b.writeUInt32LE(2, step(9, StepField.nr))), code: ProtocolError.step, index: 9 },
  { name: 'a fork inside a helper', input: opInHelper(Op.fork), code: ProtocolError.step, index: 10 },
  { name: 'a sync inside a helper', input: opInHelper(Op.sync), code: ProtocolError.step, index: 10 },
  { name: 'unknown op 0', input: edit((b) => b.writeUInt16LE(0, step(6, StepField.op))), code: ProtocolError.op, index: 6 },
  { name: 'reserved flags', input: edit((b) => b.writeUInt16LE(0x8000, step(2, StepField.flags))), code: ProtocolError.step, index: 2 },
  { name: 'syscall number 1024', input: edit((b) => b.writeUInt32LE(1024, step(0, StepField.nr))), code: ProtocolError.step, index: 0 },
  { name: 'fork with an argument number', input: edit((b) => b.writeUInt32LE(1, step(4, StepField.nr))), code: ProtocolError.step, index: 4 },
  { name: 'sync id above 16 bits', input: edit((b) => b.writeUInt32LE(0x10000, step(5, StepField.nr))), code: ProtocolError.step, index: 5 },
  { name: 'sync with a tolerated errno', input: edit((b) => b.writeUInt16LE(2, step(5, StepField.tolerated))), code: ProtocolError.step, index: 5 },
  { name: 'die-with-parent signal 0', input: edit((b) => b.writeUInt32LE(0, step(6, StepField.nr))), code: ProtocolError.step, index: 6 },
  { name: 'die-with-parent signal 65', input: edit((b) => b.writeUInt32LE(65, step(6, StepField.nr))), code: ProtocolError.step, index: 6 },
  { name: 'fork with an argument', input: edit((b) => b.writeUInt32LE(1, step(4, StepField.argKinds))), code: ProtocolError.arg, index: 4 },
  { name: 'die-with-parent with 2 arguments', input: edit((b) => b.writeUInt32LE(0x11, step(6, StepField.argKinds))), code: ProtocolError.arg, index: 6 },
  {
    name: 'unknown arg kind 4',
    input: edit((b) => b.writeUInt32LE(b.readUInt32LE(step(1, StepField.argKinds)) | (4 << 12), step(1, StepField.argKinds))),
    code: ProtocolError.arg,
    index: 1,
  },
  { name: 'arg kind bits above 6 args', input: edit((b) => b.writeUInt32LE(1 << 24, step(0, StepField.argKinds))), code: ProtocolError.arg, index: 0 },
  { name: 'unused arg not zero', input: edit((b) => b.writeBigUInt64LE(1n, argAt(2, 5))), code: ProtocolError.arg, index: 2 },
  { name: 'arena arg out of range', input: edit((b) => b.writeBigUInt64LE(BigInt(arenaSize), argAt(1, 1))), code: ProtocolError.arg, index: 1 },
  { name: 'slot used before definition', input: edit((b) => b.writeUInt16LE(NO_SLOT, step(0, StepField.resultSlot))), code: ProtocolError.slot, index: 2 },
  { name: 'slot arg 32', input: edit((b) => b.writeBigUInt64LE(32n, argAt(2, 0))), code: ProtocolError.slot, index: 2 },
  { name: 'slot arg undefined (31)', input: edit((b) => b.writeBigUInt64LE(31n, argAt(2, 0))), code: ProtocolError.slot, index: 2 },
  {
    name: 'slot used by the step that defines it',
    input: edit((b) => {
      b.writeUInt32LE(3, step(0, StepField.argKinds));
      b.writeBigUInt64LE(0n, argAt(0, 0));
    }),
    code: ProtocolError.slot,
    index: 0,
  },
  { name: 'result slot 32', input: edit((b) => b.writeUInt16LE(32, step(0, StepField.resultSlot))), code: ProtocolError.slot, index: 0 },
  {
    name: 'tolerated list with a hole',
    input: edit((b) => b.writeUInt16LE(5, step(1, StepField.tolerated) + 4)),
    code: ProtocolError.step,
    index: 1,
  },
  { name: 'tolerated errno 4096', input: edit((b) => b.writeUInt16LE(4096, step(1, StepField.tolerated))), code: ProtocolError.step, index: 1 },
  { name: 'skip past the last step', input: edit((b) => b.writeUInt16LE(stepCount - 1, step(1, StepField.skip))), code: ProtocolError.step, index: 1 },
  { name: 'skip without tolerated errnos', input: edit((b) => b.writeUInt16LE(1, step(2, StepField.skip))), code: ProtocolError.step, index: 2 },
];

/** Edits that stay on the valid side of each boundary above. */
const valid: { name: string; input: Buffer }[] = [
  { name: 'the base program', input: baseBytes },
  { name: 'trailing bytes after the program', input: Buffer.concat([baseBytes, Buffer.from('garbage')]) },
  { name: 'syscall number 1023', input: edit((b) => b.writeUInt32LE(1023, step(0, StepField.nr))) },
  { name: 'fork with a result slot', input: edit((b) => b.writeUInt16LE(1, step(4, StepField.resultSlot))) },
  { name: 'store of 8 bytes', input: edit((b) => b.writeUInt32LE(8, step(7, StepField.nr))) },
  { name: 'store of 4 bytes at the end of the arena', input: edit((b) => b.writeBigUInt64LE(BigInt(arenaSize - 4), argAt(7, 1))) },
  { name: 'sync id 0xffff', input: edit((b) => b.writeUInt32LE(0xffff, step(5, StepField.nr))) },
  { name: 'die-with-parent signal 64', input: edit((b) => b.writeUInt32LE(64, step(6, StepField.nr))) },
  {
    name: 'die-with-parent with an expected parent',
    input: edit((b) => {
      b.writeUInt32LE(1, step(6, StepField.argKinds));
      b.writeBigUInt64LE(12345n, argAt(6, 0));
    }),
  },
  { name: 'arena arg at the last byte', input: edit((b) => b.writeBigUInt64LE(BigInt(arenaSize - 1), argAt(1, 1))) },
  { name: 'reloc target at the last byte', input: edit((b) => b.writeBigUInt64LE(BigInt(arenaSize - 1), arenaOffset + reloc(0))) },
  {
    name: 'result slot 31',
    input: edit((b) => {
      b.writeUInt16LE(31, step(0, StepField.resultSlot));
      b.writeBigUInt64LE(31n, argAt(2, 0));
      b.writeBigUInt64LE(31n, argAt(7, 0));
    }),
  },
  {
    name: 'tolerated errno 4095, full list',
    input: edit((b) => {
      [4095, 1, 2, 3].forEach((e, t) => b.writeUInt16LE(e, step(1, StepField.tolerated) + 2 * t));
    }),
  },
  { name: 'skip to the last step', input: edit((b) => b.writeUInt16LE(stepCount - 2, step(1, StepField.skip))) },
];

describe('runner protocol errors', () => {
  it('the base program is valid, and the cases reach every program-level error code', () => {
    expect(validateProgram(baseBytes)).toEqual({ ok: true });
    expect(stepCount).toBe(11);
    expect(base.steps.map((s) => s.op)).toEqual(['syscall', 'syscall', 'syscall', 'syscall', 'fork', 'sync', 'dieWithParent', 'store', 'syscall', 'fork', 'syscall']);
    expect(baseBytes.readUInt32LE(HeaderField.relocCount)).toBe(2);
    const reached = new Set(invalid.map((c) => c.code));
    const programCodes = Object.values(ProtocolError).filter((c) => c !== ProtocolError.io && c !== ProtocolError.usage);
    expect([...reached].sort((a, b) => a - b)).toEqual(programCodes);
  });

  it.each(invalid)('$name: validateProgram and the runner (both modes) report it', async ({ input, code, index = 0 }) => {
    expect(validateProgram(input)).toEqual({ ok: false, code, index });
    for (const args of [[], ['--check']]) {
      const run = await runRunner(input, { args, capture: true });
      const label = `${protocolErrorName(code)} with args [${args.join(' ')}]: ${describeControl(run.control)}`;
      expect(run.signal, label).toBeNull();
      expect(run.code, label).toBe(RunnerExit.protocol);
      expect(run.control, label).toEqual(protocolMessage(code, index));
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe('');
    }
  });

  it.each(valid)('$name: valid for validateProgram and for runner --check', async ({ input }) => {
    expect(validateProgram(input)).toEqual({ ok: true });
    const run = await runRunner(input, { args: ['--check'], capture: true });
    expect(run.signal).toBeNull();
    expect(run.code).toBe(0);
    expect(run.control.length).toBe(0);
    expect(run.stdout).toBe('');
  });

  it.each([[['--check', 'extra']], [['--bogus']], [['--chec']], [['--checkk']], [['']], [['-c', '--check']]])(
    'argv %j is a usage error',
    async (args) => {
      // The runner exits before reading fd 3, so send nothing (see runRunner).
      const run = await runRunner(null, { args, capture: true });
      expect(run.signal).toBeNull();
      expect(run.code).toBe(RunnerExit.protocol);
      expect(run.control).toEqual(protocolMessage(ProtocolError.usage));
      expect(run.stderr).toBe('');
    },
  );

  it('a write-only fd 3 is an io error, reported on fd 3', async () => {
    const path = join(work, 'write-only-channel');
    writeFileSync(path, '');
    const fd = openSync(path, 'w');
    try {
      const run = await runRunner(baseBytes, { control: fd, capture: true });
      expect(run.signal).toBeNull();
      expect(run.code).toBe(RunnerExit.protocol);
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(path)).toEqual(protocolMessage(ProtocolError.io));
  });

  it('no fd 3 at all: exit 125 and a hint on stderr', async () => {
    const run = await runRunner(baseBytes, { control: 'none', capture: true });
    expect(run.signal).toBeNull();
    expect(run.code).toBe(RunnerExit.protocol);
    expect(run.stderr).toMatch(/invalid or missing program on fd 3/);
  });

  it('launch() turns a protocol message into ISO_RUNNER_PROTOCOL', async () => {
    const program: Program = { ...base, bytes: edit((b) => b.writeUInt16LE(9, HeaderField.version)) };
    const outcome = await runLaunch(program);
    const error = asIsoError(outcome.failure);
    expect(error.isoCode).toBe('ISO_RUNNER_PROTOCOL');
    expect(error.code).toBe('ISO_RUNNER_PROTOCOL');
    expect(error.phase).toBe('child');
    expect(error.message).toMatch(/version/);
    expect(outcome.code).toBe(RunnerExit.protocol);
  });
});

// ---------------------------------------------------------------------------------------
// Real programs.

describe('runner execution', () => {
  it('runs write(1, "hello\\n", 6) and exits 0', async () => {
    const outcome = await runLaunch(buildProgram([say('hello\n'), exitGroup(0)], arch));
    expect(outcome.failure).toBeUndefined();
    expect(outcome.stdout).toBe('hello\n');
    expect(outcome.stderr).toBe('');
    expect(outcome.code).toBe(0);
    expect(outcome.signal).toBeNull();
  });

  it('exits 0 after the last step, even without exit_group', async () => {
    const outcome = await runLaunch(buildProgram([say('one\n'), say('two\n')], arch));
    expect(outcome.failure).toBeUndefined();
    expect(outcome.stdout).toBe('one\ntwo\n');
    expect(outcome.code).toBe(0);
  });

  it('a failing step reports {step, syscall, errno} on fd 3 and exits 127', async () => {
    const program = buildProgram([say('before\n'), { op: 'syscall', name: 'core.chdir', syscall: 'chdir', args: [str(missingPath)] }, say('after\n')], arch);
    const run = await runRunner(program.bytes, { capture: true });
    expect(run.code).toBe(RunnerExit.stepFailed);
    expect(run.control).toEqual(stepFailedMessage(1, nr('chdir'), constants.errno.ENOENT));
    expect(run.stdout).toBe('before\n');
  });

  it('a failing step rejects ready with a typed IsoError', async () => {
    const steps = execSteps({ file: '/bin/true', args: [], env: {}, cwd: missingPath, newSession: false });
    const program = buildProgram([say('before\n'), ...steps], arch);
    const chdirIndex = program.steps.findIndex((s) => s.name === 'core.chdir');
    expect(chdirIndex).toBeGreaterThan(0);
    const outcome = await runLaunch(program);
    const error = asIsoError(outcome.failure);
    expect(error.code).toBe('ENOENT');
    // Node's SystemError carries errno negated; accept either sign, the code says which.
    expect(Math.abs(error.errno ?? 0)).toBe(constants.errno.ENOENT);
    expect(error.isoCode).toBe('ISO_SETUP_FAILED');
    expect(error.phase).toBe('child');
    expect(error.step).toBe('core.chdir');
    expect(error.stepIndex).toBe(chdirIndex);
    expect(error.syscall).toBe('chdir');
    expect(error.message).toMatch(/core\.chdir\[\d+\]: chdir\(".*"\) failed: ENOENT/);
    expect(error.message).toContain(missingPath);
    expect(outcome.code).toBe(RunnerExit.stepFailed);
    expect(outcome.stdout).toBe('before\n');
  });

  it('a tolerated errno with skipOnTolerated skips the following steps', async () => {
    const open = (path: string, skip: number): ChildStep => ({
      op: 'syscall',
      name: 'test.open',
      syscall: 'openat',
      args: [imm(AT_FDCWD), str(path), imm(O.O_RDONLY | O.O_CLOEXEC)],
      tolerate: ['EACCES', 'ENOENT'],
      skipOnTolerated: skip,
    });
    const skipped = await runLaunch(buildProgram([say('a\n'), open(missingPath, 2), say('skipped 1\n'), say('skipped 2\n'), say('b\n')], arch));
    expect(skipped.failure).toBeUndefined();
    expect(skipped.stdout).toBe('a\nb\n');
    expect(skipped.code).toBe(0);

    // Skipping up to the last step ends the program.
    const toEnd = await runLaunch(buildProgram([say('a\n'), open(missingPath, 1), say('skipped\n')], arch));
    expect(toEnd.stdout).toBe('a\n');
    expect(toEnd.code).toBe(0);

    // No error, no skip.
    const present = await runLaunch(buildProgram([say('a\n'), open('/', 2), say('c\n'), say('d\n'), say('b\n')], arch));
    expect(present.failure).toBeUndefined();
    expect(present.stdout).toBe('a\nc\nd\nb\n');
  });

  it('a tolerated errno without a skip goes on with the next step; other errnos still fail', async () => {
    const tolerated = await runLaunch(
      buildProgram([{ op: 'syscall', name: 'test.chdir', syscall: 'chdir', args: [str(missingPath)], tolerate: ['ENOENT'] }, say('next\n')], arch),
    );
    expect(tolerated.failure).toBeUndefined();
    expect(tolerated.stdout).toBe('next\n');

    const other = await runLaunch(
      buildProgram([{ op: 'syscall', name: 'test.chdir', syscall: 'chdir', args: [str(missingPath)], tolerate: ['EACCES'] }, say('next\n')], arch),
    );
    expect(asIsoError(other.failure).code).toBe('ENOENT');
    expect(other.stdout).toBe('');
    expect(other.code).toBe(RunnerExit.stepFailed);
  });

  it('saveAs keeps results in slots that later steps use', async () => {
    const first = join(work, 'slot-first');
    const second = join(work, 'slot-second');
    const openFor = (path: string, saveAs: string): ChildStep => ({
      op: 'syscall',
      name: 'test.open',
      syscall: 'openat',
      args: [imm(AT_FDCWD), str(path), imm(O.O_WRONLY | O.O_CREAT | O.O_TRUNC | O.O_CLOEXEC), imm(0o600)],
      saveAs,
    });
    const writeTo = (saveAs: string, text: string): ChildStep => ({
      op: 'syscall',
      name: 'test.write',
      syscall: 'write',
      args: [result(saveAs), bytes(Buffer.from(text)), imm(Buffer.byteLength(text))],
    });
    const close = (saveAs: string): ChildStep => ({ op: 'syscall', name: 'test.close', syscall: 'close', args: [result(saveAs)] });
    const program = buildProgram(
      [openFor(first, 'a'), openFor(second, 'b'), writeTo('b', 'to the second\n'), writeTo('a', 'to the first\n'), close('a'), close('b'), say('done\n')],
      arch,
    );
    const outcome = await runLaunch(program);
    expect(outcome.failure).toBeUndefined();
    expect(outcome.stdout).toBe('done\n');
    expect(readFileSync(first, 'utf8')).toBe('to the first\n');
    expect(readFileSync(second, 'utf8')).toBe('to the second\n');
  });

  it('a store copies the low bytes of a saved result into a block field, and nothing around it', async () => {
    const pattern = Buffer.alloc(16, 0xaa);
    const program = buildProgram(
      [
        { op: 'syscall', name: 'test.getpid', syscall: 'getpid', args: [], saveAs: 'pid' },
        {
          op: 'syscall',
          name: 'test.write',
          syscall: 'write',
          args: [imm(1), block(pattern, [], 'pattern', [{ at: 4, name: 'pid', size: 4 }, { at: 8, name: 'pid', size: 2 }]), imm(16)],
        },
      ],
      arch,
    );
    expect(program.steps.map((s) => s.op)).toEqual(['syscall', 'store', 'store', 'syscall']);
    let pid = 0;
    const handle = launch(program, { stdio: ['ignore', 'pipe', 'pipe'] });
    pid = handle.child.pid ?? 0;
    const chunks: Buffer[] = [];
    handle.child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise((resolve) => handle.child.once('close', resolve));
    await handle.ready;
    const out = Buffer.concat(chunks);
    const want = Buffer.alloc(16, 0xaa);
    want.writeUInt32LE(pid, 4);
    want.writeUInt16LE(pid & 0xffff, 8);
    expect(out).toEqual(want);
  });

  it('explain() gives skips and helper sizes as the runner counts them, store steps included', () => {
    const stored: ChildStep = { op: 'syscall', name: 'test.stored', syscall: 'write', args: [imm(1), block(Buffer.alloc(8), [], 'b', [{ at: 0, name: 'one', size: 4 }]), imm(8)] };
    const program = buildProgram(
      [
        { op: 'syscall', name: 'test.one', syscall: 'getppid', args: [], saveAs: 'one' },
        { op: 'syscall', name: 'test.chdir', syscall: 'chdir', args: [str('/x')], tolerate: ['ENOENT'], skipOnTolerated: 1 },
        stored,
        { op: 'fork', name: 'test.helper', helper: [stored, stored] },
        say('after\n'),
      ],
      arch,
    );
    const text = explainProgram(program);
    expect(text).toMatch(/test\.chdir +chdir\("\/x"\) {2}tolerate ENOENT; then skip 2$/m);
    expect(text).toMatch(/test\.helper +fork\(\) a helper that runs the next 4 steps and exits/);
  });

  it('store steps count in skips: a tolerated errno skips a step together with its stores', async () => {
    const stored = (text: string): ChildStep => ({
      op: 'syscall',
      name: 'test.stored',
      syscall: 'write',
      args: [imm(1), block(Buffer.from(text.padEnd(8, '.')), [], text, [{ at: 4, name: 'one', size: 1 }]), imm(8)],
    });
    const program = buildProgram(
      [
        { op: 'syscall', name: 'test.one', syscall: 'getppid', args: [], saveAs: 'one' },
        { op: 'syscall', name: 'test.chdir', syscall: 'chdir', args: [str(missingPath)], tolerate: ['ENOENT'], skipOnTolerated: 1 },
        stored('skip'),
        say('after\n'),
      ],
      arch,
    );
    expect(program.steps.map((s) => s.op)).toEqual(['syscall', 'syscall', 'store', 'syscall', 'syscall']);
    const outcome = await runLaunch(program);
    expect(outcome.failure).toBeUndefined();
    expect(outcome.stdout).toBe('after\n');
  });

  it("writeFileSteps (core's open, write, close through a saved fd) writes the file", async () => {
    const path = join(work, 'write-file-steps');
    writeFileSync(path, '');
    const outcome = await runLaunch(buildProgram(writeFileSteps('test.file', path, 'content 0 1000 1\n'), arch));
    expect(outcome.failure).toBeUndefined();
    expect(readFileSync(path, 'utf8')).toBe('content 0 1000 1\n');
  });

  it('a sync step runs the parent hook with the runner pid, and the runner goes on after the ack', async () => {
    const contexts: HookContext[] = [];
    let hookDone = false;
    let afterSeenBeforeAck = false;
    let handle: Launch | undefined;
    const program = buildProgram(
      [
        say('before\n'),
        {
          op: 'sync',
          name: 'test.sync',
          hook: hook('test.hook', async (context) => {
            contexts.push(context);
            // The runner must be blocked now; give it every chance to run ahead if it were not.
            await new Promise((resolve) => setTimeout(resolve, 50));
            hookDone = true;
          }),
        },
        say('after\n'),
        {
          op: 'sync',
          name: 'test.sync2',
          hook: hook('test.hook2', (context) => {
            contexts.push(context);
          }),
        },
      ],
      arch,
    );
    const outcome = await runLaunch(program, (h) => {
      handle = h;
      h.child.stdout?.on('data', (chunk: Buffer | string) => {
        if (String(chunk).includes('after') && !hookDone) afterSeenBeforeAck = true;
      });
    });
    expect(outcome.failure).toBeUndefined();
    expect(outcome.stdout).toBe('before\nafter\n');
    expect(afterSeenBeforeAck).toBe(false);
    const pid = handle?.child.pid;
    expect(contexts).toEqual([
      { runnerPid: pid, reportedPid: pid },
      { runnerPid: pid, reportedPid: pid },
    ]);
    expect(outcome.code).toBe(0);
  });

  it('a hook that throws rejects ready with that failure, and the runner exits 126', async () => {
    const thrown = new Error('boom');
    const program = buildProgram(
      [
        say('before\n'),
        {
          op: 'sync',
          name: 'test.sync',
          hook: hook('test.hook', () => {
            throw thrown;
          }),
        },
        say('after\n'),
      ],
      arch,
    );
    const outcome = await runLaunch(program);
    const error = asIsoError(outcome.failure);
    expect(error.isoCode).toBe('ISO_SETUP_FAILED');
    expect(error.phase).toBe('parent');
    expect(error.message).toContain('test.hook');
    expect(error.message).toContain('boom');
    expect(error.cause).toBe(thrown);
    expect(outcome.code).toBe(RunnerExit.aborted);
    expect(outcome.stdout).toBe('before\n');
  });

  it('a hook that throws an IsoError rejects ready with that very error', async () => {
    const thrown = new IsoError('ISO_NEEDS_PRIVILEGE', 'test.hook: needs CAP_SYS_ADMIN', { phase: 'parent' });
    const program = buildProgram(
      [
        {
          op: 'sync',
          name: 'test.sync',
          hook: hook('test.hook', () => Promise.reject(thrown)),
        },
        say('after\n'),
      ],
      arch,
    );
    const outcome = await runLaunch(program);
    expect(outcome.failure).toBe(thrown);
    expect(outcome.code).toBe(RunnerExit.aborted);
    expect(outcome.stdout).toBe('');
  });

  it('a sync id that Node does not know is a protocol failure; the runner exits 126', async () => {
    const program = buildProgram([{ op: 'sync', name: 'test.sync', hook: hook('test.hook', () => undefined) }, say('after\n')], arch);
    const outcome = await runLaunch({ ...program, hooks: new Map() });
    const error = asIsoError(outcome.failure);
    expect(error.isoCode).toBe('ISO_RUNNER_PROTOCOL');
    expect(error.message).toMatch(/unknown sync point 1/);
    expect(outcome.code).toBe(RunnerExit.aborted);
    expect(outcome.stdout).toBe('');
  });
});

describe('runner fork and supervise', () => {
  it("the runner supervises a forked child and exits with the child's code", async () => {
    const seen: { ppid: string | undefined; context: HookContext }[] = [];
    let runnerPid: number | undefined;
    const program = buildProgram(
      [
        say('parent\n'),
        { op: 'fork', name: 'test.fork' },
        say('child\n'),
        {
          op: 'sync',
          name: 'test.sync',
          hook: hook('test.where', (context) => {
            seen.push({ ppid: readStatusField(context.reportedPid, 'PPid', 'test.where'), context });
          }),
        },
        exitGroup(7),
      ],
      arch,
    );
    const outcome = await runLaunch(program, (h) => (runnerPid = h.child.pid));
    expect(outcome.failure).toBeUndefined();
    expect(outcome.stdout).toBe('parent\nchild\n');
    expect(outcome.code).toBe(7);
    expect(outcome.signal).toBeNull();
    // The sync came from the child, whose parent is the runner Node spawned.
    expect(seen).toHaveLength(1);
    expect(seen[0]!.context.runnerPid).toBe(runnerPid);
    expect(seen[0]!.context.reportedPid).not.toBe(runnerPid);
    expect(seen[0]!.ppid).toBe(String(runnerPid));
  });

  it('a child killed by SIGUSR1 makes the runner die by SIGUSR1', async () => {
    const program = buildProgram(
      [
        { op: 'fork', name: 'test.fork' },
        { op: 'syscall', name: 'test.getpid', syscall: 'getpid', args: [], saveAs: 'pid' },
        { op: 'syscall', name: 'test.kill', syscall: 'kill', args: [result('pid'), imm(constants.signals.SIGUSR1)] },
        say('not reached\n'),
      ],
      arch,
    );
    // (ready resolves here: the channel closed without a report, and this program has no
    // announceExec step, so EOF cannot tell an exec from a death before it.)
    const outcome = await runLaunch(program);
    expect(outcome.signal).toBe('SIGUSR1');
    expect(outcome.code).toBeNull();
    expect(outcome.stdout).toBe('');
  });

  // Closing fd 0 first makes the supervisor's signalfd take fd 0, which it must not close.
  for (const closeFirst of [false, true]) {
    it(`the supervisor forwards a signal to the child, then re-raises it${closeFirst ? ' (fd 0 closed before the fork)' : ''}`, async () => {
      const program = buildProgram(
        [
          ...(closeFirst ? [{ op: 'syscall', name: 'test.close0', syscall: 'close', args: [imm(0)] } as const] : []),
          { op: 'fork', name: 'test.fork' },
          {
            op: 'sync',
            name: 'test.sync',
            hook: hook('test.signal', async ({ runnerPid, reportedPid }) => {
              process.kill(runnerPid, 'SIGTERM');
              // The child sits in read(fd 3) until we answer; wait for it to die instead.
              for (let i = 0; i < 1000 && alive(reportedPid); i++) await new Promise((resolve) => setTimeout(resolve, 10));
            }),
          },
          say('not reached\n'),
        ],
        arch,
      );
      const outcome = await runLaunch(program);
      expect(outcome.signal).toBe('SIGTERM');
      expect(outcome.stdout).toBe('');
    });
  }

  it('a helper runs its steps in a child and exits; the parent skips them and can reap it', async () => {
    const program = buildProgram(
      [
        { op: 'fork', name: 'test.helper', saveAs: 'helper', helper: [say('helper\n', 'test.inHelper'), say('helper again\n', 'test.inHelper')] },
        { op: 'syscall', name: 'test.reap', syscall: 'wait4', args: [result('helper'), imm(0), imm(0), imm(0)] },
        say('parent\n'),
      ],
      arch,
    );
    const outcome = await runLaunch(program);
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toBe('helper\nhelper again\nparent\n');
  });

  it('refuses helpers that fork, sync, skip out of their range, or run past the end', () => {
    const helper = (steps: ChildStep[]): ChildStep => ({ op: 'fork', name: 't.helper', helper: steps });
    expect(() => buildProgram([helper([{ op: 'fork', name: 't.fork' }])], arch)).toThrow(RangeError);
    expect(() => buildProgram([helper([{ op: 'sync', name: 't.sync', hook: hook('noop', () => undefined) }])], arch)).toThrow(/without forks or syncs/);
    expect(() => buildProgram([helper([])], arch)).toThrow(RangeError);
    const base = buildProgram([helper([say('a\n'), say('b\n')]), say('c\n')], arch).bytes;
    const set = (at: number, value: number) => {
      const copy = Buffer.from(base);
      copy.writeUInt32LE(value, at);
      return copy;
    };
    // nr past the last step, and nr 0
    expect(validateProgram(set(HEADER_SIZE + StepField.nr, 4))).toEqual({ ok: false, code: ProtocolError.step, index: 0 });
    expect(validateProgram(set(HEADER_SIZE + StepField.nr, 0))).toEqual({ ok: false, code: ProtocolError.step, index: 0 });
    // a supervise fork inside the helper's range
    const fork = Buffer.from(base);
    fork.writeUInt16LE(Op.fork, HEADER_SIZE + STEP_SIZE + StepField.op);
    fork.fill(0, HEADER_SIZE + STEP_SIZE + StepField.argKinds, HEADER_SIZE + 2 * STEP_SIZE);
    fork.writeUInt16LE(0xffff, HEADER_SIZE + STEP_SIZE + StepField.resultSlot);
    fork.writeUInt32LE(0, HEADER_SIZE + STEP_SIZE + StepField.nr);
    expect(validateProgram(fork)).toEqual({ ok: false, code: ProtocolError.step, index: 1 });
  });

  it('buildProgram refuses skips across a helper\'s edge and results saved only in a helper used outside it', async () => {
    const helper = (steps: ChildStep[], saveAs?: string): ChildStep => ({ op: 'fork', name: 't.helper', helper: steps, ...(saveAs === undefined ? {} : { saveAs }) });
    const skipping = (skip: number): ChildStep => ({ op: 'syscall', name: 't.chdir', syscall: 'chdir', args: [str(missingPath)], tolerate: ['ENOENT'], skipOnTolerated: skip });
    // From inside a helper past its end: the runner would reject the program at launch.
    expect(() => buildProgram([helper([skipping(2), say('h\n')]), say('a\n'), say('b\n')], arch)).toThrow(RangeError);
    // From outside into a helper's steps: this process would run them itself.
    expect(() => buildProgram([skipping(1), helper([say('helper\n')]), say('after\n')], arch)).toThrow(RangeError);
    expect(() => buildProgram([skipping(2), helper([say('h1\n'), say('h2\n')]), say('after\n')], arch)).toThrow(RangeError);
    // Over the fork and all its steps, or within the helper: fine, and the fork with its helper is skipped.
    const over = await runLaunch(buildProgram([skipping(2), helper([say('helper\n')]), say('after\n')], arch));
    expect(over.stdout).toBe('after\n');
    expect(() => buildProgram([helper([skipping(1), say('h\n')]), say('a\n')], arch)).not.toThrow();

    const saveFd: ChildStep = { op: 'syscall', name: 't.open', syscall: 'openat', args: [imm(AT_FDCWD), str('/'), imm(O.O_RDONLY | O.O_CLOEXEC)], saveAs: 'fd' };
    const useFd: ChildStep = { op: 'syscall', name: 't.close', syscall: 'close', args: [result('fd')] };
    const stored: ChildStep = { op: 'syscall', name: 't.show', syscall: 'write', args: [imm(1), block(Buffer.alloc(8), [], 'b', [{ at: 0, name: 'fd', size: 4 }]), imm(8)] };
    // In the parent the slot was never set (it holds -1): refused, as an argument and through a store.
    expect(() => buildProgram([helper([saveFd]), useFd], arch)).toThrow(RangeError);
    expect(() => buildProgram([helper([saveFd]), stored], arch)).toThrow(RangeError);
    // Nor in another helper, forked from the parent.
    expect(() => buildProgram([helper([saveFd]), helper([useFd])], arch)).toThrow(RangeError);
    // Inside its own helper, or once the parent saved it too, it is there; the fork's own result is in both.
    expect(() => buildProgram([helper([saveFd, useFd, stored]), saveFd, useFd], arch)).not.toThrow();
    expect(() => buildProgram([helper([say('h\n')], 'pid'), { op: 'syscall', name: 't.reap', syscall: 'wait4', args: [result('pid'), imm(0), imm(0), imm(0)] }], arch)).not.toThrow();
  });

  it('in a new PID namespace the target\'s signal still reaches Node, though PID 1 cannot re-raise it', async () => {
    const reported: number[] = [];
    const program = buildProgram(
      [
        { op: 'syscall', name: 'test.unshare', syscall: 'unshare', args: [imm(CLONE.CLONE_NEWUSER | CLONE.CLONE_NEWPID)] },
        { op: 'fork', name: 'test.pidFork' },
        {
          op: 'sync',
          name: 'test.sync',
          hook: hook('test.pid1', ({ reportedPid }) => {
            reported.push(reportedPid);
          }),
        },
        { op: 'fork', name: 'test.initFork' },
        { op: 'syscall', name: 'test.getpid', syscall: 'getpid', args: [], saveAs: 'pid' },
        { op: 'syscall', name: 'test.kill', syscall: 'kill', args: [result('pid'), imm(constants.signals.SIGUSR1)] },
        say('not reached\n'),
      ],
      arch,
    );
    const outcome = await runLaunch(program);
    expect(reported).toEqual([1]);
    expect(outcome.signal).toBe('SIGUSR1');
    expect(outcome.stdout).toBe('');
  });

  it('nested forks: the innermost exit code reaches Node', async () => {
    const program = buildProgram([{ op: 'fork', name: 'test.fork1' }, { op: 'fork', name: 'test.fork2' }, say('inner\n'), exitGroup(42)], arch);
    const outcome = await runLaunch(program);
    expect(outcome.code).toBe(42);
    expect(outcome.stdout).toBe('inner\n');
  });
});

/** True while `pid` exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

describe('runner die-with-parent', () => {
  const dieWithParent = (expectedParent?: number): ChildStep =>
    expectedParent === undefined
      ? { op: 'dieWithParent', name: 'core.dieWithParent', signal: constants.signals.SIGKILL }
      : { op: 'dieWithParent', name: 'core.dieWithParent', signal: constants.signals.SIGKILL, expectedParent };

  it('a wrong expected parent fails the step (ESRCH) before any later step', async () => {
    // pid 1 is never the parent of a runner that this test process spawned.
    const outcome = await runLaunch(buildProgram([dieWithParent(1), say('after\n')], arch));
    expect(outcome.code).toBe(RunnerExit.stepFailed);
    expect(outcome.failure).toMatchObject({ code: 'ESRCH', step: 'core.dieWithParent', stepIndex: 0, syscall: 'getppid' });
    expect(outcome.stdout).toBe('');
  });

  it('the right expected parent, or the default one, goes on', async () => {
    for (const expected of [process.pid, undefined]) {
      const outcome = await runLaunch(buildProgram([dieWithParent(expected), say('after\n')], arch));
      expect(outcome.failure).toBeUndefined();
      expect(outcome.code).toBe(0);
      expect(outcome.stdout).toBe('after\n');
    }
  });

  it('sets PR_SET_PDEATHSIG: a forked child dies with its supervisor', async () => {
    let childAlive: boolean | undefined;
    const program = buildProgram(
      [
        { op: 'fork', name: 'test.fork' },
        // The default expected parent after a fork is the supervisor.
        dieWithParent(),
        {
          op: 'sync',
          name: 'test.sync',
          hook: hook('test.killSupervisor', async ({ runnerPid, reportedPid }) => {
            process.kill(runnerPid, 'SIGKILL');
            for (let i = 0; i < 1000 && alive(reportedPid); i++) await new Promise((resolve) => setTimeout(resolve, 10));
            childAlive = alive(reportedPid);
          }),
        },
        say('not reached\n'),
      ],
      arch,
    );
    const outcome = await runLaunch(program);
    expect(outcome.signal).toBe('SIGKILL');
    expect(childAlive).toBe(false);
    expect(outcome.stdout).toBe('');
  });
});

describe('runner file descriptors', () => {
  const listFds = execSteps({ file: '/bin/sh', args: ['-c', 'ls /proc/self/fd'], env: { PATH: '/usr/bin:/bin' }, cwd: '/', newSession: false });

  it('keeps fds 0-2, closes inherited fds with close_range(4, ...), and fd 3 is close-on-exec', async () => {
    const extra = openSync('/dev/null', 'r');
    try {
      const program = buildProgram([...prepareSteps(process.pid), ...listFds], arch);
      const run = await runRunner(program.bytes, { capture: true, extraFds: [extra] });
      expect(run.code).toBe(0);
      // The only message: the session steps' announcement that execve is next.
      expect(run.control.length).toBe(MESSAGE_SIZE);
      expect(run.control.readUInt32LE(0)).toBe(MessageType.execNext);
      // ls's own directory fd takes the lowest free number: 3, so fd 3 was closed by execve.
      expect(run.stdout.split('\n').filter(Boolean)).toEqual(['0', '1', '2', '3']);

      // Without close_range the inherited fd 4 stays (and whatever non-CLOEXEC fds the
      // test runner leaked to us): the listing sees it, and ls's own fd is no longer 3 alone.
      const leaky = buildProgram(listFds, arch);
      const control = await runRunner(leaky.bytes, { capture: true, extraFds: [extra] });
      expect(control.code).toBe(0);
      expect(control.stdout.split('\n').filter(Boolean)).toEqual(expect.arrayContaining(['0', '1', '2', '3', '4']));
    } finally {
      closeSync(extra);
    }
  });

  it('through launch(): execve closes fd 3, so ready resolves and the target sees only stdio', async () => {
    const outcome = await runLaunch(buildProgram([...prepareSteps(process.pid), ...listFds], arch));
    expect(outcome.failure).toBeUndefined();
    expect(outcome.code).toBe(0);
    expect(outcome.stdout.split('\n').filter(Boolean)).toEqual(['0', '1', '2', '3']);
  });

});
