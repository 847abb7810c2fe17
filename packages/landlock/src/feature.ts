import { IsoError, defineFeature, invalidOptions, withHint } from '@iso/core';
import type { FeatureSession } from '@iso/core';
import { enforcesAnything } from './abi.js';
import { normalizeLandlockOptions } from './normalize.js';
import type { LandlockOption, LandlockResult, LandlockSettings } from './options.js';
import { landlockPlan } from './plan.js';
import { probeLandlock } from './probe.js';
import { landlockAbi } from './sys.js';

/** How explain() and errors quote a path (core cuts strings at 200 characters). */
const quoted = (path: string) => JSON.stringify(path.length > 200 ? `${path.slice(0, 200)}...` : path);

/** The path rule whose open failed, found by the call the message shows. */
function failedPath(error: IsoError, settings: LandlockSettings): string | undefined {
  const hits = settings.paths.filter((rule) => error.message.includes(`openat(AT_FDCWD, ${quoted(rule.path)},`));
  return hits.length === 1 ? hits[0]?.path : undefined;
}

/** The error with what the caller can act on, and the filesystem path when one is known. */
function hinted(error: IsoError, code: IsoError['isoCode'], hint: string, path?: string): IsoError {
  const refined = withHint(error, code, hint);
  if (path === undefined) return refined;
  return new IsoError(refined.isoCode, refined.message, {
    ...(refined.errno === undefined ? {} : { errno: refined.errno, errnoCode: refined.code }),
    ...(refined.syscall === undefined ? {} : { syscall: refined.syscall }),
    ...(refined.step === undefined ? {} : { step: refined.step }),
    ...(refined.stepIndex === undefined ? {} : { stepIndex: refined.stepIndex }),
    phase: refined.phase,
    path,
    cause: error,
  });
}

function refineLandlockError(error: IsoError, settings: LandlockSettings): IsoError {
  switch (error.step ?? '') {
    case 'landlock.fs.open': {
      const path = failedPath(error, settings);
      const which = path ?? 'a landlock.fs path';
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR')
        return hinted(error, 'ISO_SETUP_FAILED', `landlock.fs: ${which} does not exist inside the sandbox; create it there, or mark the rule { access, optional: true }`, path);
      if (error.code === 'EACCES') return hinted(error, 'ISO_SETUP_FAILED', `landlock.fs: the target's user may not search the directories above ${which}`, path);
      return error;
    }
    case 'landlock.fs.rule':
    case 'landlock.fs.dirRule':
      if (error.code === 'EINVAL') return withHint(error, 'ISO_INVALID_OPTIONS', 'landlock.fs: make and remove act on the entries of a directory; a file takes only read, write and execute');
      return error;
    case 'landlock.ruleset':
      if (error.code === 'ENOSYS' || error.code === 'EOPNOTSUPP') return withHint(error, 'ISO_UNSUPPORTED_KERNEL', 'Landlock is not available inside the sandbox');
      return error;
    case 'landlock.restrict':
      if (error.code === 'EPERM') return withHint(error, 'ISO_NEEDS_PRIVILEGE', 'landlock_restrict_self needs no_new_privs (caps.noNewPrivs: true) or CAP_SYS_ADMIN');
      if (error.code === 'E2BIG') return withHint(error, 'ISO_SETUP_FAILED', 'the caller is already inside 16 nested Landlock domains, the most the kernel stacks');
      return error;
    default:
      return error;
  }
}

/**
 * The `landlock` feature of @iso/sandbox: filesystem, TCP port and scope rules, applied in
 * the target after every other setup step but seccomp. Off unless the key is given.
 * Reads one fact of the others: whether no_new_privs (or CAP_SYS_ADMIN) will be there.
 */
export const landlockFeature = defineFeature<'landlock', LandlockOption, LandlockSettings, LandlockResult>({
  key: 'landlock',
  summary: 'Landlock: filesystem, TCP port and IPC scope rules for the target, applied right before exec',
  normalize: (option, context) => {
    // The ABI is asked only when the key is given: an absent option costs nothing.
    if (option === undefined || option === false) return undefined;
    const settings = normalizeLandlockOptions(option, landlockAbi());
    // The kernel applies a ruleset only with no_new_privs or CAP_SYS_ADMIN: say so now, not at exec.
    if (settings && enforcesAnything(settings) && !context.noNewPrivs && !context.keptCaps.includes('CAP_SYS_ADMIN'))
      throw invalidOptions('landlock', 'applying a ruleset needs no_new_privs (caps.noNewPrivs: true) or CAP_SYS_ADMIN kept');
    return settings;
  },
  plan: (settings) => ({ steps: landlockPlan(settings) }),
  probe: probeLandlock,
  // No live part: the session only reports what the plan enforced.
  start: (settings): FeatureSession<LandlockResult> => ({
    stop: () => undefined,
    result: () => ({ abi: settings.abi, rulesetAbi: settings.rulesetAbi, enforced: enforcesAnything(settings), dropped: settings.dropped }),
  }),
  refineError: refineLandlockError,
});
