// Run a command on a read-only view of this machine: the whole host tree is there, but
// nothing in it can be changed except a private /tmp and the current project. Run it with
// `node examples/readonly-host.mjs` from the repository root after setup.
//
// The project is bound where it already is: a read-only root cannot get new mount points
// (iso never creates anything in the host's tree), so a target such as /work must exist
// on the host. For a writable top level, use root: { overlay: { lower: [...] } } instead.
// Run as root, the sandbox's root is backed by nobody (docs/privileges.md), so a project
// owned by root shows up read-only; run as its owner, the project is writable.
import { explain, run } from '@iso/sandbox';

const project = process.cwd();
const options = {
  pid: true, // its own PID namespace and a fresh /proc (Docker's masked paths go on it)
  mount: {
    root: 'host-readonly', // the host's tree, read-only, submounts included
    entries: [
      { type: 'dev', target: '/dev' }, // null, zero, random, tty, pts, shm...
      { type: 'tmpfs', target: '/tmp', size: '64m' }, // private scratch space
      { type: 'bind', source: project, target: project }, // the project, writable
    ],
  },
  cwd: project,
};

const script = [
  'echo "cwd:     $(pwd)"',
  'if (echo x > /etc/iso-example) 2>/dev/null; then echo "/etc:    writable"; else echo "/etc:    read-only"; fi',
  'echo scratch > /tmp/note && echo "/tmp:    writable ($(cat /tmp/note))"',
  'if [ -w . ]; then echo "project: writable"; else echo "project: read-only"; fi',
  'echo "/dev:    $(ls /dev | tr "\\n" " ")"',
].join('; ');

const steps = explain('sh', ['-c', script], options).split('\n');
console.log(`iso will run ${steps.length - 2} steps; the mount ones that matter:\n`);
for (const line of steps) if (/mount\.(root\.clone|entries\[\d\]\.attach|pivot |oldRoot\.detach)/.test(line)) console.log(line);

const result = await run('sh', ['-c', script], options);
console.log('\nInside the sandbox:');
process.stdout.write(result.stdout);
process.stderr.write(result.stderr);
console.log(`\nexit code ${result.exitCode}, ${result.durationMs.toFixed(1)} ms`);
process.exitCode = result.exitCode ?? 1;
