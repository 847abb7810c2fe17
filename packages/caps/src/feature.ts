import { defineFeature, invalidOptions } from '@iso/core';
import { capNames } from './names.js';
import { normalizeCapsOptions } from './normalize.js';
import type { CapsFeatureSettings, CapsOption } from './options.js';
import { capsPlan, capsStageNeeds } from './plan.js';
import { probeCaps } from './probe.js';
import { readProcessCaps } from './status.js';

/**
 * The `caps` feature of @iso/sandbox: the target's capabilities and no_new_privs. Always
 * on: with no option the target keeps nothing. Comes after userns (it reads whether there
 * is a user namespace) and before seccomp (which reads what it keeps).
 */
export const capsFeature = defineFeature<'caps', CapsOption, CapsFeatureSettings>({
  key: 'caps',
  summary: 'capabilities: none kept by default, an empty bounding set, and no_new_privs',
  normalize: (option, context) => {
    const caps = normalizeCapsOptions(option);
    const apply = context.namespaces.has('user') || context.host.isRoot;
    // Asking to keep what a non-root caller without a user namespace does not hold cannot work.
    if (!apply && option !== undefined && (capsStageNeeds(caps) & ~readProcessCaps('self').permitted.mask) !== 0n)
      throw invalidOptions('caps', 'keeping capabilities needs a user namespace (userns: true) or root');
    return { caps, apply };
  },
  facts: ({ caps, apply }) => ({ keptCaps: apply ? capNames(caps.bounding) : [], noNewPrivs: caps.noNewPrivs }),
  plan: ({ caps, apply }) => {
    const steps = capsPlan(caps);
    return { steps: apply ? steps : { noNewPrivs: steps.noNewPrivs ?? [] } };
  },
  probe: () => probeCaps(),
});
