export { ipcFeature } from './feature.js';
export type { IpcOption, IpcOptions, IpcSettings } from './options.js';
export { normalizeIpcOptions } from './normalize.js';
export { ipcPlan } from './plan.js';
export { listSysvObjects } from './sysv.js';
export type { SysvObjects, SysvQueue, SysvSemaphores, SysvShm } from './sysv.js';
export { ipcNamespaceId, probeIpc } from './probe.js';
export type { IpcProbe } from './probe.js';
