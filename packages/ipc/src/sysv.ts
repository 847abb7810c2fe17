import { readFileSync } from 'node:fs';
import { IsoError, readNamespaceId } from '@iso/core';
import type { ProcessRef } from '@iso/core';
import { withIpcNamespaceOf } from './sys.js';

export interface SysvShm {
  key: number;
  id: number;
  perms: number;
  size: number;
  uid: number;
  attached: number;
}
export interface SysvQueue {
  key: number;
  id: number;
  perms: number;
  messages: number;
  uid: number;
}
export interface SysvSemaphores {
  key: number;
  id: number;
  perms: number;
  count: number;
  uid: number;
}
export interface SysvObjects {
  shm: SysvShm[];
  msg: SysvQueue[];
  sem: SysvSemaphores[];
}

/** Rows of a /proc/sysvipc table as objects keyed by its header. */
function table(text: string): Record<string, number>[] {
  const [head, ...rows] = text.trim().split('\n');
  if (!head) return [];
  const names = head.trim().split(/\s+/);
  return rows
    .filter((row) => row.trim())
    .map((row) => {
      const values = row.trim().split(/\s+/).map(Number);
      return Object.fromEntries(names.map((name, i) => [name, values[i] ?? 0]));
    });
}

// The kernel prints keys as signed ints; keys are unsigned 32-bit (key_t as ipcs shows them).
const unsignedKey = (value: number | undefined) => (value ?? 0) >>> 0;

function readTables(): SysvObjects {
  const read = (name: string) => readFileSync(`/proc/sysvipc/${name}`, 'utf8');
  return {
    shm: table(read('shm')).map((r) => ({ key: unsignedKey(r.key), id: r.shmid ?? 0, perms: r.perms ?? 0, size: r.size ?? 0, uid: r.uid ?? 0, attached: r.nattch ?? 0 })),
    msg: table(read('msg')).map((r) => ({ key: unsignedKey(r.key), id: r.msqid ?? 0, perms: r.perms ?? 0, messages: r.qnum ?? 0, uid: r.uid ?? 0 })),
    sem: table(read('sem')).map((r) => ({ key: unsignedKey(r.key), id: r.semid ?? 0, perms: r.perms ?? 0, count: r.nsems ?? 0, uid: r.uid ?? 0 })),
  };
}

/**
 * The SysV objects visible in a process's IPC namespace. For another namespace, the
 * calling thread joins it for the reads and returns at once; that needs CAP_SYS_ADMIN
 * (root), otherwise ISO_NEEDS_PRIVILEGE.
 */
export function listSysvObjects(pid: ProcessRef = 'self'): SysvObjects {
  if (pid === 'self') return readTables();
  const isRoot = (process.getuid?.() ?? 0) === 0;
  let sameNamespace: boolean;
  try {
    sameNamespace = readNamespaceId(pid, 'ipc', 'ipc.listSysvObjects') === readNamespaceId('self', 'ipc', 'ipc.listSysvObjects');
  } catch (error) {
    // Another user's process hides its namespace links; the missing piece is privilege.
    if (isRoot || !(error instanceof IsoError) || error.code !== 'EACCES') throw error;
    sameNamespace = false;
  }
  if (sameNamespace) return readTables();
  if (!isRoot)
    throw new IsoError('ISO_NEEDS_PRIVILEGE', `ipc.listSysvObjects: reading another IPC namespace (pid ${pid}) needs root`, {
      phase: 'in-process',
      step: 'ipc.listSysvObjects',
    });
  return withIpcNamespaceOf(pid, readTables);
}
