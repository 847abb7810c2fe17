export { seccompFeature } from './feature.js';
export type {
  AppliedDecision,
  DockerFilter,
  DockerProfile,
  DockerSyscallRule,
  SeccompAbi,
  SeccompAction,
  SeccompArgCondition,
  SeccompDecision,
  SeccompDefaultOptions,
  SeccompDockerOptions,
  SeccompFlags,
  SeccompNotification,
  SeccompNotifyEvent,
  SeccompNotifyHandler,
  SeccompOption,
  SeccompOptions,
  SeccompPolicy,
  SeccompPolicyOptions,
  SeccompResult,
  SeccompRule,
  SeccompSettings,
  SeccompSource,
  SeccompSupervision,
} from './options.js';
export { normalizeSeccompOptions } from './normalize.js';
export { seccompLoadStep, seccompPlan, settingsPolicy } from './plan.js';
export { SECCOMP_FILTER_FLAG, SECCOMP_SET_MODE, filterFlags } from './consts.js';
export { refineSeccompError } from './errors.js';
export { probeSeccomp } from './probe.js';
export type { SeccompProbe } from './probe.js';
export { applyToThisProcess } from './sys.js';
export type { ApplyOptions } from './sys.js';
export { normalizeDecision, superviseNotifications } from './notify.js';
export type { NotifySupervisor } from './notify.js';
export {
  AUDIT_ARCH,
  BPF,
  BPF_MAXINSNS,
  SECCOMP_DATA,
  SOCK_FILTER_SIZE,
  X32_SYSCALL_BIT,
  argHigh,
  argLow,
  decodeFilter,
  encodeFilter,
  formatInstruction,
} from './bpf.js';
export type { BpfInstruction } from './bpf.js';
export { MAX_ERRNO, SECCOMP_RET, actionOf, actionPrecedence, decodeAction, encodeAction, formatAction } from './actions.js';
export type { DecodedAction, SeccompActionName } from './actions.js';
export { abisOfArch, auditArchOf, evaluatePolicy, normalizePolicy, wireNumber } from './policy.js';
export type { NormalizedCondition, NormalizedPolicy, NormalizedRule, PolicyVerdict } from './policy.js';
export { compilePolicy } from './compile.js';
export type { CompiledFilter } from './compile.js';
export { checkFilter, disassemble, explainSyscall, filterCost, filterInstructions, runFilter, seccompDataWords, traceFilter } from './interpret.js';
export type { FilterCost, FilterInput, FilterRun, SeccompData, SyscallExplanation } from './interpret.js';
export { capabilityName, dockerPolicy, loadDockerProfile, parseDockerProfile } from './docker.js';
export type { DockerLoadOptions } from './docker.js';
export {
  ALLOWED_PERSONALITIES,
  CLONE_NAMESPACE_FLAGS,
  DEFAULT_ALLOWED,
  DEFAULT_CAPABILITY_CALLS,
  DENIED_SOCKET_FAMILIES,
  defaultProfile,
} from './profile.js';
export type { DefaultProfileOptions } from './profile.js';
