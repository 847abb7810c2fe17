// What the kernel tests share: sandboxes of the real pid, mount and userns features,
// composed with core's steps by the test kit exactly as @iso/sandbox composes them;
// scratch dirs that the sandbox's root owns and that are removed afterwards; and the
// test kit's leak guard (processes, fds and the host's mount table).
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { currentHost } from '@iso/core';
import type { ChildStep, IsoError } from '@iso/core';
import { pidFeature } from '@iso/pid';
import { featureContext, guardNoLeaks, runOrThrow, composeProgram } from '@iso/test-kit';
import { usernsFeature } from '@iso/userns';
import { afterEach } from 'vitest';
import { mountFeature } from '../src/index.js';
import type { MountOption } from '../src/index.js';

export { gid, isRoot, uid } from '@iso/test-kit';

/**
 * The host ids behind the sandbox's root, as the real userns feature maps them: the caller,
 * or nobody (65534) for a root caller. What the sandbox may write on the host is theirs.
 */
export const SANDBOX_ROOT = ((): { uid: number; gid: number } => {
  const settings = usernsFeature.normalize(true, featureContext({ host: currentHost() }));
  if (!settings) throw new Error('userns is off');
  return settings.host;
})();

/** The host's mount table as this process sees it. */
export function hostMounts(): string {
  return readFileSync('/proc/self/mountinfo', 'utf8');
}

/** Hands paths to the sandbox's root: a root caller's sandbox writes as nobody. */
export function giveToSandbox(...paths: string[]): void {
  for (const path of paths) chownSync(path, SANDBOX_ROOT.uid, SANDBOX_ROOT.gid);
}

function removeDir(dir: string): void {
  // Overlay work dirs hold a mode-000 "work" dir owned by the sandbox; make it removable.
  try {
    execFileSync('chmod', ['-R', 'u+rwX', dir], { stdio: 'ignore' });
  } catch {
    // best effort; rmSync says what is left
  }
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Registers the hooks every kernel suite here needs: nothing may outlive a test (the test
 * kit's guard: processes, fds, the host's mount table), and scratch dirs are removed.
 * Returns the maker of scratch dirs: world-searchable, owned by the sandbox's root.
 */
export function guardHost(): (options?: { owner?: 'sandbox' | 'caller' }) => string {
  const dirs: string[] = [];
  guardNoLeaks();
  afterEach(() => {
    for (const dir of dirs.splice(0)) removeDir(dir);
  });
  return (options = {}) => {
    const dir = mkdtempSync(join(tmpdir(), 'iso-mount-'));
    dirs.push(dir);
    chmodSync(dir, 0o755);
    if (options.owner !== 'caller') giveToSandbox(dir);
    return dir;
  };
}

export interface RunOptions {
  /** `pid: true`: a PID namespace with its own /proc, which asks mount for a /proc mount point. */
  pid?: boolean;
  /** Steps run right after the namespaces exist, before this package's rootfs stage. */
  before?: readonly ChildStep[];
  /** The mount feature to compose instead of mountFeature (one with a test's normalize). */
  feature?: typeof mountFeature;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `sh -c script` in a sandbox of [pid, mount, userns] with this `mount` option. Rejects with the setup error. */
export async function runSandbox(mount: MountOption, script: string, options: RunOptions = {}): Promise<RunResult> {
  const features = [pidFeature, options.feature ?? mountFeature, usernsFeature];
  const extra = options.before ? { extra: { plumbing: options.before } } : {};
  const program = composeProgram(features, { pid: options.pid ?? false, mount }, { file: '/bin/sh', args: ['-c', script], ...extra });
  const { code, stdout, stderr } = await runOrThrow(program);
  return { code, stdout, stderr };
}

/** The setup error of a sandbox that must fail. */
export async function setupError(mount: MountOption, script = 'true', options: RunOptions = {}): Promise<IsoError> {
  let result: RunResult;
  try {
    result = await runSandbox(mount, script, options);
  } catch (error) {
    return error as IsoError;
  }
  throw new Error(`expected a setup failure, got ${JSON.stringify(result)}`);
}

/**
 * mountFeature with the options checked as `normalize` says (against another kernel, or a
 * mount table the test made up); its facts and plan are the real ones.
 */
export function mountFeatureWith(normalize: (typeof mountFeature)['normalize']): typeof mountFeature {
  return { ...mountFeature, normalize };
}

/** Entries that make a usable system in an empty root: the host's /usr read-only and the merged-/usr links. */
export const USR_ENTRIES = [
  { type: 'ro-bind', source: '/usr', target: '/usr' },
  { type: 'symlink', target: '/bin', to: 'usr/bin' },
  { type: 'symlink', target: '/lib', to: 'usr/lib' },
  { type: 'symlink', target: '/lib64', to: 'usr/lib64' },
  { type: 'symlink', target: '/sbin', to: 'usr/sbin' },
] as const;
