import { IsoError, defineFeature, withHint } from '@iso/core';
import type { FeatureSession, ParentHook } from '@iso/core';
import { Cgroup, createDriver, defaultCgroupName } from './cgroup.js';
import { detectLayout } from './layout.js';
import { normalizeCgroupOptions } from './normalize.js';
import type { CgroupOption, CgroupResult, CgroupSettings } from './options.js';
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
    };
  },
  refineError: (error) => {
    if (error.step === 'cgroup.unshare' && error.code === 'EINVAL') return withHint(error, 'ISO_UNSUPPORTED_KERNEL', 'this kernel has no cgroup namespaces (Linux 4.6+)');
    if (error.step === 'cgroup.unshare' && error.code === 'EPERM') return withHint(error, 'ISO_NEEDS_PRIVILEGE', 'a cgroup namespace needs CAP_SYS_ADMIN: keep the user namespace on, or pass namespace: false');
    return error;
  },
});
