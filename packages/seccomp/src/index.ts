export type {
  SeccompAbi,
  SeccompAction,
  SeccompArgCondition,
  SeccompDefaultOptions,
  SeccompDockerOptions,
  SeccompFlags,
  SeccompOption,
  SeccompOptions,
  SeccompPolicy,
  SeccompPolicyOptions,
  SeccompRule,
  SeccompSupervision,
} from './options.js';
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
export type { DockerFilter, DockerLoadOptions, DockerProfile, DockerSyscallRule } from './docker.js';
export {
  ALLOWED_PERSONALITIES,
  CLONE_NAMESPACE_FLAGS,
  DEFAULT_ALLOWED,
  DEFAULT_CAPABILITY_CALLS,
  DENIED_SOCKET_FAMILIES,
  defaultProfile,
} from './profile.js';
export type { DefaultProfileOptions } from './profile.js';
export {
  SECCOMP_FILTER_FLAG,
  SECCOMP_SET_MODE,
  filterFlags,
  normalizeSeccompOptions,
  seccompLoadStep,
  seccompPlan,
  settingsPolicy,
} from './plan.js';
export type { SeccompSettings, SeccompSource } from './plan.js';
export { applyToThisProcess } from './sys.js';
export { normalizeDecision, superviseNotifications } from './notify.js';
export type { AppliedDecision, NotifySupervisor, SeccompDecision, SeccompNotification, SeccompNotifyEvent, SeccompNotifyHandler } from './notify.js';
export type { ApplyOptions } from './sys.js';
export { probeSeccomp } from './probe.js';
export type { SeccompProbe } from './probe.js';
