// The main example: run a shell in a rootless sandbox and print who and where it is.
// Run it with `npm run example` from the repository root (it builds everything first).
import { explain, run } from '@iso/sandbox';

const options = {
  userns: true, // root inside, mapped to you (or to nobody when you are root)
  pid: true, // its own PID namespace and /proc; the shell is PID 2 under iso's init
  uts: { hostname: 'hello-box' }, // its own hostname
  ipc: true, // its own SysV IPC and POSIX message queues
};

const script = 'echo "hostname: $(hostname)"; echo "pid:      $$"; echo "uid:      $(id -u)"; set -- /proc/[0-9]*; echo "procs:    $*"';

console.log('What iso will do, step by step:\n');
console.log(explain('sh', ['-c', script], options));

const result = await run('sh', ['-c', script], options);
console.log('Inside the sandbox:');
process.stdout.write(result.stdout);
console.log(`\nexit code ${result.exitCode}, ${result.durationMs.toFixed(1)} ms, ended by ${result.reason}`);
process.exitCode = result.exitCode ?? 1;
