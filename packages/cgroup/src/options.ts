/**
 * A size in bytes: a whole number, or a string with a binary unit ('512K', '64M', '1G',
 * '2T'; 'KiB', 'MB' and friends are read the same, as powers of 1024), or 'max' for no limit.
 */
export type ByteSize = number | string;

/** Memory limits (v2: memory.max, memory.high, memory.swap.max; v1: memory.limit_in_bytes, soft_limit_in_bytes, memsw). */
export interface MemoryLimits {
  /** The hard limit: above it the kernel reclaims, then OOM-kills inside the cgroup. @defaultValue 'max' */
  max?: ByteSize;
  /**
   * The throttle point: above it the kernel reclaims hard and slows allocations (v2
   * memory.high). v1 has no such limit; there it is the soft limit
   * (memory.soft_limit_in_bytes), which only matters under global memory pressure.
   * @defaultValue 'max'
   */
  high?: ByteSize;
  /**
   * Swap the cgroup may use on top of `max` (v2 memory.swap.max; v1 writes
   * memory.memsw.limit_in_bytes = max + swap, which needs swap accounting and a `max`).
   * @defaultValue 'max'
   */
  swap?: ByteSize;
}

/** CPU limits (v2: cpu.max, cpu.weight; v1: cpu.cfs_quota_us, cpu.cfs_period_us, cpu.shares). */
export interface CpuLimits {
  /** CPUs' worth of time per period: 0.5 is half a CPU, 2 two CPUs. @defaultValue no limit */
  cpus?: number;
  /** The period of the quota in microseconds, 1000 to 1000000. @defaultValue 100000 */
  period?: number;
  /**
   * The relative weight under contention, 1 to 10000 (v2 cpu.weight). On v1 it becomes
   * cpu.shares = weight × 1024 / 100, as systemd converts CPUWeight (100 is 1024).
   * @defaultValue 100
   */
  weight?: number;
}

/** The pids controller (pids.max). */
export interface PidsLimits {
  /** At most this many tasks (processes and threads); fork and clone then fail with EAGAIN. @defaultValue 'max' */
  max?: number | 'max';
}

/** Bandwidth and IOPS limits of one block device (v2 io.max; v1 blkio.throttle.*_device). */
export interface IoDeviceLimit {
  /** The block device: a path such as '/dev/vda', or 'major:minor' such as '254:0'. */
  device: string;
  /** Bytes per second read; a ByteSize. */
  readBps?: ByteSize;
  writeBps?: ByteSize;
  /** I/O operations per second. */
  readIops?: number;
  writeIops?: number;
}

/** Which CPUs and memory nodes the cgroup may use; lists such as '0-1,3', a subset of the parent's. */
export interface CpusetLimits {
  cpus?: string;
  mems?: string;
}

/** Every limit, at creation and through `update()`. A limit not given stays as it is (at creation: the kernel's default, no limit). */
export interface CgroupLimits {
  memory?: MemoryLimits;
  cpu?: CpuLimits;
  pids?: PidsLimits;
  io?: readonly IoDeviceLimit[];
  cpuset?: CpusetLimits;
}

/** Where and how a cgroup is created; the in-process `createCgroup()` and the sandbox's `cgroup` key share these. */
export interface CgroupPlacement {
  /**
   * The cgroup to create the new one below, as a path in the hierarchy ('/user.slice/me',
   * as /proc/self/cgroup shows it); on v1 the same path in every hierarchy. Never
   * anywhere else than below this or, by default, below the caller's own cgroup.
   * @defaultValue the caller's own cgroup (per hierarchy on v1)
   */
  parent?: string;
  /**
   * cgroup v2 only. The kernel lets a cgroup hand controllers to children only while it
   * holds no processes itself (the no-internal-processes rule), and Node sits in its own
   * cgroup. With a leaf name here, the processes of Node's cgroup (Node, and what shares
   * it) move into `<own cgroup>/<leaf>` first; then the controllers are enabled in the
   * former cgroup and the new one is made beside the leaf, as a delegatee under systemd
   * must do. Without it, the parent must be the root cgroup,
   * or a delegated subtree that holds no processes (`parent`).
   * @defaultValue undefined (Node is never moved unless asked)
   */
  callerLeaf?: string;
}

/** Options of createCgroup(). */
export interface CreateCgroupOptions extends CgroupPlacement {
  /** The new cgroup's name; one path component. @defaultValue iso-<pid>-<n>-<random> */
  name?: string;
  limits?: CgroupLimits;
}

/**
 * Options of the sandbox's `cgroup` key (cgroup v1 or v2; the v2 freezer and cgroup.kill
 * need Linux 5.2 and 5.14). The runner is moved into a new cgroup before any setup step,
 * the cgroup is watched while the sandbox runs, and removed (with everything left in it
 * killed) after it ends. Off unless the key is given.
 */
export interface CgroupOptions extends CgroupPlacement, CgroupLimits {
  /**
   * A cgroup namespace (CLONE_NEWCGROUP, Linux 4.6+), so the target sees its cgroup as
   * `/` in /proc/self/cgroup. It turns the user namespace on, as every namespace does.
   * @defaultValue true
   */
  namespace?: boolean;
}

export type CgroupOption = boolean | CgroupOptions;

/** A limit value as the kernel files take it: a number, or 'max' for none. */
export type LimitValue = number | 'max';

/** Checked limits: every value resolved to bytes, microseconds or device numbers. */
export interface NormalizedLimits {
  memory?: { max?: LimitValue; high?: LimitValue; swap?: LimitValue };
  cpu?: { quota?: LimitValue; period?: number; weight?: number };
  pids?: { max?: LimitValue };
  io?: readonly { device: string; major: number; minor: number; readBps?: LimitValue; writeBps?: LimitValue; readIops?: LimitValue; writeIops?: LimitValue }[];
  cpuset?: { cpus?: string; mems?: string };
}

/** The `cgroup` option after checking. */
export interface CgroupSettings {
  readonly limits: NormalizedLimits;
  readonly parent: string | undefined;
  readonly callerLeaf: string | undefined;
  readonly namespace: boolean;
}

/** What the cgroup has used; a field is undefined where this kernel or layout does not count it. */
export interface CgroupUsage {
  memory: {
    /** Bytes charged now (memory.current; v1 memory.usage_in_bytes). */
    current: number | undefined;
    /** The most ever charged (memory.peak, Linux 5.19+; v1 memory.max_usage_in_bytes). */
    peak: number | undefined;
  };
  cpu: {
    /** All CPU time in microseconds, exact: the scheduler's own sum (v2 cpu.stat usage_usec; v1 cpuacct.usage in ns / 1000). */
    usageUsec: number | undefined;
    /** Its split into user and system (v2 cpu.stat, the total scaled by tick samples; v1 cpuacct.usage_user/usage_sys, whole ticks, which may add up to more than the total). */
    userUsec: number | undefined;
    systemUsec: number | undefined;
    /** Periods, throttled periods and throttled time (v2 throttled_usec; v1 throttled_time in ns / 1000). */
    periods: number | undefined;
    throttledPeriods: number | undefined;
    throttledUsec: number | undefined;
  };
  pids: {
    current: number | undefined;
    /** pids.peak: exact where the kernel has it (v2 Linux 6.13+, v1 too on new kernels); otherwise undefined. */
    peak: number | undefined;
  };
  /** Bytes and operations, summed over devices (v2 io.stat; v1 blkio.throttle.io_service*_recursive). */
  io: { readBytes: number | undefined; writeBytes: number | undefined; readOps: number | undefined; writeOps: number | undefined };
}

/** Counts of the events the kernel reported for the cgroup (since it was created). */
export interface CgroupEventCounts {
  /** Processes the OOM killer killed in it (v2 memory.events oom_kill; v1 memory.oom_control oom_kill, Linux 4.13+). */
  oomKills: number;
  /** Times it hit its memory limit so that the OOM killer ran (v2 memory.events oom; v1 eventfd wake-ups). */
  oom: number;
  /** Forks refused by pids.max (pids.events max). */
  pidsMax: number;
}

/** An event on a cgroup (and, in a sandbox, on its handle as 'cgroup'). */
export interface CgroupEvent {
  type: 'oomKill' | 'oom' | 'pidsMax';
  /** How many new ones this event stands for, and the count so far. */
  delta: number;
  total: number;
}

/** The sandbox result under `result.cgroup`. */
export interface CgroupResult {
  version: 1 | 2;
  /** The cgroup's path in the hierarchy (v1: in the memory hierarchy, or the first). */
  path: string;
  usage: CgroupUsage;
  events: CgroupEventCounts;
}
