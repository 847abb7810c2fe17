import { defineFeature, invalidOptions } from '@iso/core';
import type { FeatureContext } from '@iso/core';
import { mountContextOf, normalizeWithDefaults } from './normalize.js';
import type { MountOption, MountSettings } from './options.js';
import { mountPlan } from './plan.js';
import { probeMount } from './probe.js';

/**
 * The `mount` option as the sandbox composes it: on when an earlier feature asks for a
 * mount namespace, refused off when such a request is required, and a new root with
 * what a process expects there (a /dev, the mount points the requests name).
 */
function normalizeMountFeature(option: MountOption | undefined, context: FeatureContext): MountSettings | undefined {
  const requests = context.requests.filter((request) => request.namespace === 'mnt');
  if (option === false) {
    const required = requests.find((request) => request.required);
    if (required) throw invalidOptions('mount', `${required.by} needs a mount namespace; drop mount: false or set ${required.by}: false`);
    return undefined;
  }
  // Only a missing option is a default; null is a wrong value, for normalize to refuse.
  const given = option === undefined ? (requests.length > 0 ? true : undefined) : option;
  const mountPoints = context.requests.flatMap((request) => request.mountPoints ?? []);
  return normalizeWithDefaults(given, mountContextOf(context.host), { dev: true, mountPoints });
}

/**
 * The `mount` feature of @iso/sandbox: a private mount namespace, and optionally a new
 * root (a read-only host, a rootfs directory or an overlay) with mount entries, Docker's
 * masks and pivot_root. It reads the requests of the features before it (pid, uts, ipc)
 * and must come before userns.
 */
export const mountFeature = defineFeature<'mount', MountOption, MountSettings>({
  key: 'mount',
  summary: 'a private mount namespace; optionally a new root with mount entries, masks and pivot_root',
  normalize: normalizeMountFeature,
  facts: (settings) => ({
    namespaces: ['mnt'],
    // A read-only host root still shares the caller's paths, so its cwd stays meaningful.
    ownRoot: settings.root !== undefined && settings.root.kind !== 'host-readonly',
  }),
  plan: (settings, context) => ({
    steps: mountPlan(settings, context.host.arch),
    // Such settings hold a snapshot of the host's mount table or top level: plan afresh.
    hostDependent: settings.recursiveReadonly === 'walk' || (settings.root?.kind === 'host-readonly' && settings.root.top !== undefined),
  }),
  probe: () => probeMount(),
});
