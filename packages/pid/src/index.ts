export { pidFeature } from './feature.js';
export type { PidOption, PidOptions, PidSettings } from './options.js';
export { normalizePidOptions } from './normalize.js';
export { pidPlan } from './plan.js';
export { pidfdOpen, pidfdSendSignal } from './sys.js';
export { innermostPid, listPidNamespace, namespacePids, toHostPid } from './processes.js';
export type { NamespaceProcess } from './processes.js';
export { pidNamespaceId, probePid } from './probe.js';
export type { PidProbe } from './probe.js';
