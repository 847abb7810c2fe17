// The main example: run a shell in a sandbox with no options but a hostname, and print
// who and where it is, and what it may not touch. Run it with `npm run example` from the
// repository root (it builds everything first).
//
// With no options a sandbox is 'strict': its own user, PID, mount, UTS and IPC
// namespaces, a read-only view of the host with a private /tmp, no capability, a seccomp
// filter and resource limits. Root inside is you outside (nobody when you are root).
import { explain, run } from '@iso/sandbox';

const options = { uts: { hostname: 'hello-box' } }; // everything else is the strict default

const script = [
  'echo "hostname: $(hostname)"',
  'echo "pid:      $$"',
  'echo "uid:      $(id -u)"',
  'set -- /proc/[0-9]*; echo "procs:    $*"',
  'if (echo x > /etc/iso-hello) 2>/dev/null; then echo "/etc:     writable"; else echo "/etc:     read-only"; fi',
  'echo note > /tmp/hello && echo "/tmp:     private, writable"',
  'echo "files:    at most $(ulimit -n) open"',
].join('; ');

console.log('What iso will do, step by step:\n');
console.log(explain('sh', ['-c', script], options));

const result = await run('sh', ['-c', script], options);
console.log('Inside the sandbox:');
process.stdout.write(result.stdout);
console.log(`\nexit code ${result.exitCode}, ${result.durationMs.toFixed(1)} ms, ended by ${result.reason}`);
process.exitCode = result.exitCode ?? 1;
