// seccompFeature as the sandbox drives it, without spawning: normalize with the context
// of the features before it, plan, probe, and the live part without a listener.
import { fstatSync, openSync } from 'node:fs';
import { IsoError } from '@iso/core';
import type { FeatureRun } from '@iso/core';
import { featureContext } from '@iso/test-kit';
import { describe, expect, it } from 'vitest';
import { seccompFeature } from '../src/feature.js';
import { runFilter } from '../src/interpret.js';
import type { SeccompOption, SeccompSettings } from '../src/options.js';
import { probeSeccomp } from '../src/probe.js';

const withNoNewPrivs = featureContext({ noNewPrivs: true });

function settingsOf(option: SeccompOption | undefined): SeccompSettings {
  const settings = seccompFeature.normalize(option, withNoNewPrivs);
  if (!settings) throw new Error('the filter is off');
  return settings;
}

/** The filter bytes of a planned seccomp.load step. */
function plannedFilter(settings: SeccompSettings, context = withNoNewPrivs): Uint8Array {
  const step = seccompFeature.plan(settings, context).steps.seccomp?.[0];
  if (step?.op !== 'syscall' || step.args[2]?.kind !== 'block' || step.args[2].pointers[0]?.to.kind !== 'bytes') throw new Error('no seccomp.load step');
  return step.args[2].pointers[0].to.value;
}

const invalidOption = (option: unknown, path: string, message?: RegExp) => {
  expect(() => seccompFeature.normalize(option as SeccompOption, withNoNewPrivs)).toThrow(
    expect.objectContaining({ code: 'ISO_INVALID_OPTIONS', path, ...(message ? { message: expect.stringMatching(message) } : {}) }),
  );
};

const run = (option: SeccompOption | undefined, returnSocket?: number): FeatureRun<SeccompOption> => ({
  option,
  pid: undefined,
  returnSocket,
  emit: () => {
    throw new Error('no event expected');
  },
});

describe('seccompFeature.normalize', () => {
  it('is on by default with the built-in profile; false turns it off', () => {
    const settings = settingsOf(undefined);
    expect(settings).toEqual({ source: { kind: 'default' }, log: false, specAllow: false, notify: false });
    expect(settingsOf(true)).toBe(settings);
    expect(seccompFeature.normalize(false, withNoNewPrivs)).toBeUndefined();
    // Off needs no privilege at all.
    expect(seccompFeature.normalize(false, featureContext({ noNewPrivs: false }))).toBeUndefined();
  });

  it('refuses a filter the kernel would not take: no no_new_privs and no CAP_SYS_ADMIN kept', () => {
    for (const option of [undefined, true, { profile: 'default' } as const]) {
      expect(() => seccompFeature.normalize(option, featureContext({ noNewPrivs: false }))).toThrow(
        expect.objectContaining({ code: 'ISO_INVALID_OPTIONS', path: 'seccomp', message: expect.stringMatching(/needs no_new_privs \(caps\.noNewPrivs: true\) or CAP_SYS_ADMIN kept/) }),
      );
    }
    expect(seccompFeature.normalize(undefined, featureContext({ noNewPrivs: true }))).toBeDefined();
    expect(seccompFeature.normalize(undefined, featureContext({ noNewPrivs: false, keptCaps: ['CAP_SYS_ADMIN'] }))).toBeDefined();
  });

  it('gives back the same frozen settings for an equal option, handler or not, and new ones after a change', () => {
    const option = { profile: 'default', notify: ['mkdir'], onNotify: () => 'deny' as const, log: true } satisfies SeccompOption;
    const first = settingsOf(option);
    expect(settingsOf({ ...option, notify: ['mkdir'], onNotify: () => 'continue' as const })).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first.source)).toBe(true);
    // The handler is never in the settings, which are shared between launches.
    expect(JSON.stringify(first)).not.toContain('onNotify');
    expect(Object.values(first).some((value) => typeof value === 'function')).toBe(false);
    option.notify.push('rmdir');
    const changed = settingsOf(option);
    expect(changed).not.toBe(first);
    expect(changed.source).toEqual({ kind: 'default', notify: ['mkdir', 'rmdir'] });
    expect(first.source).toEqual({ kind: 'default', notify: ['mkdir'] });
  });

  it('keeps the checked policy apart from the caller’s object', () => {
    const option = { defaultAction: 'allow' as const, rules: [{ names: ['mount'], action: 'kill-process' as const }] };
    const settings = settingsOf(option);
    option.rules[0] = { names: ['read'], action: 'kill-process' };
    if (settings.source.kind !== 'policy') throw new Error('expected a policy');
    expect(settings.source.policy.rules?.[0]?.names).toEqual(['mount']);
    expect(() => {
      (settings.source as { kind: string }).kind = 'default';
    }).toThrow(TypeError);
  });

  it('remembers by exact data: a bigint is not its string, a hole is not undefined', () => {
    const rule = (value: unknown) => ({ defaultAction: 'allow', rules: [{ names: ['read'], action: 'trap', args: [{ index: 0, op: '==', value }] }] });
    expect(settingsOf(rule(5n) as SeccompOption)).toBeDefined();
    invalidOption(rule('5n'), 'seccomp.rules[0].args[0].value');
    // [, 'read']: forEach skips the hole, so it is one name; [undefined, 'read'] is a bad name.
    // eslint-disable-next-line no-sparse-arrays
    const holed = { defaultAction: 'allow', rules: [{ names: [, 'read'], action: 'trap' }] };
    expect(settingsOf(holed as SeccompOption)).toBeDefined();
    invalidOption({ defaultAction: 'allow', rules: [{ names: [undefined, 'read'], action: 'trap' }] }, 'seccomp.rules[0].names[0]');
  });

  it('reads a Docker profile’s minKernel against the kernel in the context', () => {
    const docker = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['ptrace'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '5.0' } }] };
    const ptrace = (kernelRelease: string) => {
      const context = featureContext({ noNewPrivs: true, host: { kernelRelease } });
      const settings = seccompFeature.normalize({ docker }, context);
      if (!settings) throw new Error('off');
      return runFilter(plannedFilter(settings, context), { arch: 0xc000003e, nr: 101 }).action;
    };
    expect(ptrace('4.19.0')).toBe('errno');
    expect(ptrace('6.18.0')).toBe('allow');
  });

  it('gives plain JavaScript callers typed errors for wrong types, never a crash', () => {
    const cyclic: Record<string, unknown> = { defaultAction: 'allow' };
    cyclic.rules = [{ names: ['read'], action: 'allow', comment: cyclic }];
    const cases: [unknown, string][] = [
      [123, 'seccomp'],
      ['default', 'seccomp'],
      [null, 'seccomp'],
      [[], 'seccomp'],
      [{ log: 'yes' }, 'seccomp.log'],
      [{ specAllow: 1 }, 'seccomp.specAllow'],
      [{ profile: 'default', onNotify: 'deny' }, 'seccomp.onNotify'],
      [{ profile: 'default', notify: 'mkdir', onNotify: () => 'deny' }, 'seccomp.notify'],
      [{ profile: 'default', notify: [Symbol('mkdir')], onNotify: () => 'deny' }, 'seccomp.notify[0]'],
      [{ profile: 'default', notify: [83n], onNotify: () => 'deny' }, 'seccomp.notify[0]'],
      [{ profile: 'default', notify: [{ toString: () => 'mkdir' }], onNotify: () => 'deny' }, 'seccomp.notify[0]'],
      [{ docker: 42 }, 'seccomp.docker'],
      [{ docker: { defaultAction: 7 } }, 'seccomp.docker.defaultAction'],
      [{ docker: { defaultAction: 'SCMP_ACT_ALLOW', architectures: [62n] } }, 'seccomp.docker.architectures'],
      [{ docker: { defaultAction: 'SCMP_ACT_ALLOW', archMap: [{ architecture: 62n }] } }, 'seccomp.docker.archMap[0].architecture'],
      [{ docker: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 'x', op: 'SCMP_CMP_EQ' }] }] } }, 'seccomp.docker.syscalls[0].args[0].value'],
      [{ rules: 'all' }, 'seccomp.rules'],
      [{ rules: [{ names: ['read'], action: 'allow', comment: () => 'a function' }] }, 'seccomp.rules[0].comment'],
      [{ rules: [{ names: ['read'], action: { errno: Symbol('EPERM') } }] }, 'seccomp.rules[0].action.errno'],
      [{ rules: [{ names: ['read'], action: 'allow', args: [{ index: 0, op: '==', value: Number.NaN }] }] }, 'seccomp.rules[0].args[0].value'],
      [{ rules: [{ names: ['read'], action: 'allow', args: [{ index: '0', op: '==', value: 1 }] }] }, 'seccomp.rules[0].args[0].index'],
      [{ rules: [{ names: ['read'], action: 'notify' }], onNotify: {} }, 'seccomp.onNotify'],
      [cyclic, 'seccomp.rules[0].comment'],
      [{ defaultAction: 'allow', ...Object.fromEntries([['__proto__', { profile: 'default' }]]) }, 'seccomp.__proto__'],
    ];
    for (const [option, path] of cases) {
      let caught: unknown;
      try {
        seccompFeature.normalize(option as SeccompOption, withNoNewPrivs);
      } catch (error) {
        caught = error;
      }
      expect([path, caught instanceof IsoError, (caught as IsoError | undefined)?.code, (caught as IsoError | undefined)?.path]).toEqual([path, true, 'ISO_INVALID_OPTIONS', path]);
    }
  });
});

describe('seccompFeature.plan', () => {
  it('compiles for the context’s machine and kept capabilities, once per settings object', () => {
    const settings = settingsOf(true);
    const plan = seccompFeature.plan(settings, withNoNewPrivs);
    expect(plan.returnChannel).toBe(false);
    expect(Object.keys(plan.steps)).toEqual(['seccomp']);
    expect(seccompFeature.plan(settings, featureContext({ noNewPrivs: true })).steps).toBe(plan.steps);
    const mount = (context = withNoNewPrivs) => runFilter(plannedFilter(settings, context), { arch: 0xc000003e, nr: 165 }).action;
    expect(mount()).toBe('errno');
    expect(mount(featureContext({ noNewPrivs: true, keptCaps: ['CAP_SYS_ADMIN'] }))).toBe('allow');
    const arm = featureContext({ noNewPrivs: true, host: { arch: 'aarch64' } });
    expect(runFilter(plannedFilter(settings, arm), { arch: 0xc00000b7, nr: 40 }).action).toBe('errno'); // aarch64 mount
    expect(runFilter(plannedFilter(settings, arm), { arch: 0xc000003e, nr: 0 }).action).toBe('kill-process'); // not this machine's calls
  });

  it('asks for the return channel when calls go to the handler', () => {
    const settings = settingsOf({ profile: 'default', notify: ['mkdir'], onNotify: () => 'deny' });
    const plan = seccompFeature.plan(settings, withNoNewPrivs);
    expect(plan.returnChannel).toBe(true);
    expect(plan.steps.seccomp?.map((step) => step.name)).toEqual(['seccomp.load', 'seccomp.sendListener']);
  });
});

describe('seccompFeature.start without a listener', () => {
  it('reports how the target ended: killed is a death by SIGSYS', () => {
    const settings = settingsOf(true);
    const session = seccompFeature.start?.(settings, run(true));
    if (!session) throw new Error('no start');
    session.stop();
    expect(session.result({ exitCode: null, signal: 'SIGSYS' })).toEqual({ killed: true, notifications: 0, violations: [] });
    expect(seccompFeature.start?.(settings, run(true)).result({ exitCode: 0, signal: null })).toEqual({ killed: false, notifications: 0, violations: [] });
  });

  it('closes a return socket it was handed without asking for one: the session owns it', () => {
    const fd = openSync('/dev/null', 'r');
    seccompFeature.start?.(settingsOf(true), run(true, fd)).stop();
    expect(() => fstatSync(fd)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });

  it('serves nothing when the runner could not be spawned (no return socket)', () => {
    const option = { profile: 'default', notify: ['mkdir'], onNotify: () => 'deny' } satisfies SeccompOption;
    const session = seccompFeature.start?.(settingsOf(option), run(option, undefined));
    session?.stop();
    session?.stop();
    expect(session?.result({ exitCode: null, signal: null })).toEqual({ killed: false, notifications: 0, violations: [] });
  });
});

describe('seccompFeature.refineError', () => {
  const failed = (code: string) =>
    new IsoError('ISO_SYSCALL_FAILED', `seccomp.load[9]: seccomp(...) failed: ${code}`, { phase: 'child', step: 'seccomp.load', stepIndex: 9, syscall: 'seccomp', errnoCode: code, errno: -22 });

  it('names the flags a kernel refused, and the privilege a load needs', () => {
    const notifying = settingsOf({ profile: 'default', notify: ['mkdir'], log: true, onNotify: () => 'deny' });
    const refined = seccompFeature.refineError?.(failed('EINVAL'), notifying);
    expect(refined).toMatchObject({ isoCode: 'ISO_UNSUPPORTED_KERNEL', code: 'EINVAL', step: 'seccomp.load', stepIndex: 9 });
    expect(refined?.message).toMatch(/^seccomp\.load\[9\]: .*: the kernel refused the filter flags SECCOMP_FILTER_FLAG_LOG \(Linux 4\.14\+\), SECCOMP_FILTER_FLAG_NEW_LISTENER \(Linux 5\.0\+\)$/);
    expect(seccompFeature.refineError?.(failed('EACCES'), settingsOf(true))).toMatchObject({ isoCode: 'ISO_NEEDS_PRIVILEGE', code: 'EACCES' });
    const other = new IsoError('ISO_SYSCALL_FAILED', 'core.exec: failed', { phase: 'child', step: 'core.exec' });
    expect(seccompFeature.refineError?.(other, settingsOf(true))).toBe(other);
  });
});

describe('seccompFeature.probe', () => {
  it('says whether filters work here, with this kernel’s actions and this process’s state', () => {
    expect(seccompFeature.probe()).toMatchObject({ supported: true, reasons: [] });
    const probe = probeSeccomp();
    // Linux 6.18 here: every action, user notification included.
    expect(probe.actions).toEqual(['kill-process', 'kill-thread', 'trap', 'errno', 'notify', 'trace', 'log', 'allow']);
    expect(probe.mode).toBeTypeOf('number');
    expect(typeof probe.noNewPrivs).toBe('boolean');
  });
});
