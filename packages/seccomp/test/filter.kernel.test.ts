// Real-kernel tests: filters loaded by core's runner in a child program, without
// @iso/sandbox, and checked with a tiny static probe that makes raw syscalls with bad
// pointers (EFAULT means the call got past the filter).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IsoError, PR, execSteps, hostArch, imm, prepareSteps, syscallNumber } from '@iso/core';
import type { ChildStep } from '@iso/core';
import { guardNoLeaks, isRoot, runProgram } from '@iso/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePolicy } from '../src/compile.js';
import { SECCOMP_FILTER_FLAG } from '../src/consts.js';
import { normalizeSeccompOptions } from '../src/normalize.js';
import type { SeccompPolicy } from '../src/options.js';
import { seccompLoadStep, seccompPlan } from '../src/plan.js';

const arch = hostArch();
const EFAULT = 14;
const EPERM = 1;
const ENOSYS = 38;
let dir = '';
let probe = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'iso-seccomp-kernel-'));
  probe = join(dir, 'syscall-probe');
  const source = fileURLToPath(new URL('./fixtures/syscall-probe.c', import.meta.url));
  execFileSync('cc', ['-static', '-O2', '-o', probe, source]);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const nr = (name: string) => {
  const number = syscallNumber(arch, name);
  if (number === undefined) throw new Error(`no ${name} on ${arch}`);
  return number;
};

const noNewPrivs: ChildStep = { op: 'syscall', name: 'test.noNewPrivs', syscall: 'prctl', args: [imm(PR.PR_SET_NO_NEW_PRIVS), imm(1), imm(0), imm(0), imm(0)] };

/** Runs the probe for one syscall after `setup` (no_new_privs, then the seccomp steps). */
async function probeCall(setup: readonly ChildStep[], syscall: string, args: (number | string)[] = []) {
  const steps = [...prepareSteps(process.pid), ...setup, ...execSteps({ file: probe, args: [String(nr(syscall)), ...args.map(String)], env: {}, cwd: '/', newSession: false })];
  const outcome = await runProgram(steps);
  return { failure: outcome.error, code: outcome.code, signal: outcome.signal, stdout: outcome.stdout.trim() };
}

const withFilter = (policy: SeccompPolicy, flagBits = 0): ChildStep[] => [noNewPrivs, seccompLoadStep(compilePolicy(policy, arch), flagBits)];

describe('filters in a real process (core runner, no sandbox)', () => {
  guardNoLeaks();

  it('the probe works: without a filter, uname with a bad pointer fails with EFAULT', async () => {
    expect((await probeCall([], 'uname', [1])).stdout).toBe(`errno ${EFAULT}`);
  });

  it('errno actions return the configured errno; allowed calls reach the kernel', async () => {
    const policy: SeccompPolicy = { defaultAction: 'allow', rules: [{ names: ['uname'], action: { errno: 42 } }] };
    expect(await probeCall(withFilter(policy), 'uname', [1])).toMatchObject({ failure: undefined, stdout: 'errno 42', code: 0 });
    expect((await probeCall(withFilter(policy), 'getcwd', [1, 100])).stdout).toBe(`errno ${EFAULT}`);
  });

  it('argument conditions hold in the kernel as in the interpreter', async () => {
    const policy: SeccompPolicy = {
      defaultAction: 'allow',
      rules: [{ names: ['getcwd'], action: { errno: 77 }, args: [{ index: 1, op: '>', value: 0x1_0000_0000n }] }],
    };
    expect((await probeCall(withFilter(policy), 'getcwd', [1, '0x100000001'])).stdout).toBe('errno 77');
    expect((await probeCall(withFilter(policy), 'getcwd', [1, '0x100000000'])).stdout).toBe(`errno ${EFAULT}`);
  });

  it('kill actions end the process with SIGSYS', async () => {
    for (const action of ['kill-process', 'kill-thread'] as const) {
      const outcome = await probeCall(withFilter({ defaultAction: 'allow', rules: [{ names: ['uname'], action }] }), 'uname', [1]);
      expect([action, outcome.signal, outcome.stdout]).toEqual([action, 'SIGSYS', '']);
    }
  });

  it('loads with SECCOMP_FILTER_FLAG_LOG', async () => {
    const outcome = await probeCall(withFilter({ defaultAction: 'allow', rules: [{ names: ['uname'], action: { errno: 9 } }] }, SECCOMP_FILTER_FLAG.SECCOMP_FILTER_FLAG_LOG), 'uname', [1]);
    expect(outcome.stdout).toBe('errno 9');
  });

  describe('the default profile, planned by seccompPlan()', () => {
    const settings = normalizeSeccompOptions(true);
    const steps = () => {
      if (!settings) throw new Error('no settings');
      return [noNewPrivs, ...(seccompPlan(settings, arch, []).seccomp ?? [])];
    };

    it('denies mount and unshare(CLONE_NEWUSER) with EPERM, clone3 with ENOSYS', async () => {
      // Without the filter, mount fails on its bad pointers (EFAULT) even unprivileged, and
      // unshare(CLONE_NEWUSER) succeeds in a single-threaded process.
      expect((await probeCall(steps(), 'mount', [1, 1, 1, 0, 0])).stdout).toBe(`errno ${EPERM}`);
      expect((await probeCall(steps(), 'unshare', ['0x10000000'])).stdout).toBe(`errno ${EPERM}`);
      expect((await probeCall(steps(), 'clone3', [0, 0])).stdout).toBe(`errno ${ENOSYS}`);
      expect((await probeCall([noNewPrivs], 'unshare', ['0x10000000'])).stdout).toBe('ret 0');
    });

    it('denies AF_VSOCK and AF_ALG sockets, allows AF_UNIX and ordinary calls', async () => {
      expect((await probeCall(steps(), 'socket', [40, 1, 0])).stdout).toBe(`errno ${EPERM}`);
      expect((await probeCall(steps(), 'socket', [38, 5, 0])).stdout).toBe(`errno ${EPERM}`);
      expect((await probeCall(steps(), 'socket', [1, 1, 0])).stdout).toMatch(/^ret \d+$/);
      expect((await probeCall(steps(), 'uname', [1])).stdout).toBe(`errno ${EFAULT}`);
    });
  });

  it('without no_new_privs, loading needs CAP_SYS_ADMIN', async () => {
    const load = [seccompLoadStep(compilePolicy({ defaultAction: 'allow' }, arch))];
    const outcome = await probeCall(load, 'uname', [1]);
    if (isRoot) {
      expect(outcome).toMatchObject({ failure: undefined, stdout: `errno ${EFAULT}` });
    } else {
      expect(outcome.failure).toBeInstanceOf(IsoError);
      expect(outcome.failure).toMatchObject({ code: 'EACCES', step: 'seccomp.load', phase: 'child' });
    }
  });
});
