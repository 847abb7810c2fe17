// The in-process API: a cgroup as an object. Create it (with limits), move processes in,
// read usage, watch events, freeze, kill and remove it, without @iso/sandbox.
import { EventEmitter } from 'node:events';
import { closeSync, readSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { describeValue, invalidOptions, unsupportedPlatform } from '@iso/core';
import { readControl } from './cgroupfs.js';
import type { CgroupDriver } from './driver.js';
import { cgroupDir, detectLayout } from './layout.js';
import type { CgroupLayout } from './layout.js';
import { controllersFor, normalizeLimits } from './limits.js';
import type { LimitFacts } from './limits.js';
import type { CgroupEvent, CgroupEventCounts, CgroupLimits, CgroupUsage, CreateCgroupOptions, NormalizedLimits } from './options.js';
import { createV1, v1Name } from './v1.js';
import { createV2 } from './v2.js';

/** How often a watch reads the event counters when no notification woke it (ms). */
const WATCH_INTERVAL_MS = 100;

let created = 0;

/** iso-<pid>-<n>-<random>: unique per process and call, and tells whose it is. */
export function defaultCgroupName(): string {
  return `iso-${process.pid}-${++created}-${randomBytes(3).toString('hex')}`;
}

/** A cgroup path such as /proc/self/cgroup shows: absolute, no '.' or '..' parts. */
export function checkCgroupPath(value: unknown, path: string): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.includes('\0')) throw invalidOptions(path, `expected a cgroup path such as '/user.slice/me', got ${describeValue(value)}`);
  const parts = value.split('/').filter(Boolean);
  if (parts.some((part) => part === '.' || part === '..')) throw invalidOptions(path, "must not contain '.' or '..'");
  return parts.length === 0 ? '/' : `/${parts.join('/')}`;
}

/** One path component: letters, digits, '.', '_' and '-'. */
export function checkCgroupName(value: unknown, path: string): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9._-]{1,200}$/.test(value) || value === '.' || value === '..' || value.startsWith('cgroup.'))
    throw invalidOptions(path, `expected a name of letters, digits, '.', '_' and '-', got ${describeValue(value)}`);
  return value;
}

/** What limits read of the parent: its effective cpuset (v2 cpuset.cpus.effective, v1 cpuset.cpus). */
export function limitFacts(layout: CgroupLayout, parent: string | undefined): LimitFacts {
  return {
    parentCpuset: () => {
      const hierarchy = layout.hierarchies.find((h) => h.version === 2 || h.controllers.includes('cpuset'));
      if (hierarchy === undefined) return undefined;
      const dir = cgroupDir(hierarchy, parent ?? hierarchy.own);
      const read = (file: string) => readControl(dir, `${file}.effective`) ?? readControl(dir, file);
      // Without the cpuset controller there (v2 before it is enabled), the machine's own.
      const cpus = read('cpuset.cpus') ?? readControl('/sys/devices/system/cpu', 'online');
      const mems = read('cpuset.mems') ?? readControl('/sys/devices/system/node', 'online') ?? '0';
      return cpus === undefined ? undefined : { cpus, mems };
    },
  };
}

/** Checked placement and limits, before anything is created. */
export interface CheckedCreate {
  name: string;
  parent: string | undefined;
  callerLeaf: string | undefined;
  limits: NormalizedLimits;
}

/** Checks createCgroup's options; ISO_INVALID_OPTIONS names the option. */
export function checkCreateOptions(options: unknown, layout: CgroupLayout, prefix = ''): CheckedCreate {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw invalidOptions(prefix || 'options', 'expected an object');
  const given = options as Record<string, unknown>;
  const at = (key: string) => (prefix ? `${prefix}.${key}` : key);
  for (const key of Object.keys(given)) if (!['name', 'parent', 'callerLeaf', 'limits'].includes(key)) throw invalidOptions(at(key), 'unknown option');
  const parent = given.parent === undefined ? undefined : checkCgroupPath(given.parent, at('parent'));
  const callerLeaf = given.callerLeaf === undefined ? undefined : checkCgroupName(given.callerLeaf, at('callerLeaf'));
  if (callerLeaf !== undefined && parent !== undefined) throw invalidOptions(at('callerLeaf'), 'goes with the default parent only (the caller\'s own cgroup); leave out parent');
  const name = given.name === undefined ? defaultCgroupName() : checkCgroupName(given.name, at('name'));
  const limits = given.limits === undefined ? {} : normalizeLimits(given.limits, at('limits'), limitFacts(layout, parent));
  return { name, parent, callerLeaf, limits };
}

/** The driver for the layout, with the cgroup made. */
export function createDriver(layout: CgroupLayout, checked: CheckedCreate): CgroupDriver {
  const uid = process.getuid?.() ?? 0;
  const needed = controllersFor(checked.limits);
  const unified = layout.hierarchies[0];
  if (layout.mode === 'unified' && unified !== undefined) return createV2(unified, { parent: checked.parent, callerLeaf: checked.callerLeaf }, checked.name, needed, uid);
  if (checked.callerLeaf !== undefined) throw invalidOptions('callerLeaf', `is for cgroup v2; this machine is ${layout.mode} (v1 controllers)`);
  return createV1(layout, checked.parent, checked.name, needed.map(v1Name), uid);
}

/**
 * A cgroup this process created. Events: 'event' (CgroupEvent) for each, and its type
 * ('oomKill', 'oom', 'pidsMax') too, while watching. Every method throws an IsoError.
 */
export class Cgroup extends EventEmitter {
  /** 1 or 2: the driver's cgroup version. */
  readonly version: 1 | 2;
  /** The path in the hierarchy ('/iso-1234-1-abcdef'). */
  readonly path: string;
  /** The directories on disk, one per v1 hierarchy. */
  readonly dirs: readonly string[];
  private readonly layout: CgroupLayout;
  private readonly parent: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private eventFd: number | undefined;
  private last: CgroupEventCounts = { oomKills: 0, oom: 0, pidsMax: 0 };
  private oomWakeups = 0;
  private removed = false;

  constructor(
    private readonly driver: CgroupDriver,
    layout: CgroupLayout,
    parent: string | undefined,
  ) {
    super();
    this.version = driver.version;
    this.path = driver.path;
    this.dirs = driver.dirs;
    this.layout = layout;
    this.parent = parent;
  }

  /** Changes limits now; the running processes feel them at once. Checked first: ISO_INVALID_OPTIONS changes nothing. */
  update(limits: CgroupLimits): void {
    const checked = normalizeLimits(limits, 'limits', limitFacts(this.layout, this.parent));
    this.driver.apply(checked);
  }

  /** Moves a process (all its threads) into the cgroup. */
  addProcess(pid: number): void {
    if (!Number.isInteger(pid) || pid <= 0) throw invalidOptions('pid', `expected a process id, got ${describeValue(pid)}`);
    this.driver.addProcess(pid);
  }

  /** The pids in the cgroup now. */
  processes(): number[] {
    return this.driver.processes();
  }

  usage(): CgroupUsage {
    return this.driver.usage();
  }

  /** The event counts since creation (v1 'oom' counts wake-ups seen while watching). */
  get events(): CgroupEventCounts {
    const raw = this.driver.eventCounts();
    return this.version === 1 ? { ...raw, oom: this.oomWakeups } : raw;
  }

  /**
   * Starts delivering events: the kernel's counters (memory.events, pids.events,
   * memory.oom_control) and, on v1, the eventfd of memory.oom_control are read every
   * 100 ms. No inotify: libuv keeps its inotify fd open for the life of the process.
   */
  watch(): this {
    if (this.timer !== undefined || this.removed) return this;
    this.last = this.events;
    this.eventFd = this.driver.openOomEventFd();
    this.timer = setInterval(() => {
      this.check();
    }, WATCH_INTERVAL_MS);
    this.timer.unref();
    return this;
  }

  /** Stops watching; counts stay readable. */
  unwatch(): void {
    if (this.timer !== undefined) this.check();
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.eventFd !== undefined) closeSync(this.eventFd);
    this.eventFd = undefined;
  }

  /** Reads the counters and emits what is new. */
  check(): void {
    if (this.removed) return;
    if (this.eventFd !== undefined) {
      const counter = Buffer.alloc(8);
      try {
        if (readSync(this.eventFd, counter, 0, 8, null) === 8) this.oomWakeups += Number(counter.readBigUInt64LE(0));
      } catch {
        // EAGAIN: nothing new.
      }
    }
    let now: CgroupEventCounts;
    try {
      now = this.events;
    } catch {
      return; // removed under us
    }
    for (const type of ['oom', 'oomKill', 'pidsMax'] as const) {
      const key = type === 'oomKill' ? 'oomKills' : type;
      const delta = now[key] - this.last[key];
      if (delta <= 0) continue;
      const event: CgroupEvent = { type, delta, total: now[key] };
      this.emit('event', event);
      this.emit(type, event);
    }
    this.last = now;
  }

  /** Stops every process in it (v2 cgroup.freeze, v1 freezer.state) and resolves once the kernel says frozen. */
  async freeze(): Promise<void> {
    await this.driver.freeze();
  }

  async thaw(): Promise<void> {
    await this.driver.thaw();
  }

  /** SIGKILLs every process in it, including those that setsid'd or double-forked, and resolves once it is empty. */
  async kill(): Promise<void> {
    await this.driver.kill();
  }

  /** Removes it (retrying while killed processes exit). It must be empty: kill() first. */
  async remove(): Promise<void> {
    this.unwatch();
    this.removed = true;
    await this.driver.remove();
  }
}

/**
 * Creates a cgroup below the caller's own (or `parent`), with `limits`. Checks every
 * option first: ISO_INVALID_OPTIONS with nothing created. A caller without write access
 * gets ISO_NEEDS_PRIVILEGE naming what to delegate.
 */
export function createCgroup(options: CreateCgroupOptions = {}): Cgroup {
  if (process.platform !== 'linux') throw unsupportedPlatform();
  const layout = detectLayout();
  const checked = checkCreateOptions(options, layout);
  const driver = createDriver(layout, checked);
  try {
    driver.apply(checked.limits);
  } catch (error) {
    void driver.remove().catch(() => undefined);
    throw error;
  }
  return new Cgroup(driver, layout, checked.parent);
}

