// Runs child programs made of core's prepare and exec steps around a userns plan, on the
// real kernel, and the subordinate ids the multi-range tests need.
import { STAGES, buildProgram, execSteps, hostArch, launch, prepareSteps } from '@iso/core';
import type { ChildStep, Stage, StagedSteps } from '@iso/core';
import { constants } from 'node:os';
import type { UsernsOption } from '../src/index.js';
import { normalizeUsernsOptions, usernsPlan } from '../src/index.js';

export const uid = process.getuid!();
export const gid = process.getgid!();
export const isRoot = uid === 0;

export interface Outcome {
  stdout: string;
  stderr: string;
  /** The exit code, or the signal name. */
  exit: number | string | null;
}

export interface RunExtras {
  /** Fork before 'credentials', as @iso/pid's init fork does, so the credentials run in a child. */
  fork?: boolean;
  /** More steps by stage, after the userns plan's. */
  steps?: StagedSteps;
}

/** The program: prepare, the plan's stages in order (with extras), then exec `sh -c script`. */
export function programSteps(plan: StagedSteps, script: string, extras: RunExtras = {}): ChildStep[] {
  const staged: StagedSteps[] = [{ prepare: prepareSteps(process.pid) }, plan];
  if (extras.fork)
    staged.push({
      initFork: [
        { op: 'fork', name: 'test.fork' },
        { op: 'dieWithParent', name: 'test.dieWithParent', signal: constants.signals.SIGKILL },
      ],
    });
  if (extras.steps) staged.push(extras.steps);
  staged.push({ exec: execSteps({ file: '/bin/sh', args: ['-c', script], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, cwd: '/', newSession: true }) });
  return STAGES.flatMap((stage: Stage) => staged.flatMap((p) => p[stage] ?? []));
}

/** Runs `script` in a sandbox made by usernsPlan(option). Rejects with the setup error, if any. */
export async function runIn(option: UsernsOption, script: string, extras: RunExtras = {}): Promise<Outcome> {
  const settings = normalizeUsernsOptions(option);
  if (!settings) throw new Error('userns is off');
  const { child, ready } = launch(buildProgram(programSteps(usernsPlan(settings), script, extras), hostArch()), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const closed = new Promise<number | string | null>((resolve) => child.once('close', (code, signal) => { resolve(code ?? signal); }));
  try {
    await ready;
  } catch (error) {
    await closed;
    throw error;
  }
  const exit = await closed;
  return { stdout, stderr, exit };
}

/** Trimmed lines with runs of blanks squeezed, as uid_map prints them. */
export const lines = (text: string) => text.trim().split('\n').map((l) => l.trim().replace(/\s+/g, ' '));
