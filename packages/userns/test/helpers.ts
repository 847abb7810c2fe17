// The userns plan composed with core's steps, run on the real kernel through the test kit.
import { constants } from 'node:os';
import { corePlan, orderSteps } from '@iso/core';
import type { ChildStep, StagedSteps } from '@iso/core';
import { TEST_PATH, composeProgram, runOrThrow } from '@iso/test-kit';
import { usernsFeature } from '../src/index.js';
import type { UsernsOption } from '../src/index.js';

export { gid, isRoot, uid } from '@iso/test-kit';

export interface Outcome {
  stdout: string;
  stderr: string;
  /** The exit code, or the signal name. */
  exit: number | string | null;
}

export interface RunExtras {
  /** Fork before 'credentials', as a PID namespace's init fork does, so the credentials run in a child. */
  fork?: boolean;
  /** More steps by stage, after the userns plan's. */
  steps?: StagedSteps;
}

const initFork: StagedSteps = {
  initFork: [
    { op: 'fork', name: 'test.fork' },
    { op: 'dieWithParent', name: 'test.dieWithParent', signal: constants.signals.SIGKILL },
  ],
};

/** Core's steps around a hand-made userns plan (settings that normalize would refuse, say). */
export function programSteps(plan: StagedSteps, script: string, extras: RunExtras = {}): ChildStep[] {
  const core = corePlan({ file: '/bin/sh', args: ['-c', script], env: { PATH: TEST_PATH }, cwd: '/', newSession: true }, process.pid);
  return orderSteps([core, plan, ...(extras.fork ? [initFork] : []), ...(extras.steps ? [extras.steps] : [])]);
}

/** Runs `script` in a sandbox with this userns option, as @iso/sandbox composes it. Rejects with the setup error. */
export async function runIn(option: UsernsOption, script: string, extras: RunExtras = {}): Promise<Outcome> {
  const extra = orderedExtras(extras);
  const program = composeProgram([usernsFeature], { userns: option }, { file: '/bin/sh', args: ['-c', script], ...(extra ? { extra } : {}) });
  const { stdout, stderr, code, signal } = await runOrThrow(program);
  return { stdout, stderr, exit: code ?? signal };
}

function orderedExtras(extras: RunExtras): StagedSteps | undefined {
  if (!extras.fork) return extras.steps;
  return { ...extras.steps, initFork: [...(initFork.initFork ?? []), ...(extras.steps?.initFork ?? [])] };
}

/** Trimmed lines with runs of blanks squeezed, as uid_map prints them. */
export const lines = (text: string) => text.trim().split('\n').map((l) => l.trim().replace(/\s+/g, ' '));
