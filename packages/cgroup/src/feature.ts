import { IsoError, defineFeature, withHint } from '@iso/core';
import type { FeatureEnding, FeatureSession, FeatureUsage, FeatureVerdict, ParentHook } from '@iso/core';
import { Cgroup, createDriver, defaultCgroupName } from './cgroup.js';
import { detectLayout } from './layout.js';
import { normalizeCgroupOptions } from './normalize.js';
import type { CgroupOption, CgroupResult, CgroupSettings, LimitValue } from './options.js';
import { cgroupPlan } from './plan.js';
import { probeCgroup } from './probe.js';

/**
 * The cgroups made by start(), by runner pid, until the runner's sync point attaches it.
 * The plan (and its hook) may serve many launches, so the hook finds its cgroup by the
 * runner pid it is given.
 */
const waiting = new Map<number, Cgroup>();

const attach: ParentHook = {
  name: 'cgroup.attach',
  run: ({ runnerPid }) => {
    const cgroup = waiting.get(runnerPid);
    if (cgroup === undefined) throw new IsoError('ISO_SETUP_FAILED', `cgroup.attach: no cgroup was made for runner ${runnerPid} (the cgroup feature's session did not start)`, { phase: 'parent', step: 'cgroup.attach' });
    cgroup.addProcess(runnerPid);
  },
};

function resultOf(cgroup: Cgroup): CgroupResult {
  return { version: cgroup.version, path: cgroup.path, usage: cgroup.usage(), events: cgroup.events };
}

/** The cgroup's counters as the exit report's usage; v1 counts user and system in ticks, v2 scales by them. */
export function reportUsage(result: CgroupResult): FeatureUsage {
  const { usage } = result;
  return {
    source: `cgroup v${result.version} ${result.path}`,
    cpu: { userUsec: usage.cpu.userUsec, systemUsec: usage.cpu.systemUsec, totalUsec: usage.cpu.usageUsec },
    memory: { peakBytes: usage.memory.peak },
    pids: { peak: usage.pids.peak },
    io: { ...usage.io },
    // The split is tick-sampled on both versions (docs/cgroup.md, Usage); the page counter
    // includes per-CPU charge batches, so the memory peak may run a few pages high.
    approximate: ['cpu.userUsec', 'cpu.systemUsec', 'memory.peakBytes'],
  };
}

const sized = (value: LimitValue | undefined) => (value === undefined || value === 'max' ? 'no limit' : `${value} bytes`);

/**
 * The cgroup ended the target when the OOM killer killed in it and the target did not
 * succeed, or when forks were refused by pids.max and it did not succeed. A target that
 * exits 0 despite them ended on its own.
 */
export function cgroupVerdict(result: CgroupResult | undefined, settings: CgroupSettings, ending: FeatureEnding): FeatureVerdict | undefined {
  if (result === undefined || ending.signalFromCaller === true) return undefined;
  const failed = ending.signal !== null || ending.exitCode !== 0;
  if (!failed) return undefined;
  const { oomKills, pidsMax } = result.events;
  if (oomKills > 0)
    return { reason: 'oomKilled', detail: `the OOM killer killed ${oomKills} process${oomKills === 1 ? '' : 'es'} in the cgroup (memory.max: ${sized(settings.limits.memory?.max)})` };
  if (pidsMax > 0) return { reason: 'pidsLimit', detail: `${pidsMax} fork${pidsMax === 1 ? ' was' : 's were'} refused by pids.max (${String(settings.limits.pids?.max ?? 'max')})` };
  return undefined;
}

/**
 * The `cgroup` feature of @iso/sandbox: a cgroup of its own with limits, joined at a sync
 * point before any setup step, watched while the sandbox runs (events 'cgroup' on the
 * handle), reported under `result.cgroup`, and removed after the runner exits (anything
 * still in it is killed first). With `namespace` (the default), a cgroup namespace.
 */
export const cgroupFeature = defineFeature<'cgroup', CgroupOption, CgroupSettings, CgroupResult | undefined>({
  key: 'cgroup',
  summary: "a cgroup of the sandbox's own (v1 or v2) with memory, CPU, pids, io and cpuset limits, usage and OOM/pids events, removed after exit",
  normalize: (option, context) => normalizeCgroupOptions(option, context.host),
  facts: (settings) => (settings.namespace ? { namespaces: ['cgroup'] } : {}),
  plan: (settings) => ({ steps: cgroupPlan(settings, attach) }),
  probe: probeCgroup,
  start: (settings, run): FeatureSession<CgroupResult | undefined> => {
    const pid = run.pid;
    if (pid === undefined) return { stop: () => undefined, result: () => undefined };
    const layout = detectLayout();
    const driver = createDriver(layout, { name: defaultCgroupName(), parent: settings.parent, callerLeaf: settings.callerLeaf, limits: settings.limits });
    try {
      driver.apply(settings.limits);
    } catch (error) {
      void driver.remove().catch(() => undefined);
      throw error;
    }
    const cgroup = new Cgroup(driver, layout, settings.parent);
    cgroup.on('event', (event) => {
      run.emit('cgroup', event);
    });
    try {
      cgroup.watch();
    } catch (error) {
      void cgroup.remove().catch(() => undefined);
      throw error;
    }
    waiting.set(pid, cgroup);
    let final: CgroupResult | undefined;
    return {
      stop: () => {
        waiting.delete(pid);
        try {
          cgroup.check();
          final = resultOf(cgroup);
        } catch {
          // Its files could not be read (removed from outside): nothing to report, still clean up.
        }
        cgroup.unwatch();
        // The runner is gone; anything left (a daemon without a PID namespace) goes with it.
        const cleanup = cgroup.processes().length === 0 ? cgroup.remove() : cgroup.kill().then(() => cgroup.remove());
        void cleanup.catch(() => undefined);
      },
      result: () => final,
      usage: () => (final === undefined ? undefined : reportUsage(final)),
      verdict: (ending) => cgroupVerdict(final, settings, ending),
    };
  },
  refineError: (error) => {
    if (error.step === 'cgroup.unshare' && error.code === 'EINVAL') return withHint(error, 'ISO_UNSUPPORTED_KERNEL', 'this kernel has no cgroup namespaces (Linux 4.6+)');
    if (error.step === 'cgroup.unshare' && error.code === 'EPERM') return withHint(error, 'ISO_NEEDS_PRIVILEGE', 'a cgroup namespace needs CAP_SYS_ADMIN: keep the user namespace on, or pass namespace: false');
    return error;
  },
});
