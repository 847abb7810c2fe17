// @iso/test-kit: what the packages' tests share. Launch a program and collect what it
// did; compose real features the way @iso/sandbox does; check that a test left nothing
// behind; find the Docker-format seccomp profiles. Private: never published.
import { closeSync, existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect } from 'vitest';
import { buildProgram, composeFeatures, corePlan, currentHost, hostArch, launch, orderSteps } from '@iso/core';
import type { AnyFeature, ChildStep, ExecSpec, FeatureContext, HostFacts, IsoError, LaunchOptions, Program, StagedSteps } from '@iso/core';

export const uid = process.getuid?.() ?? 0;
export const gid = process.getgid?.() ?? 0;
export const isRoot = uid === 0;
/** The PATH of programs the tests start. */
export const TEST_PATH = '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin';

// ---------------------------------------------------------------------------------------
// Launch and collect.

export interface RunOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The setup error that `ready` rejected with, if any. */
  error: IsoError | undefined;
  /** Host pid of the runner. */
  pid: number | undefined;
}

/** Launches a program (or steps, built for this arch), waits for the end, and says what happened. */
export async function runProgram(program: Program | readonly ChildStep[], options: Partial<LaunchOptions> = {}): Promise<RunOutcome> {
  const built = 'bytes' in program ? program : buildProgram(program, hostArch());
  const { child, ready, returnSocket } = launch(built, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const closed = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.once('close', (code, signal) => {
      resolve([code, signal]);
    });
    child.once('error', () => {
      resolve([null, null]);
    });
  });
  let error: IsoError | undefined;
  try {
    await ready;
  } catch (caught) {
    error = caught as IsoError;
  }
  const [code, signal] = await closed;
  // Whatever the program sent back is of no use here; a test that reads it calls launch itself.
  if (returnSocket !== undefined) closeSync(returnSocket);
  return { code, signal, stdout, stderr, error, pid: child.pid };
}

/** Like runProgram, but rejects with the setup error. */
export async function runOrThrow(program: Program | readonly ChildStep[], options: Partial<LaunchOptions> = {}): Promise<RunOutcome> {
  const outcome = await runProgram(program, options);
  if (outcome.error) throw outcome.error;
  return outcome;
}

// ---------------------------------------------------------------------------------------
// Real features, composed as the sandbox composes them.

/** A context for pure tests of one feature: an unprivileged caller on 6.18 unless told. */
export function featureContext(overrides: Partial<Omit<FeatureContext, 'host'>> & { host?: Partial<HostFacts> } = {}): FeatureContext {
  const uid = overrides.host?.uid ?? 1000;
  const host: HostFacts = { uid, gid: 1000, isRoot: uid === 0, euid: uid, pid: 4242, arch: 'x86_64', kernelRelease: '6.18.0', kernel: [6, 18], ...overrides.host };
  return {
    namespaces: overrides.namespaces ?? new Set(),
    requests: overrides.requests ?? [],
    keptCaps: overrides.keptCaps ?? [],
    noNewPrivs: overrides.noNewPrivs ?? false,
    ownRoot: overrides.ownRoot ?? false,
    host,
  };
}

export interface ComposeOptions {
  /** The program to exec. @defaultValue '/bin/sh' */
  file?: string;
  args?: readonly string[];
  env?: Readonly<Record<string, string>>;
  /** @defaultValue '/' */
  cwd?: string;
  /** More steps by stage, after the features' own. */
  extra?: StagedSteps;
}

/**
 * The program of `features` with `options` (keyed by feature key) around core's prepare,
 * session and exec steps: what @iso/sandbox builds, for a package's own tests.
 */
export function composeProgram(features: readonly AnyFeature[], options: Readonly<Record<string, unknown>>, exec: ComposeOptions = {}): Program {
  const composition = composeFeatures(features, options, currentHost());
  const spec: ExecSpec = {
    file: exec.file ?? '/bin/sh',
    args: exec.args ?? [],
    env: exec.env ?? { PATH: TEST_PATH },
    cwd: exec.cwd ?? '/',
    newSession: true,
    returnChannel: composition.returnChannel,
  };
  const plans = [corePlan(spec, process.pid), ...composition.enabled.map((e) => e.plan.steps), ...(exec.extra ? [exec.extra] : [])];
  return buildProgram(orderSteps(plans), hostArch());
}

/** Runs `sh -c script` with these features and options. */
export function runScript(features: readonly AnyFeature[], options: Readonly<Record<string, unknown>>, script: string, exec: Omit<ComposeOptions, 'file' | 'args'> = {}): Promise<RunOutcome> {
  return runProgram(composeProgram(features, options, { ...exec, file: '/bin/sh', args: ['-c', script] }));
}

// ---------------------------------------------------------------------------------------
// Processes.

/** Direct children of a process, from /proc/<pid>/task/<tid>/children. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    } catch {
      // the task ended
    }
  }
  return out;
}

/** A process and all its descendants, parents first. */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...childrenOf(out[i] ?? pid));
  return out;
}

/** True while the pid exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export async function waitFor(check: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// ---------------------------------------------------------------------------------------
// Leaks: what a test must not leave behind.

export interface HostSnapshot {
  children: number[];
  mounts: string;
  fds: Map<string, string>;
  cgroups: string[];
}

/** What /proc shows for @iso/core's sealed copy of the runner, made at a process's first launch and kept. */
export const SEALED_RUNNER = '/memfd:iso-runner (deleted)';

function openFds(): Map<string, string> {
  const fds = new Map<string, string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target !== SEALED_RUNNER) fds.set(fd, target);
    } catch {
      // the fd readdir itself used
    }
  }
  return fds;
}

/** The cgroup directories below this process's own cgroups, one level down. */
function cgroupsBelowOwn(): string[] {
  const out: string[] = [];
  let lines: string[] = [];
  try {
    lines = readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n');
  } catch {
    return out;
  }
  for (const line of lines) {
    const [, controllers = '', path = '/'] = line.split(':');
    const mount = controllers === '' ? '/sys/fs/cgroup/unified' : `/sys/fs/cgroup/${controllers.replace(/^name=/, '')}`;
    for (const base of [mount, '/sys/fs/cgroup']) {
      const dir = `${base}${path === '/' ? '' : path}`;
      if (!existsSync(`${dir}/cgroup.procs`)) continue;
      try {
        for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) out.push(`${dir}/${entry.name}`);
      } catch {
        // not ours to read
      }
      break;
    }
  }
  return out.sort();
}

/** What exists now that a test could leak: live children, mounts, open fds, cgroups. */
export function snapshotHost(): HostSnapshot {
  return { children: childrenOf(process.pid).filter(isAlive), mounts: readFileSync('/proc/self/mountinfo', 'utf8'), fds: openFds(), cgroups: cgroupsBelowOwn() };
}

/** What is there now and was not in `before`, waiting up to `settleMs` for it to go. Empty when nothing leaked. */
export async function leaksSince(before: HostSnapshot, settleMs = 3000): Promise<string[]> {
  const deadline = Date.now() + settleMs;
  for (;;) {
    const now = snapshotHost();
    const leaks: string[] = [];
    for (const pid of now.children) if (!before.children.includes(pid)) leaks.push(`process ${pid} (${safeRead(`/proc/${pid}/cmdline`).replace(/\0/g, ' ').trim()})`);
    if (now.mounts !== before.mounts) leaks.push('the mount table changed');
    for (const [fd, target] of now.fds) if (before.fds.get(fd) !== target) leaks.push(`fd ${fd} → ${target}`);
    for (const cgroup of now.cgroups) if (!before.cgroups.includes(cgroup)) leaks.push(`cgroup ${cgroup}`);
    if (leaks.length === 0 || Date.now() > deadline) return leaks;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------
// Docker-format seccomp profiles, from outside the project (never copied into it).

/** Podman's profile, in Docker's format: scripts/setup.sh installs it from Debian. */
export const PODMAN_SECCOMP_PROFILE = '/usr/share/containers/seccomp.json';
/** Docker's current default profile: beside the team's checkouts only, never on a user's clone. */
export const DOCKER_SECCOMP_FIXTURE = fileURLToPath(new URL('../../../../shared/fixtures/docker-seccomp-default.json', import.meta.url));

export interface ProfileFile {
  name: 'podman' | 'docker';
  path: string;
}

/**
 * The Docker-format profiles to test: Podman's always (it throws, saying how to install
 * it, when it is missing), Docker's own when the fixture is there.
 */
export function dockerFormatProfiles(): ProfileFile[] {
  if (!existsSync(PODMAN_SECCOMP_PROFILE))
    throw new Error(
      `${PODMAN_SECCOMP_PROFILE} is missing: run scripts/setup.sh as root, which extracts it from Debian's golang-github-containers-common (Podman's default profile, in Docker's format)`,
    );
  const profiles: ProfileFile[] = [{ name: 'podman', path: PODMAN_SECCOMP_PROFILE }];
  if (existsSync(DOCKER_SECCOMP_FIXTURE)) profiles.push({ name: 'docker', path: DOCKER_SECCOMP_FIXTURE });
  return profiles;
}

/**
 * Registers hooks that fail a test which leaves a process, a mount, an fd or a cgroup
 * behind it. Call it at the top of a describe block (or a file).
 */
export function guardNoLeaks(settleMs?: number): void {
  let before: HostSnapshot | undefined;
  beforeEach(() => {
    before = snapshotHost();
  });
  afterEach(async () => {
    if (before) expect(await leaksSince(before, settleMs)).toEqual([]);
  });
}
