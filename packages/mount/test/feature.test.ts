// mountFeature without a kernel: when it turns on, what a new root gets by default, the
// facts it hands on and the plan it makes, alone and composed with the real pid and userns.
import { composeFeatures, currentHost } from '@iso/core';
import type { FeatureRequest } from '@iso/core';
import { pidFeature } from '@iso/pid';
import { featureContext } from '@iso/test-kit';
import { usernsFeature } from '@iso/userns';
import { describe, expect, it } from 'vitest';
import { mountFeature, mountPlan, normalizeMountOptions } from '../src/index.js';
import type { MountOption, MountSettings } from '../src/index.js';

const PROC: FeatureRequest = { namespace: 'mnt', by: 'pid.mountProc', required: true, mountPoints: ['/proc'] };
const MQUEUE: FeatureRequest = { namespace: 'mnt', by: 'ipc.mqueue', required: false, mountPoints: ['/dev/mqueue'] };

function on(option: MountOption | undefined, requests: readonly FeatureRequest[] = []): MountSettings {
  const settings = mountFeature.normalize(option, featureContext({ requests }));
  if (!settings) throw new Error('mount is off');
  return settings;
}

/** Where each entry came from and where it goes. */
const placed = (settings: MountSettings) => settings.entries.map((e) => [e.origin, e.type, e.target.path]);

function refusal(run: () => unknown, what = 'this'): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error(`expected a refusal of ${what}`);
}

describe('mountFeature.normalize', () => {
  it('is off unless asked for', () => {
    expect(mountFeature.normalize(undefined, featureContext())).toBeUndefined();
    expect(mountFeature.normalize(false, featureContext())).toBeUndefined();
    // A request for another namespace does not turn mount on.
    expect(mountFeature.normalize(undefined, featureContext({ requests: [{ namespace: 'ipc', by: 'x.y', required: true }] }))).toBeUndefined();
  });

  it('turns on, as a private namespace only, when an earlier feature asks for a mount namespace', () => {
    expect(on(undefined, [PROC])).toEqual(normalizeMountOptions(true));
    expect(on(undefined, [MQUEUE])).toEqual(normalizeMountOptions(true));
  });

  it('refuses mount: false when a request needs it, naming the option to change', () => {
    const error = refusal(() => mountFeature.normalize(false, featureContext({ requests: [MQUEUE, PROC] })));
    expect(error).toMatchObject({ isoCode: 'ISO_INVALID_OPTIONS', path: 'mount', phase: 'validate' });
    expect((error as Error).message).toBe('invalid option mount: pid.mountProc needs a mount namespace; drop mount: false or set pid.mountProc: false');
  });

  it('goes without when only optional requests ask', () => {
    expect(mountFeature.normalize(false, featureContext({ requests: [MQUEUE] }))).toBeUndefined();
  });

  it('gives a new root a /dev and the requested mount points, after the caller\'s entries', () => {
    const settings = on({ root: { dir: '/srv/root' }, entries: [{ type: 'tmpfs', target: '/tmp' }, { type: 'ro-bind', source: '/usr', target: '/usr' }] }, [PROC, MQUEUE]);
    expect(placed(settings)).toEqual([
      ['mount.entries[0]', 'tmpfs', '/tmp'],
      ['mount.entries[1]', 'bind', '/usr'],
      ['mount.defaults[0]', 'dev', '/dev'],
      ['mount.defaults[1]', 'dir', '/proc'],
      ['mount.defaults[2]', 'dir', '/dev/mqueue'],
    ]);
    // The same for a read-only host root; without a root nothing is added.
    expect(placed(on({ root: 'host-readonly' }, [PROC]))).toEqual([
      ['mount.defaults[0]', 'dev', '/dev'],
      ['mount.defaults[1]', 'dir', '/proc'],
    ]);
    expect(on({ entries: [{ type: 'tmpfs', target: '/tmp' }] }, [PROC]).entries).toHaveLength(1);
    expect(placed(on({ root: 'host-readonly' }))).toEqual([['mount.defaults[0]', 'dev', '/dev']]);
  });

  it('leaves a default out when an entry of the caller is at or below its place', () => {
    const withDev = on({ root: { dir: '/r' }, entries: [{ type: 'tmpfs', target: '//dev/./shm/' }] }, [PROC]);
    expect(placed(withDev)).toEqual([
      ['mount.entries[0]', 'tmpfs', '/dev/shm'],
      ['mount.defaults[0]', 'dir', '/proc'],
    ]);
    const withProc = on({ root: { dir: '/r' }, entries: [{ type: 'proc', target: '/proc' }, { type: 'dev', target: '/dev' }] }, [PROC, PROC]);
    expect(placed(withProc).map(([origin]) => origin)).toEqual(['mount.entries[0]', 'mount.entries[1]']);
    // A place above a default does not take it: /devices is not /dev, /p is not /proc.
    expect(placed(on({ root: { dir: '/r' }, entries: [{ type: 'dir', target: '/devices' }, { type: 'dir', target: '/p' }] }, [PROC])).map(([, , path]) => path)).toEqual([
      '/devices',
      '/p',
      '/dev',
      '/proc',
    ]);
    // Two requests for one mount point make one directory.
    expect(placed(on({ root: { dir: '/r' } }, [PROC, { ...PROC, by: 'other.proc' }])).map(([, , path]) => path)).toEqual(['/dev', '/proc']);
  });

  it('checks every entry before adding defaults, and names it by the caller\'s index', () => {
    const cases: [unknown, string][] = [
      [{ root: { dir: '/r' }, entries: [{ type: 'tmpfs', target: '/t' }, { type: 'tmpfs', target: 'rel' }] }, 'mount.entries[1].target'],
      [{ root: { dir: '/r' }, entries: 'tmpfs' }, 'mount.entries'],
      [{ root: { dir: '/r' }, entries: [null] }, 'mount.entries[0]'],
      // A sparse array's hole is an entry too, not a skipped one.
      [{ root: { dir: '/r' }, entries: Object.assign(new Array<unknown>(2), { 1: { type: 'tmpfs', target: '/t' } }) }, 'mount.entries[0]'],
      [{ root: { dir: '/r' }, entries: [{ type: 'tmpfs', target: 7 }] }, 'mount.entries[0].target'],
      [{ root: { dir: '/r' }, entries: [{ type: 'bind', source: ['/usr'], target: '/usr' }] }, 'mount.entries[0].source'],
      [{ root: { dir: '/r' }, entries: [{ type: 'file', target: '/f', content: { length: 1 } }] }, 'mount.entries[0].content'],
      [{ root: { dir: '/r' }, entries: [{ type: 'tmpfs', target: '/t', size: null }] }, 'mount.entries[0].size'],
      [{ root: { dir: 5 } }, 'mount.root.dir'],
      [{ root: ['host-readonly'] }, 'mount.root'],
      [{ root: null }, 'mount.root'],
      [{ root: { overlay: { lower: new Array<string>(2) } } }, 'mount.root.overlay.lower[0]'],
      [{ root: { overlay: { lower: ['/l'], upper: null } } }, 'mount.root.overlay.upper'],
      [{ root: { overlay: { lower: ['/l'], upper: { dir: '/u', work: 1 } } } }, 'mount.root.overlay.upper.work'],
      [{ root: 'host-readonly', propagation: null }, 'mount.propagation'],
      [{ root: 'host-readonly', recursiveReadonly: null }, 'mount.recursiveReadonly'],
      [{ root: 'host-readonly', entries: null }, 'mount.entries'],
      [null, 'mount'],
      [0, 'mount'],
    ];
    for (const [option, path] of cases) {
      const error = refusal(() => mountFeature.normalize(option as MountOption, featureContext({ requests: [PROC] })), JSON.stringify(option));
      expect(error, JSON.stringify(option)).toMatchObject({ isoCode: 'ISO_INVALID_OPTIONS', path, phase: 'validate' });
    }
  });

  it('checks idmapped entries against the caller of the context', () => {
    const option: MountOption = { entries: [{ type: 'bind', source: '/data', target: '/data', idmap: { userns: 1234 } }] };
    expect(refusal(() => mountFeature.normalize(option, featureContext({ host: { uid: 1000 } })))).toMatchObject({ isoCode: 'ISO_NEEDS_PRIVILEGE', path: 'mount.entries[0].idmap' });
    expect(mountFeature.normalize(option, featureContext({ host: { uid: 0, isRoot: true } }))?.entries[0]).toMatchObject({ idmap: { userns: '/proc/1234/ns/user' } });
    // Facts of this very process: its effective uid decides.
    const self = featureContext({ host: currentHost() });
    if ((process.geteuid?.() ?? 0) === 0) expect(mountFeature.normalize(option, self)).toBeDefined();
    else expect(refusal(() => mountFeature.normalize(option, self))).toMatchObject({ isoCode: 'ISO_NEEDS_PRIVILEGE' });
  });

  it('checks the kernel of the context', () => {
    const old = featureContext({ host: { kernelRelease: '5.4.0-150-generic', kernel: [5, 4] } });
    expect(refusal(() => mountFeature.normalize({ root: 'host-readonly' }, old))).toMatchObject({ isoCode: 'ISO_UNSUPPORTED_KERNEL', path: 'mount.root' });
    // A private namespace alone works on any kernel iso runs on.
    expect(mountFeature.normalize(true, old)).toBeDefined();
  });
});

describe('mountFeature facts and plan', () => {
  it('creates a mount namespace, and an own root unless it is the read-only host', () => {
    const context = featureContext();
    const facts = (option: MountOption) => mountFeature.facts?.(on(option), context);
    expect(facts(true)).toEqual({ namespaces: ['mnt'], ownRoot: false });
    expect(facts({ root: 'host-readonly' })).toEqual({ namespaces: ['mnt'], ownRoot: false });
    expect(facts({ root: { dir: '/srv/root' } })).toEqual({ namespaces: ['mnt'], ownRoot: true });
    expect(facts({ root: { overlay: { lower: ['/srv/root'] } } })).toEqual({ namespaces: ['mnt'], ownRoot: true });
  });

  it('plans for the arch of the context', () => {
    const settings = on({ root: { dir: '/r' }, entries: [{ type: 'tmpfs', target: '/t' }] });
    for (const arch of ['x86_64', 'aarch64'] as const) {
      const plan = mountFeature.plan(settings, featureContext({ host: { arch } }));
      expect(plan.steps).toEqual(mountPlan(settings, arch));
      expect(plan.returnChannel).toBeUndefined();
    }
  });

  it('marks plans that hold a snapshot of the host as not reusable', () => {
    const dependent = (option: MountOption, kernelRelease = '6.18.0') => {
      const context = featureContext({ host: { kernelRelease } });
      const settings = mountFeature.normalize(option, context);
      if (!settings) throw new Error('mount is off');
      return mountFeature.plan(settings, context).hostDependent;
    };
    expect(dependent(true)).toBe(false);
    expect(dependent({ root: 'host-readonly', entries: [{ type: 'tmpfs', target: '/tmp' }] })).toBe(false);
    expect(dependent({ root: { dir: '/r' } })).toBe(false);
    // The host's top level, listed for a new top-level mount point.
    expect(dependent({ root: 'host-readonly', entries: [{ type: 'tmpfs', target: '/iso-missing-top' }] })).toBe(true);
    // The host's mount table, read for a remount walk: asked for, or chosen below Linux 5.12.
    expect(dependent({ root: { dir: '/r' }, recursiveReadonly: 'walk' })).toBe(true);
    expect(dependent({ root: { dir: '/r' } }, '5.10.0-28-amd64')).toBe(true);
  });

  it('probes with the contract\'s shape', () => {
    const probe = mountFeature.probe();
    expect(probe.supported).toBe(true);
    expect(Array.isArray(probe.reasons)).toBe(true);
  });
});

describe('mountFeature composed with the real pid and userns features', () => {
  const features = [pidFeature, mountFeature, usernsFeature];

  it('turns on for pid.mountProc, before userns, which turns on for it', () => {
    const composition = composeFeatures(features, { pid: true }, currentHost());
    expect(composition.enabled.map((e) => e.feature.key)).toEqual(['pid', 'mount', 'userns']);
    expect(composition.enabled[1]?.settings).toEqual(normalizeMountOptions(true));
    expect(composition.context.namespaces).toEqual(new Set(['pid', 'mnt', 'user']));
    expect(composition.hostDependent).toBe(false);
  });

  it('refuses { pid: true, mount: false } with the pid README\'s message', () => {
    expect(() => composeFeatures(features, { pid: true, mount: false }, currentHost())).toThrow(
      'invalid option mount: pid.mountProc needs a mount namespace; drop mount: false or set pid.mountProc: false',
    );
    expect(composeFeatures(features, { pid: { mountProc: false }, mount: false }, currentHost()).enabled.map((e) => e.feature.key)).toEqual(['pid', 'userns']);
  });

  it('gives a new root the /proc mount point that pid asks for', () => {
    const composition = composeFeatures(features, { pid: true, mount: { root: { dir: '/srv/root' } } }, currentHost());
    expect(placed(composition.enabled[1]?.settings as MountSettings)).toEqual([
      ['mount.defaults[0]', 'dev', '/dev'],
      ['mount.defaults[1]', 'dir', '/proc'],
    ]);
    expect(composition.context.ownRoot).toBe(true);
  });
});
