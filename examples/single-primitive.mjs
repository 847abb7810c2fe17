// One primitive at a time, in-process, nothing spawned: look at the namespaces and ids
// of this very process. Run it with `node examples/single-primitive.mjs` after setup.
import { listSysvObjects } from '@iso/ipc';
import { namespacePids, pidNamespaceId } from '@iso/pid';
import { probeUserns, readIdMaps } from '@iso/userns';
import { uname, utsNamespaceId } from '@iso/uts';

const self = uname();
console.log(`uname:          ${self.sysname} ${self.nodename} ${self.release} ${self.machine}`);
console.log(`uts namespace:  ${utsNamespaceId()}`);
console.log(`pid namespace:  ${pidNamespaceId()} (my pids, outermost first: ${namespacePids('self').join(' ')})`);

const maps = readIdMaps();
console.log(`uid map:        ${maps.uid.map((r) => `${r.inside}->${r.outside} x${r.count}`).join(', ')} (setgroups ${maps.setgroups})`);

const probe = probeUserns();
console.log(`user namespaces: ${probe.supported ? 'allowed' : `not allowed: ${probe.reasons.join('; ')}`}`);

const ipc = listSysvObjects();
console.log(`SysV objects:   ${ipc.shm.length} shm, ${ipc.msg.length} queues, ${ipc.sem.length} semaphore sets`);
