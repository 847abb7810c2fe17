import { defineFeature, invalidOptions } from '@iso/core';
import { refineUsernsError } from './errors.js';
import { normalizeUsernsOptions } from './normalize.js';
import type { UsernsOption, UsernsSettings } from './options.js';
import { usernsPlan } from './plan.js';
import { probeUserns } from './probe.js';

/**
 * The `userns` feature of @iso/sandbox: a user namespace, which makes the sandbox rootless.
 * It comes after every feature that creates a namespace, and turns on whenever one did.
 */
export const usernsFeature = defineFeature<'userns', UsernsOption, UsernsSettings>({
  key: 'userns',
  summary: 'a user namespace: root inside, mapped to the caller (or to nobody for a root caller)',
  normalize: (option, context) => {
    const { uid, gid, isRoot } = context.host;
    const anyNamespace = context.namespaces.size > 0;
    // Only a missing option takes the default; null is a wrong value, refused like any other.
    const settings = normalizeUsernsOptions(option === undefined ? (anyNamespace ? true : undefined) : option, { uid, gid });
    if (!settings && anyNamespace && !isRoot)
      throw invalidOptions('userns', 'only root can create namespaces without a user namespace; drop userns: false');
    return settings;
  },
  facts: () => ({ namespaces: ['user'] }),
  plan: (settings) => ({ steps: usernsPlan(settings) }),
  probe: () => probeUserns(),
  refineError: (error, settings) => refineUsernsError(error, settings),
});
