// Let JavaScript decide chosen syscalls of a sandboxed command. The default seccomp profile
// still decides every other call in the kernel; mkdir and unlink stop and ask onNotify.
// Run it with `node examples/seccomp-notify.mjs` from the repository root after setup.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from '@iso/sandbox';

// The sandbox's /tmp is its own, so the scratch directory is bound in. Run as root, the
// sandbox is nobody on the host, so the directory is made writable to it.
const scratch = mkdtempSync(join(tmpdir(), 'iso-notify-example-'));
chmodSync(scratch, 0o777);
const allowed = join(scratch, 'allowed');
const script = [
  `mkdir ${allowed} && echo "mkdir allowed: ok"`,
  `mkdir ${join(scratch, 'other')} 2>/dev/null || echo "mkdir other:   refused"`,
  `rm -d ${allowed} 2>/dev/null || echo "rm allowed:    refused"`,
].join('; ');

const sandbox = spawn('sh', ['-c', script], {
  mount: { root: 'host-readonly', entries: [{ type: 'bind', source: scratch, target: scratch }] },
  seccomp: {
    profile: 'default',
    notify: ['mkdir', 'mkdirat', 'unlink', 'unlinkat', 'rmdir'],
    onNotify(call) {
      const path = call.readString(call.syscall.endsWith('at') ? 1 : 0);
      // Denying on a path is safe; 'continue' re-reads the path after us, so only grant a
      // call by its path when nothing else in the target could change it (one thread here).
      return call.syscall.startsWith('mkdir') && path === allowed ? 'continue' : { deny: 'EACCES' };
    },
  },
});
sandbox.on('violation', (event) => {
  console.log(`violation: pid ${event.pid} ${event.syscall} -> ${event.decision.errnoCode}`);
});

const result = await sandbox;
process.stdout.write(result.stdout);
console.log(`\n${result.seccomp.notifications} calls went to the handler, ${result.seccomp.violations.length} denied; exit code ${result.exitCode}`);
rmSync(scratch, { recursive: true, force: true });
