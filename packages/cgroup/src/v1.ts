// The cgroup v1 driver: one directory per hierarchy (memory, cpu, cpuacct, pids, blkio,
// cpuset, freezer), each below the caller's own cgroup in that hierarchy, which differs
// per controller (here memory is nested and the others are at '/').
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync } from 'node:fs';
import { IsoError, invalidOptions } from '@iso/core';
import { fsError, hasControl, readControl, readKeyed, readNumber, readProcs, writeControl } from './cgroupfs.js';
import type { CgroupDriver, RawEventCounts } from './driver.js';
import { killAll, removeDirs, sum, until } from './driver.js';
import type { CgroupLayout, Hierarchy } from './layout.js';
import { cgroupDir, childPath } from './layout.js';
import type { CgroupUsage, LimitValue, NormalizedLimits } from './options.js';
import { openEventFd } from './sys.js';

/** The v1 controllers iso manages; others (devices, name=systemd) are left alone. */
export const V1_CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'pids', 'blkio', 'cpuset', 'freezer'] as const;
type V1Controller = (typeof V1_CONTROLLERS)[number];

/** The v1 name of a limit's controller. */
export const v1Name = (generic: 'memory' | 'cpu' | 'pids' | 'io' | 'cpuset'): V1Controller => (generic === 'io' ? 'blkio' : generic);

const v1Value = (value: LimitValue) => (value === 'max' ? '-1' : String(value));

/** systemd's conversion of CPUWeight to CPUShares: the defaults (100 and 1024) meet, within v1's 2 to 262144. */
export const sharesOfWeight = (weight: number) => Math.min(262144, Math.max(2, Math.round((weight * 1024) / 100)));

/** Delegation advice for a directory the caller cannot write. */
export function delegationHint(dir: string, uid: number): string {
  return `uid ${uid} may not create cgroups in ${dir}: run as root, or delegate a subtree to this user (chown the directory and its cgroup.procs, cgroup.subtree_control and cgroup.threads to ${uid}, as systemd's Delegate=yes does; or start Node under \`systemd-run --user --scope -p Delegate=yes\`) and pass it as parent`;
}

export function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

interface Place {
  hierarchy: Hierarchy;
  parentDir: string;
  dir: string;
}

class V1Cgroup implements CgroupDriver {
  readonly version = 1;
  readonly dirs: readonly string[];
  readonly path: string;
  private readonly by: ReadonlyMap<V1Controller, string>;

  constructor(places: readonly Place[], path: string) {
    this.dirs = places.map((p) => p.dir);
    const by = new Map<V1Controller, string>();
    for (const place of places) for (const c of place.hierarchy.controllers) if ((V1_CONTROLLERS as readonly string[]).includes(c)) by.set(c as V1Controller, place.dir);
    this.by = by;
    this.path = path;
  }

  private dir(controller: V1Controller): string | undefined {
    return this.by.get(controller);
  }

  private need(controller: V1Controller): string {
    const dir = this.dir(controller);
    if (dir === undefined) throw new IsoError('ISO_UNSUPPORTED_KERNEL', `cgroup: the v1 ${controller} controller is not mounted or not usable here`, { phase: 'in-process', step: 'cgroup.limits' });
    return dir;
  }

  apply(limits: NormalizedLimits): void {
    const step = 'cgroup.limits';
    if (limits.memory) {
      const dir = this.need('memory');
      const { max, high, swap } = limits.memory;
      if (max !== undefined || swap !== undefined) {
        const hard = max ?? this.currentMemoryMax(dir);
        if (swap !== undefined && !hasControl(dir, 'memory.memsw.limit_in_bytes'))
          throw new IsoError('ISO_UNSUPPORTED_KERNEL', 'cgroup: a swap limit on v1 needs swap accounting (memory.memsw.*, swapaccount=1)', { phase: 'in-process', step });
        const memsw = swap === undefined ? undefined : hard === 'max' || swap === 'max' ? 'max' : hard + swap;
        // memsw may never be below the memory limit: raise it first when growing, last when shrinking.
        const writeMax = () => {
          if (max !== undefined) writeControl(dir, 'memory.limit_in_bytes', v1Value(max), step);
        };
        const writeMemsw = () => {
          if (memsw !== undefined) writeControl(dir, 'memory.memsw.limit_in_bytes', v1Value(memsw), step);
        };
        try {
          writeMax();
          writeMemsw();
        } catch {
          writeMemsw();
          writeMax();
        }
      }
      if (high !== undefined) writeControl(dir, 'memory.soft_limit_in_bytes', v1Value(high), step);
    }
    if (limits.cpu) {
      const dir = this.need('cpu');
      const { quota, period, weight } = limits.cpu;
      if (period !== undefined) writeControl(dir, 'cpu.cfs_period_us', String(period), step);
      if (quota !== undefined) writeControl(dir, 'cpu.cfs_quota_us', v1Value(quota), step);
      if (weight !== undefined) writeControl(dir, 'cpu.shares', String(sharesOfWeight(weight)), step);
    }
    if (limits.pids?.max !== undefined) writeControl(this.need('pids'), 'pids.max', String(limits.pids.max), step);
    for (const device of limits.io ?? []) {
      const dir = this.need('blkio');
      const files = [
        ['blkio.throttle.read_bps_device', device.readBps],
        ['blkio.throttle.write_bps_device', device.writeBps],
        ['blkio.throttle.read_iops_device', device.readIops],
        ['blkio.throttle.write_iops_device', device.writeIops],
      ] as const;
      // 0 removes a device's rule on v1.
      for (const [file, value] of files) if (value !== undefined) writeControl(dir, file, `${device.device} ${value === 'max' ? 0 : value}`, step);
    }
    if (limits.cpuset) {
      const dir = this.need('cpuset');
      if (limits.cpuset.mems !== undefined) writeControl(dir, 'cpuset.mems', limits.cpuset.mems, step);
      if (limits.cpuset.cpus !== undefined) writeControl(dir, 'cpuset.cpus', limits.cpuset.cpus, step);
    }
  }

  private currentMemoryMax(dir: string): LimitValue {
    const value = readNumber(dir, 'memory.limit_in_bytes');
    // v1 reports "no limit" as PAGE_COUNTER_MAX pages in bytes, a number near 2^63.
    return value === undefined || value >= 2 ** 62 ? 'max' : value;
  }

  addProcess(pid: number): void {
    for (const dir of this.dirs) writeControl(dir, 'cgroup.procs', String(pid), 'cgroup.addProcess');
  }

  processes(): number[] {
    const dir = this.dir('freezer') ?? this.dirs[0];
    return dir === undefined ? [] : readProcs(dir);
  }

  usage(): CgroupUsage {
    const memory = this.dir('memory');
    const cpuacct = this.dir('cpuacct');
    const cpu = this.dir('cpu');
    const pids = this.dir('pids');
    const blkio = this.dir('blkio');
    const stat = cpu === undefined ? undefined : readKeyed(cpu, 'cpu.stat');
    const nanos = (value: number | undefined) => (value === undefined ? undefined : Math.floor(value / 1000));
    const throttled = stat?.get('throttled_usec') ?? nanos(stat?.get('throttled_time'));
    const io = (file: string, op: 'Read' | 'Write') => {
      const text = blkio === undefined ? undefined : readControl(blkio, file);
      if (text === undefined) return undefined;
      return sum(text.split('\n').map((line) => line.trim().split(/\s+/)).filter((f) => f.length === 3 && f[1] === op).map((f) => Number(f[2])));
    };
    const orZero = (value: number | undefined) => (blkio === undefined ? undefined : (value ?? 0));
    return {
      memory: {
        current: memory === undefined ? undefined : readNumber(memory, 'memory.usage_in_bytes'),
        peak: memory === undefined ? undefined : readNumber(memory, 'memory.max_usage_in_bytes'),
      },
      cpu: {
        usageUsec: cpuacct === undefined ? undefined : nanos(readNumber(cpuacct, 'cpuacct.usage')),
        userUsec: cpuacct === undefined ? undefined : nanos(readNumber(cpuacct, 'cpuacct.usage_user')),
        systemUsec: cpuacct === undefined ? undefined : nanos(readNumber(cpuacct, 'cpuacct.usage_sys')),
        periods: stat?.get('nr_periods'),
        throttledPeriods: stat?.get('nr_throttled'),
        throttledUsec: throttled,
      },
      pids: {
        current: pids === undefined ? undefined : readNumber(pids, 'pids.current'),
        peak: pids === undefined ? undefined : readNumber(pids, 'pids.peak'),
      },
      io: {
        readBytes: orZero(io('blkio.throttle.io_service_bytes_recursive', 'Read')),
        writeBytes: orZero(io('blkio.throttle.io_service_bytes_recursive', 'Write')),
        readOps: orZero(io('blkio.throttle.io_serviced_recursive', 'Read')),
        writeOps: orZero(io('blkio.throttle.io_serviced_recursive', 'Write')),
      },
    };
  }

  eventCounts(): RawEventCounts {
    const memory = this.dir('memory');
    const pids = this.dir('pids');
    return {
      oomKills: (memory === undefined ? undefined : readKeyed(memory, 'memory.oom_control')?.get('oom_kill')) ?? 0,
      oom: 0,
      pidsMax: (pids === undefined ? undefined : readKeyed(pids, 'pids.events')?.get('max')) ?? 0,
    };
  }


  openOomEventFd(): number | undefined {
    const memory = this.dir('memory');
    if (memory === undefined) return undefined;
    const step = 'cgroup.watch';
    const control = `${memory}/memory.oom_control`;
    let oomControl: number;
    try {
      oomControl = openSync(control, 'r');
    } catch (error) {
      throw fsError(error, step, 'open', control, `open("${control}")`);
    }
    const eventFd = openEventFd(step);
    try {
      // "<eventfd> <fd of memory.oom_control>": the kernel signals the eventfd on each OOM.
      writeControl(memory, 'cgroup.event_control', `${eventFd} ${oomControl}`, step);
    } catch (error) {
      closeSync(eventFd);
      throw error;
    } finally {
      closeSync(oomControl);
    }
    return eventFd;
  }

  async freeze(): Promise<void> {
    const dir = this.need('freezer');
    writeControl(dir, 'freezer.state', 'FROZEN', 'cgroup.freeze');
    await until(() => readControl(dir, 'freezer.state')?.trim() === 'FROZEN', 'freezer.state FROZEN', 'cgroup.freeze');
  }

  async thaw(): Promise<void> {
    const dir = this.need('freezer');
    writeControl(dir, 'freezer.state', 'THAWED', 'cgroup.thaw');
    await until(() => readControl(dir, 'freezer.state')?.trim() === 'THAWED', 'freezer.state THAWED', 'cgroup.thaw');
  }

  /**
   * v1 has no cgroup.kill: freeze (so nothing forks while the list is read), SIGKILL every
   * listed process, thaw (so they die), and again until the cgroup is empty. A process
   * that setsid'd or double-forked is still in the cgroup, so it is in the list.
   */
  async kill(): Promise<void> {
    const freezer = this.dir('freezer');
    for (let round = 0; round < 100; round++) {
      if (freezer !== undefined) await this.freeze();
      const pids = this.processes();
      if (pids.length > 0) killAll(pids);
      if (freezer !== undefined) await this.thaw();
      if (pids.length === 0) return;
      await until(() => this.processes().every((pid) => !pids.includes(pid)), 'the killed processes exiting', 'cgroup.kill').catch(() => undefined);
    }
    if (this.processes().length > 0) throw new IsoError('ISO_SYSCALL_FAILED', `cgroup.kill: processes are still in ${this.path} after 100 rounds`, { phase: 'in-process', step: 'cgroup.kill' });
  }

  async remove(): Promise<void> {
    await removeDirs(this.dirs, 'cgroup.remove');
  }
}

/**
 * Creates `name` below the parent in every managed hierarchy that the caller may write.
 * A hierarchy a limit needs must be there and writable; the others are best effort.
 */
export function createV1(layout: CgroupLayout, parent: string | undefined, name: string, needed: readonly V1Controller[], uid: number): CgroupDriver {
  const step = 'cgroup.create';
  const places: Place[] = [];
  const denied: string[] = [];
  for (const hierarchy of layout.hierarchies) {
    if (!hierarchy.controllers.some((c) => (V1_CONTROLLERS as readonly string[]).includes(c))) continue;
    const base = parent ?? hierarchy.own;
    const parentDir = cgroupDir(hierarchy, base);
    const needs = hierarchy.controllers.some((c) => (needed as readonly string[]).includes(c));
    if (parent !== undefined && !existsSync(parentDir)) {
      if (needs) throw invalidOptions('parent', `${parent} does not exist in the ${hierarchy.controllers.join(',')} hierarchy (${parentDir})`);
      continue;
    }
    if (!writable(parentDir)) {
      denied.push(parentDir);
      if (needs) throw new IsoError('ISO_NEEDS_PRIVILEGE', `cgroup: ${delegationHint(parentDir, uid)}`, { phase: 'in-process', step, path: parentDir });
      continue;
    }
    places.push({ hierarchy, parentDir, dir: cgroupDir(hierarchy, childPath(base, name)) });
  }
  for (const controller of needed)
    if (!places.some((p) => p.hierarchy.controllers.includes(controller)))
      throw new IsoError('ISO_UNSUPPORTED_KERNEL', `cgroup: the v1 ${controller} controller is not mounted here`, { phase: 'in-process', step });
  if (places.length === 0 && parent !== undefined && denied.length === 0) throw invalidOptions('parent', `${parent} does not exist in any hierarchy`);
  if (places.length === 0)
    throw new IsoError('ISO_NEEDS_PRIVILEGE', `cgroup: ${delegationHint(denied[0] ?? '/sys/fs/cgroup', uid)}`, { phase: 'in-process', step, path: denied[0] ?? '/sys/fs/cgroup' });
  const made: string[] = [];
  try {
    for (const place of places) {
      try {
        mkdirSync(place.dir);
      } catch (error) {
        throw fsError(error, step, 'mkdir', place.dir, `mkdir("${place.dir}")`);
      }
      made.push(place.dir);
      // A new v1 cpuset starts with no CPUs and no memory nodes, and takes no process so.
      if (place.hierarchy.controllers.includes('cpuset')) {
        for (const file of ['cpuset.cpus', 'cpuset.mems'])
          if ((readControl(place.dir, file) ?? '').trim() === '') writeControl(place.dir, file, readControl(place.parentDir, file)?.trim() ?? '', step);
      }
    }
  } catch (error) {
    void removeDirs(made, step).catch(() => undefined);
    throw error;
  }
  const memory = places.find((p) => p.hierarchy.controllers.includes('memory')) ?? places[0];
  const base = parent ?? memory?.hierarchy.own ?? '/';
  return new V1Cgroup(places, childPath(base, name));
}
