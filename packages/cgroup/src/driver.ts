// One interface over cgroup v1 and v2 (youki's libcgroups has one trait for both): the
// in-process API and the sandbox feature talk to a driver and never to a version.
import { rmdirSync } from 'node:fs';
import { IsoError } from '@iso/core';
import { fsError } from './cgroupfs.js';
import type { CgroupUsage, NormalizedLimits } from './options.js';

/** The kernel's own event counters of a cgroup, as read now. */
export interface RawEventCounts {
  oomKills: number;
  oom: number;
  pidsMax: number;
}

export interface CgroupDriver {
  readonly version: 1 | 2;
  /** The cgroup's path in the hierarchy (v1: in the memory hierarchy if there is one). */
  readonly path: string;
  /** Every directory created, one per hierarchy on v1. */
  readonly dirs: readonly string[];
  apply(limits: NormalizedLimits): void;
  addProcess(pid: number): void;
  processes(): number[];
  usage(): CgroupUsage;
  eventCounts(): RawEventCounts;
  /** v1: an eventfd the kernel signals on OOM (cgroup.event_control), or undefined. */
  openOomEventFd(): number | undefined;
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  kill(): Promise<void>;
  remove(): Promise<void>;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `done()` or throws after `limitMs`. */
export async function until(done: () => boolean, what: string, step: string, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  let pause = 1;
  while (!done()) {
    if (Date.now() > deadline) throw new IsoError('ISO_SYSCALL_FAILED', `${step}: ${what} did not happen within ${limitMs} ms`, { phase: 'in-process', step });
    await sleep(pause);
    pause = Math.min(pause * 2, 50);
  }
}

/**
 * rmdir of each directory, deepest first, retried while the kernel still reports EBUSY
 * (processes that were killed are gone from cgroup.procs only once they have exited).
 */
export async function removeDirs(dirs: readonly string[], step: string, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (const dir of [...dirs].reverse()) {
    let pause = 1;
    for (;;) {
      try {
        rmdirSync(dir);
        break;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (code !== 'EBUSY' || Date.now() > deadline) throw fsError(error, step, 'rmdir', dir, `rmdir("${dir}")`);
        await sleep(pause);
        pause = Math.min(pause * 2, 50);
      }
    }
  }
}

/** Sends SIGKILL to each pid; one that is gone already is no error. */
export function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw fsError(error, 'cgroup.kill', 'kill', `/proc/${pid}`, `kill(${pid}, SIGKILL)`);
    }
  }
}

/** A sum that stays undefined when no part was counted. */
export function sum(values: readonly (number | undefined)[]): number | undefined {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length === 0 ? undefined : known.reduce((a, b) => a + b, 0);
}
