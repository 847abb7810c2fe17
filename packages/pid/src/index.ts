export type { PidOption, PidOptions } from './options.js';
export { normalizePidOptions, pidPlan } from './plan.js';
export { pidfdOpen, pidfdSendSignal } from './sys.js';
export { innermostPid, listPidNamespace, namespacePids, toHostPid } from './processes.js';
export type { NamespaceProcess } from './processes.js';
export { pidNamespaceId, probePid } from './probe.js';
export type { PidProbe } from './probe.js';
