// Test helpers: a launcher for child programs built the way @iso/sandbox composes them
// (core, a user namespace, this package's stages, optionally a PID namespace with a fresh
// /proc), temp dirs that are removed afterwards, and the host's mount table as the oracle.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLONE, MS, STAGES, buildProgram, execSteps, flags, hostArch, launch, nullPointer, prepareSteps, str, writeFileSteps } from '@iso/core';
import type { ChildStep, IsoError, StagedSteps } from '@iso/core';
import { mountPlan, normalizeMountOptions } from '../src/index.js';
import type { MountContext, MountOption } from '../src/index.js';
import { afterEach, beforeEach, expect } from 'vitest';

export const uid = process.getuid?.() ?? 0;
export const gid = process.getgid?.() ?? 0;
export const isRoot = uid === 0;

export const PATH = '/usr/local/bin:/usr/bin:/bin';

/** The host's mount table as this process sees it. */
export function hostMounts(): string {
  return readFileSync('/proc/self/mountinfo', 'utf8');
}

/** A temp dir under os.tmpdir(), world-searchable so the sandbox's ids can enter it. */
export function tempDir(prefix = 'iso-mount-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

export function removeDir(dir: string): void {
  // Overlay work dirs hold a mode-000 "work" dir owned by the sandbox; make it removable.
  try {
    execFileSync('chmod', ['-R', 'u+rwX', dir], { stdio: 'ignore' });
  } catch {
    // best effort; rmSync says what is left
  }
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Registers the hooks every suite here needs: the host's mount table must be the same
 * after each test, and scratch dirs are removed. Returns the scratch-dir maker.
 */
export function guardHost(): () => string {
  let before = '';
  const dirs: string[] = [];
  beforeEach(() => {
    before = hostMounts();
  });
  afterEach(() => {
    for (const dir of dirs.splice(0)) removeDir(dir);
    expect(hostMounts()).toBe(before);
  });
  return () => {
    const dir = tempDir();
    dirs.push(dir);
    return dir;
  };
}

export interface RunOptions {
  /** A PID namespace with a fresh /proc mounted in 'mounts', after this package (as @iso/pid does). */
  pid?: boolean;
  /** Steps run right after the namespaces exist, before this package's mounts. */
  before?: readonly ChildStep[];
  /** What the options are checked against, instead of this kernel, caller and mount table. */
  context?: MountContext;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A user namespace mapping root inside to the caller: works as root and rootless. */
export function usernsStage(): StagedSteps {
  return {
    userns: [
      { op: 'syscall', name: 'test.userns', syscall: 'unshare', args: [flags(CLONE.CLONE_NEWUSER, CLONE)] },
      ...writeFileSteps('test.setgroups', '/proc/self/setgroups', 'deny'),
      ...writeFileSteps('test.uidMap', '/proc/self/uid_map', `0 ${uid} 1\n`),
      ...writeFileSteps('test.gidMap', '/proc/self/gid_map', `0 ${gid} 1\n`),
    ],
  };
}

/** What @iso/pid adds: a PID namespace, a fork into PID 1, and a proc mount on /proc. */
export function pidStage(): StagedSteps {
  return {
    namespaces: [{ op: 'syscall', name: 'test.pidns', syscall: 'unshare', args: [flags(CLONE.CLONE_NEWPID, CLONE)] }],
    pidFork: [{ op: 'fork', name: 'test.fork' }],
    mounts: [
      {
        op: 'syscall',
        name: 'test.mountProc',
        syscall: 'mount',
        args: [str('proc'), str('/proc'), str('proc'), flags(MS.MS_NOSUID | MS.MS_NODEV | MS.MS_NOEXEC, MS), nullPointer()],
      },
    ],
  };
}

/** The whole program for `sh -c script` with this `mount` option. */
export function composeSteps(mount: MountOption, script: string, options: RunOptions = {}): ChildStep[] {
  const settings = normalizeMountOptions(mount, options.context);
  if (!settings) throw new Error('mount is off');
  const staged: StagedSteps[] = [
    { prepare: prepareSteps(process.pid), exec: execSteps({ file: '/bin/sh', args: ['-c', script], env: { PATH }, cwd: '/', newSession: true }) },
    usernsStage(),
    mountPlan(settings),
  ];
  if (options.before) staged.push({ plumbing: options.before });
  if (options.pid) staged.push(pidStage());
  return STAGES.flatMap((stage) => staged.flatMap((plan) => plan[stage] ?? []));
}

/** Runs `sh -c script` in a sandbox with this mount option. Rejects with the IsoError of a failed setup. */
export async function runSandbox(mount: MountOption, script: string, options: RunOptions = {}): Promise<RunResult> {
  const program = buildProgram(composeSteps(mount, script, options), hostArch());
  const { child, ready } = launch(program, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const closed = new Promise<number | null>((resolve) => child.once('close', (code) => { resolve(code); }));
  try {
    await ready;
  } catch (error) {
    await closed;
    throw error;
  }
  const code = await closed;
  return { code, stdout, stderr };
}

/** The setup error of a sandbox that must fail. */
export async function setupError(mount: MountOption, script = 'true', options: RunOptions = {}): Promise<IsoError> {
  try {
    const result = await runSandbox(mount, script, options);
    throw new Error(`expected a setup failure, got ${JSON.stringify(result)}`);
  } catch (error) {
    return error as IsoError;
  }
}

/** Entries that make a usable system in an empty root: the host's /usr read-only and the merged-/usr links. */
export const USR_ENTRIES = [
  { type: 'ro-bind', source: '/usr', target: '/usr' },
  { type: 'symlink', target: '/bin', to: 'usr/bin' },
  { type: 'symlink', target: '/lib', to: 'usr/lib' },
  { type: 'symlink', target: '/lib64', to: 'usr/lib64' },
  { type: 'symlink', target: '/sbin', to: 'usr/sbin' },
] as const;
