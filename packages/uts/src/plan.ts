import { CLONE, flags, imm, str } from '@iso/core';
import type { ChildStep, StagedSteps } from '@iso/core';
import type { UtsSettings } from './options.js';

/** unshare(CLONE_NEWUTS) with the other namespaces; the names once the mounts are done. */
export function utsPlan(options: UtsSettings): StagedSteps {
  const names: ChildStep[] = [];
  if (options.hostname !== undefined)
    names.push({ op: 'syscall', name: 'uts.sethostname', syscall: 'sethostname', args: [str(options.hostname), imm(Buffer.byteLength(options.hostname))] });
  if (options.domainname !== undefined)
    names.push({
      op: 'syscall',
      name: 'uts.setdomainname',
      syscall: 'setdomainname',
      args: [str(options.domainname), imm(Buffer.byteLength(options.domainname))],
    });
  return {
    namespaces: [{ op: 'syscall', name: 'uts.unshare', syscall: 'unshare', args: [flags(CLONE.CLONE_NEWUTS, CLONE)] }],
    hostname: names,
  };
}
