import { AT_FDCWD, O, flags, formatFlags, imm, result, str } from '@iso/core';
import type { ChildStep, StagedSteps, SyscallStep } from '@iso/core';
import { enforcesAnything } from './abi.js';
import { ACCESS_FS, ACCESS_NET, FILE_RIGHTS, O_PATH, RULE, SCOPE } from './consts.js';
import type { LandlockPathSetting, LandlockPortSetting, LandlockSettings } from './options.js';
import { netPortAttrStruct, pathBeneathAttrStruct, rulesetAttrSize, rulesetAttrStruct } from './structs.js';

const RULESET = 'landlock.ruleset';
// One slot serves every path: each fd is closed before the next path is opened.
const PATH_FD = 'landlock.fs.fd';

const addRule = (name: string, type: number, attribute: SyscallStep['args'][number], extra: Partial<SyscallStep> = {}): SyscallStep => ({
  op: 'syscall',
  name,
  syscall: 'landlock_add_rule',
  args: [result(RULESET), flags(type, RULE), attribute, imm(0)],
  ...extra,
});

/** What explain() shows for the ruleset, with what this ABI had to drop. */
function rulesetLabel(settings: LandlockSettings): string {
  const fields = [`handled_access_fs=${formatFlags(settings.handledFs, ACCESS_FS)}`];
  if (settings.rulesetAbi >= 4) fields.push(`handled_access_net=${formatFlags(settings.handledNet, ACCESS_NET)}`);
  if (settings.rulesetAbi >= 6) fields.push(`scoped=${formatFlags(settings.scoped, SCOPE)}`);
  const dropped = settings.dropped.length === 0 ? '' : ` /* ABI ${settings.abi}, best effort: ${settings.dropped.map((drop) => drop.what).join(', ')} not enforced */`;
  return `{${fields.join(', ')}}${dropped}`;
}

/**
 * One path rule: open it O_PATH in the sandbox's own tree, add it, close it. Whether it is
 * a directory is known only there, and a file takes only file rights (EINVAL for the
 * others): so the file rights go first, valid for both, and the full set follows,
 * tolerating EINVAL. On a directory the two rules merge into the full set.
 */
function pathSteps(rule: LandlockPathSetting): ChildStep[] {
  const fileRights = rule.access & FILE_RIGHTS;
  const beneath = (access: number) =>
    pathBeneathAttrStruct.asBlock({ allowed_access: BigInt(access) }, {}, `{allowed_access=${formatFlags(access, ACCESS_FS)}, parent_fd=$${PATH_FD}}`, { parent_fd: PATH_FD });
  const rules: ChildStep[] = [];
  if (fileRights !== 0) rules.push(addRule('landlock.fs.rule', RULE.LANDLOCK_RULE_PATH_BENEATH, beneath(fileRights)));
  if (fileRights !== rule.access)
    rules.push(addRule('landlock.fs.dirRule', RULE.LANDLOCK_RULE_PATH_BENEATH, beneath(rule.access), fileRights === 0 ? {} : { tolerate: ['EINVAL'] }));
  const open: SyscallStep = {
    op: 'syscall',
    name: 'landlock.fs.open',
    syscall: 'openat',
    args: [flags(AT_FDCWD, { AT_FDCWD }), str(rule.path), flags(O_PATH | O.O_CLOEXEC, { O_PATH, O_CLOEXEC: O.O_CLOEXEC })],
    saveAs: PATH_FD,
    // An optional path that is not there skips its rules and the close.
    ...(rule.optional ? { tolerate: ['ENOENT', 'ENOTDIR'], skipOnTolerated: rules.length + 1 } : {}),
  };
  return [open, ...rules, { op: 'syscall', name: 'landlock.fs.close', syscall: 'close', args: [result(PATH_FD)] }];
}

function portStep(rule: LandlockPortSetting): ChildStep {
  const label = `{allowed_access=${formatFlags(rule.access, ACCESS_NET)}, port=${rule.port}}`;
  return addRule('landlock.net.rule', RULE.LANDLOCK_RULE_NET_PORT, netPortAttrStruct.asBlock({ allowed_access: BigInt(rule.access), port: BigInt(rule.port) }, {}, label));
}

/**
 * The child steps, all in stage 'lsm': after the mounts (paths resolve in the sandbox's
 * tree), the credentials and no_new_privs (landlock_restrict_self needs it, or
 * CAP_SYS_ADMIN), and the session steps; before seccomp, so the filter need not allow
 * Landlock's calls. Pure: settings in, steps out.
 */
export function landlockPlan(settings: LandlockSettings): StagedSteps {
  if (!enforcesAnything(settings)) return {};
  const attr = rulesetAttrStruct.encode({
    handled_access_fs: BigInt(settings.handledFs),
    handled_access_net: BigInt(settings.handledNet),
    scoped: BigInt(settings.scoped),
  });
  const size = rulesetAttrSize(settings.rulesetAbi);
  const steps: ChildStep[] = [
    {
      op: 'syscall',
      name: 'landlock.ruleset',
      syscall: 'landlock_create_ruleset',
      args: [{ kind: 'block', value: attr.subarray(0, size), pointers: [], label: rulesetLabel(settings) }, imm(size), imm(0)],
      saveAs: RULESET,
    },
    ...settings.paths.flatMap(pathSteps),
    ...settings.ports.map(portStep),
    { op: 'syscall', name: 'landlock.restrict', syscall: 'landlock_restrict_self', args: [result(RULESET), imm(0)] },
    { op: 'syscall', name: 'landlock.close', syscall: 'close', args: [result(RULESET)] },
  ];
  return { lsm: steps };
}
