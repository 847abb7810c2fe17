export type { IpcOption, IpcOptions } from './options.js';
export { ipcPlan, normalizeIpcOptions } from './plan.js';
export { listSysvObjects } from './sysv.js';
export type { SysvObjects, SysvQueue, SysvSemaphores, SysvShm } from './sysv.js';
export { ipcNamespaceId, probeIpc } from './probe.js';
export type { IpcProbe } from './probe.js';
