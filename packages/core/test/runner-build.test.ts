// The runner binaries as built by scripts/build-runner.sh: static ELF executables with no
// interpreter and no dynamic linking, for x86_64 and aarch64, and the aarch64 one speaks
// the same protocol (run under qemu-user). The wire.h header check is in wire.test.ts.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildProgram, bytes, imm, runnerPath } from '../src/index.js';
import type { Arch } from '../src/index.js';
import { HEADER_SIZE, ProtocolError, RunnerExit, STEP_SIZE, StepField } from '../src/wire.js';
import { protocolMessage, runRunner } from './runner-harness.js';

const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const PT_GNU_STACK = 0x6474e551;
const PF_X = 1;
const SHT_DYNAMIC = 6;
const ET_EXEC = 2;
const EM_X86_64 = 62;
const EM_AARCH64 = 183;

interface Elf {
  type: number;
  machine: number;
  entry: bigint;
  segments: { type: number; flags: number }[];
  sectionTypes: number[];
}

/** Reads the ELF64 little-endian header, program headers and section header types. */
function parseElf(file: Buffer): Elf {
  expect(file.subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  expect(file[4], 'ELFCLASS64').toBe(2);
  expect(file[5], 'ELFDATA2LSB').toBe(1);
  const phoff = Number(file.readBigUInt64LE(32));
  const shoff = Number(file.readBigUInt64LE(40));
  const phentsize = file.readUInt16LE(54);
  const phnum = file.readUInt16LE(56);
  const shentsize = file.readUInt16LE(58);
  const shnum = file.readUInt16LE(60);
  const segments = Array.from({ length: phnum }, (_, i) => {
    const at = phoff + i * phentsize;
    return { type: file.readUInt32LE(at), flags: file.readUInt32LE(at + 4) };
  });
  const sectionTypes = shoff === 0 ? [] : Array.from({ length: shnum }, (_, i) => file.readUInt32LE(shoff + i * shentsize + 4));
  return { type: file.readUInt16LE(16), machine: file.readUInt16LE(18), entry: file.readBigUInt64LE(24), segments, sectionTypes };
}

function expectStatic(elf: Elf): void {
  expect(elf.type, 'ET_EXEC: static and not position-independent').toBe(ET_EXEC);
  expect(elf.entry).not.toBe(0n);
  const types = elf.segments.map((s) => s.type);
  expect(types, 'a PT_LOAD segment').toContain(1);
  expect(types, 'no PT_INTERP: no dynamic loader').not.toContain(PT_INTERP);
  expect(types, 'no PT_DYNAMIC segment').not.toContain(PT_DYNAMIC);
  expect(elf.sectionTypes, 'no .dynamic section').not.toContain(SHT_DYNAMIC);
  const stack = elf.segments.find((s) => s.type === PT_GNU_STACK);
  expect(stack, 'a PT_GNU_STACK segment').toBeDefined();
  expect((stack?.flags ?? PF_X) & PF_X, 'a non-executable stack').toBe(0);
}

function readRunner(arch: Arch): Buffer {
  const path = runnerPath(arch);
  if (!existsSync(path)) {
    const hint =
      arch === 'aarch64'
        ? 'the build cross-compiles it with aarch64-linux-gnu-gcc: run scripts/setup.sh to install it, then packages/core/scripts/build-runner.sh'
        : 'run packages/core/scripts/build-runner.sh';
    throw new Error(`the ${arch} runner ${path} is missing; ${hint}`);
  }
  return readFileSync(path);
}

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('runner build', () => {
  it('the x86_64 runner is a static ELF for x86-64 with no interpreter and no dynamic section', () => {
    const elf = parseElf(readRunner('x86_64'));
    expect(elf.machine).toBe(EM_X86_64);
    expectStatic(elf);
  });

  it('the aarch64 runner is built and is a static ELF for AArch64', () => {
    if (!existsSync(runnerPath('aarch64')) && !hasCommand('aarch64-linux-gnu-gcc'))
      throw new Error('aarch64-linux-gnu-gcc is missing, so the aarch64 runner was not built: run scripts/setup.sh, then rebuild');
    const elf = parseElf(readRunner('aarch64'));
    expect(elf.machine).toBe(EM_AARCH64);
    expectStatic(elf);
  });

  it('the built runners are not older than their sources', () => {
    const sources = ['../runner/runner.c', '../runner/wire.h', '../scripts/build-runner.sh'].map((p) => statSync(new URL(p, import.meta.url)).mtimeMs);
    for (const arch of ['x86_64', 'aarch64'] as const) {
      const built = statSync(runnerPath(arch)).mtimeMs;
      expect(built, `${arch} runner is stale: run packages/core/scripts/build-runner.sh`).toBeGreaterThanOrEqual(Math.max(...sources));
    }
  });
});

describe('the runner never grows', () => {
  // Features are written as steps in TypeScript; only a feature-neutral primitive, documented
  // in docs/architecture.md, may enter the C, and it must fit in this budget.
  it('runner.c is at most 400 lines and knows no feature', () => {
    const source = readFileSync(new URL('../runner/runner.c', import.meta.url), 'utf8');
    expect(source.split('\n').length - 1).toBeLessThanOrEqual(400);
    for (const name of ['seccomp', 'mount', 'userns', 'cgroup', 'landlock', 'apparmor', 'netns', 'listener'])
      expect(source.toLowerCase().split('\n').filter((line) => !line.trimStart().startsWith('*') && !line.trimStart().startsWith('/*')).join('\n')).not.toContain(name);
  });
});

describe('the aarch64 runner under qemu-aarch64', () => {
  const runner = runnerPath('aarch64');
  const qemu = (input: Uint8Array | null, args: readonly string[] = []) => {
    if (!hasCommand('qemu-aarch64')) throw new Error('qemu-aarch64 is missing: run scripts/setup.sh (it installs qemu-user)');
    return runRunner(input, { runner, via: 'qemu-aarch64', args, capture: true });
  };
  const hello = buildProgram(
    [
      { op: 'syscall', name: 'test.write', syscall: 'write', args: [imm(1), bytes(Buffer.from('hi\n')), imm(3)] },
      { op: 'syscall', name: 'test.exit', syscall: 'exit_group', args: [imm(0)] },
    ],
    'aarch64',
  );

  it('runs an aarch64 program: write(1, "hi\\n", 3), exit_group(0)', async () => {
    const run = await qemu(hello.bytes);
    expect(run.signal).toBeNull();
    expect(run.stdout).toBe('hi\n');
    expect(run.control.length).toBe(0);
    expect(run.code).toBe(0);
  });

  it('rejects a truncated program with exit 125 and the protocol message', async () => {
    for (const cut of [10, hello.bytes.length - 1]) {
      const run = await qemu(hello.bytes.subarray(0, cut));
      expect(run.signal).toBeNull();
      expect(run.code).toBe(RunnerExit.protocol);
      expect(run.control).toEqual(protocolMessage(ProtocolError.truncated));
      expect(run.stdout).toBe('');
    }
  });

  it('validates like the x86_64 runner: --check, a body error with its index, usage', async () => {
    expect((await qemu(hello.bytes, ['--check'])).code).toBe(0);
    const bad = Buffer.from(hello.bytes);
    bad.writeUInt16LE(1, HEADER_SIZE + STEP_SIZE + StepField.flags); // reserved flags of step 1
    const run = await qemu(bad, ['--check']);
    expect(run.code).toBe(RunnerExit.protocol);
    expect(run.control).toEqual(protocolMessage(ProtocolError.step, 1));
    const usage = await qemu(null, ['--nope']);
    expect(usage.code).toBe(RunnerExit.protocol);
    expect(usage.control).toEqual(protocolMessage(ProtocolError.usage));
  });
});
