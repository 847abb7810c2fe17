// The cgroup v2 driver: one directory in the unified hierarchy. Controllers reach a child
// only through the parent's cgroup.subtree_control, and a non-root cgroup may enable them
// only while it holds no processes of its own (the no-internal-processes rule).
import { existsSync, mkdirSync } from 'node:fs';
import { IsoError, invalidOptions } from '@iso/core';
import { fsError, hasControl, readControl, readKeyed, readNumber, readProcs, writeControl } from './cgroupfs.js';
import type { CgroupDriver, RawEventCounts } from './driver.js';
import { killAll, removeDirs, until } from './driver.js';
import type { Hierarchy } from './layout.js';
import { cgroupDir, childPath } from './layout.js';
import type { CgroupUsage, LimitValue, NormalizedLimits } from './options.js';
import { delegationHint, writable } from './v1.js';

/** The v2 controllers iso enables for a new cgroup, where the parent offers them. */
export const V2_CONTROLLERS = ['memory', 'cpu', 'pids', 'io', 'cpuset'] as const;
type V2Controller = (typeof V2_CONTROLLERS)[number];

const v2Value = (value: LimitValue) => String(value);

const words = (text: string | undefined) => (text ?? '').trim().split(/\s+/).filter(Boolean);

class V2Cgroup implements CgroupDriver {
  readonly version = 2;
  readonly dirs: readonly string[];

  constructor(
    readonly path: string,
    private readonly dir: string,
  ) {
    this.dirs = [dir];
  }

  apply(limits: NormalizedLimits): void {
    const step = 'cgroup.limits';
    const dir = this.dir;
    if (limits.memory) {
      const { max, high, swap } = limits.memory;
      if (max !== undefined) writeControl(dir, 'memory.max', v2Value(max), step);
      if (high !== undefined) writeControl(dir, 'memory.high', v2Value(high), step);
      if (swap !== undefined) {
        if (!hasControl(dir, 'memory.swap.max')) throw new IsoError('ISO_UNSUPPORTED_KERNEL', 'cgroup: a swap limit needs swap accounting (memory.swap.max is missing)', { phase: 'in-process', step });
        writeControl(dir, 'memory.swap.max', v2Value(swap), step);
      }
    }
    if (limits.cpu) {
      const { quota, period, weight } = limits.cpu;
      if (quota !== undefined || period !== undefined) {
        const [current = 'max', currentPeriod = '100000'] = words(readControl(dir, 'cpu.max'));
        writeControl(dir, 'cpu.max', `${quota === undefined ? current : v2Value(quota)} ${period ?? currentPeriod}`, step);
      }
      if (weight !== undefined) writeControl(dir, 'cpu.weight', String(weight), step);
    }
    if (limits.pids?.max !== undefined) writeControl(dir, 'pids.max', v2Value(limits.pids.max), step);
    for (const device of limits.io ?? []) {
      const keys = [
        ['rbps', device.readBps],
        ['wbps', device.writeBps],
        ['riops', device.readIops],
        ['wiops', device.writeIops],
      ] as const;
      const text = keys.filter(([, value]) => value !== undefined).map(([key, value]) => `${key}=${String(value)}`).join(' ');
      writeControl(dir, 'io.max', `${device.device} ${text}`, step);
    }
    if (limits.cpuset) {
      if (limits.cpuset.cpus !== undefined) writeControl(dir, 'cpuset.cpus', limits.cpuset.cpus, step);
      if (limits.cpuset.mems !== undefined) writeControl(dir, 'cpuset.mems', limits.cpuset.mems, step);
    }
  }

  addProcess(pid: number): void {
    writeControl(this.dir, 'cgroup.procs', String(pid), 'cgroup.addProcess');
  }

  processes(): number[] {
    return readProcs(this.dir);
  }

  usage(): CgroupUsage {
    const dir = this.dir;
    const cpu = readKeyed(dir, 'cpu.stat');
    const io = { readBytes: 0, writeBytes: 0, readOps: 0, writeOps: 0 };
    const stat = readControl(dir, 'io.stat');
    for (const line of (stat ?? '').split('\n'))
      for (const field of line.trim().split(/\s+/).slice(1)) {
        const [key, value] = field.split('=');
        const n = Number(value);
        if (key === 'rbytes') io.readBytes += n;
        else if (key === 'wbytes') io.writeBytes += n;
        else if (key === 'rios') io.readOps += n;
        else if (key === 'wios') io.writeOps += n;
      }
    const ioKnown = stat !== undefined;
    return {
      memory: { current: readNumber(dir, 'memory.current'), peak: readNumber(dir, 'memory.peak') },
      cpu: {
        usageUsec: cpu?.get('usage_usec'),
        userUsec: cpu?.get('user_usec'),
        systemUsec: cpu?.get('system_usec'),
        periods: cpu?.get('nr_periods'),
        throttledPeriods: cpu?.get('nr_throttled'),
        throttledUsec: cpu?.get('throttled_usec'),
      },
      pids: { current: readNumber(dir, 'pids.current'), peak: readNumber(dir, 'pids.peak') },
      io: ioKnown ? io : { readBytes: undefined, writeBytes: undefined, readOps: undefined, writeOps: undefined },
    };
  }

  eventCounts(): RawEventCounts {
    const memory = readKeyed(this.dir, 'memory.events');
    return { oomKills: memory?.get('oom_kill') ?? 0, oom: memory?.get('oom') ?? 0, pidsMax: readKeyed(this.dir, 'pids.events')?.get('max') ?? 0 };
  }


  openOomEventFd(): undefined {
    return undefined;
  }

  private frozen(): boolean {
    return readKeyed(this.dir, 'cgroup.events')?.get('frozen') === 1;
  }

  private needFreezer(step: string): void {
    if (!hasControl(this.dir, 'cgroup.freeze')) throw new IsoError('ISO_UNSUPPORTED_KERNEL', `${step}: the cgroup v2 freezer needs Linux 5.2+ (cgroup.freeze is missing)`, { phase: 'in-process', step });
  }

  async freeze(): Promise<void> {
    this.needFreezer('cgroup.freeze');
    writeControl(this.dir, 'cgroup.freeze', '1', 'cgroup.freeze');
    await until(() => this.frozen(), 'cgroup.events frozen 1', 'cgroup.freeze');
  }

  async thaw(): Promise<void> {
    this.needFreezer('cgroup.thaw');
    writeControl(this.dir, 'cgroup.freeze', '0', 'cgroup.thaw');
    await until(() => !this.frozen(), 'cgroup.events frozen 0', 'cgroup.thaw');
  }

  /** cgroup.kill (Linux 5.14+) kills every process in the subtree at once; before it, the v1 way: freeze, signal, thaw. */
  async kill(): Promise<void> {
    if (hasControl(this.dir, 'cgroup.kill')) writeControl(this.dir, 'cgroup.kill', '1', 'cgroup.kill');
    else
      for (let round = 0; round < 100 && this.processes().length > 0; round++) {
        await this.freeze();
        killAll(this.processes());
        await this.thaw();
      }
    await until(() => readKeyed(this.dir, 'cgroup.events')?.get('populated') !== 1, 'cgroup.events populated 0', 'cgroup.kill');
  }

  async remove(): Promise<void> {
    await removeDirs(this.dirs, 'cgroup.remove');
  }
}

function missingAdvice(parent: string): string {
  return `the no-internal-processes rule of cgroup v2: ${parent} holds processes, so it cannot hand controllers to a child. Pass callerLeaf: 'node' to move Node into a leaf of its own first, or parent: a delegated cgroup that holds no processes`;
}

export interface V2Placement {
  parent: string | undefined;
  callerLeaf: string | undefined;
}

/**
 * Moves the processes of the caller's cgroup (Node and whatever shares it: its shell, the
 * test runner) into `<own>/<leaf>`, made if missing; the former cgroup then holds none
 * and becomes the parent. This is what a delegatee must do under systemd's Delegate=yes.
 */
function moveCallerToLeaf(hierarchy: Hierarchy, leaf: string, uid: number): string {
  const step = 'cgroup.callerLeaf';
  const own = hierarchy.own;
  // Already there (an earlier call moved it): the parent is the leaf's parent.
  if (own.endsWith(`/${leaf}`)) return own.slice(0, -leaf.length - 1) || '/';
  const ownDir = cgroupDir(hierarchy, own);
  if (!writable(ownDir)) throw new IsoError('ISO_NEEDS_PRIVILEGE', `cgroup: ${delegationHint(ownDir, uid)}`, { phase: 'in-process', step, path: ownDir });
  const leafDir = cgroupDir(hierarchy, childPath(own, leaf));
  try {
    mkdirSync(leafDir, { recursive: true });
  } catch (error) {
    throw fsError(error, step, 'mkdir', leafDir, `mkdir("${leafDir}")`);
  }
  writeControl(leafDir, 'cgroup.procs', String(process.pid), step);
  // A process may fork while the others move: read again until none is left behind.
  for (let round = 0; round < 10; round++) {
    const left = readProcs(ownDir);
    if (left.length === 0) break;
    for (const pid of left) {
      try {
        writeControl(leafDir, 'cgroup.procs', String(pid), step);
      } catch (error) {
        // It exited meanwhile.
        if ((error as IsoError).code !== 'ESRCH') throw error;
      }
    }
  }
  return own;
}

/**
 * Creates `name` below the parent: the configured one, or the caller's own cgroup (after
 * moving Node into `callerLeaf` when asked). Enables every controller the parent offers
 * that is not on yet; one a limit needs must come on, or the error says why not.
 */
export function createV2(hierarchy: Hierarchy, placement: V2Placement, name: string, needed: readonly V2Controller[], uid: number): CgroupDriver {
  const step = 'cgroup.create';
  const parent = placement.parent ?? (placement.callerLeaf === undefined ? hierarchy.own : moveCallerToLeaf(hierarchy, placement.callerLeaf, uid));
  const parentDir = cgroupDir(hierarchy, parent);
  if (placement.parent !== undefined && !existsSync(parentDir)) throw invalidOptions('parent', `${parent} does not exist (${parentDir})`);
  if (!writable(parentDir)) throw new IsoError('ISO_NEEDS_PRIVILEGE', `cgroup: ${delegationHint(parentDir, uid)}`, { phase: 'in-process', step, path: parentDir });
  const offered = words(readControl(parentDir, 'cgroup.controllers'));
  const enabled = new Set(words(readControl(parentDir, 'cgroup.subtree_control')));
  for (const controller of V2_CONTROLLERS) {
    if (enabled.has(controller)) continue;
    const isNeeded = needed.includes(controller);
    if (!offered.includes(controller)) {
      if (isNeeded)
        throw new IsoError('ISO_NEEDS_PRIVILEGE', `cgroup: the ${controller} controller is not delegated to ${parent} (it is not in ${parentDir}/cgroup.controllers; enable it in the parent's cgroup.subtree_control, or with systemd Delegate=yes)`, {
          phase: 'in-process',
          step,
          path: parentDir,
        });
      continue;
    }
    try {
      writeControl(parentDir, 'cgroup.subtree_control', `+${controller}`, step);
    } catch (error) {
      if (!isNeeded) continue;
      const code = (error as IsoError).code;
      if (code === 'EBUSY') throw new IsoError('ISO_NEEDS_PRIVILEGE', `cgroup: cannot enable ${controller} in ${parentDir}/cgroup.subtree_control: ${missingAdvice(parent)}`, { phase: 'in-process', step, path: parentDir, errnoCode: 'EBUSY', errno: -16, syscall: 'write', cause: error });
      throw error;
    }
  }
  const path = childPath(parent, name);
  const dir = cgroupDir(hierarchy, path);
  try {
    mkdirSync(dir);
  } catch (error) {
    throw fsError(error, step, 'mkdir', dir, `mkdir("${dir}")`);
  }
  return new V2Cgroup(path, dir);
}

/** The processes in a v2 cgroup directory. */
export const v2Processes = readProcs;
