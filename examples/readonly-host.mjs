// Run a command on a read-only view of this machine: the whole host tree is there, but
// nothing in it can be changed except a private /tmp and the current project, which is
// bound at /work and is the command's cwd. Run it with `node examples/readonly-host.mjs`
// from the repository root after setup.
//
// iso never writes the host's tree. When the host has no /work, the new root is a tmpfs
// holding a read-only bind of each of the host's top-level directories and files (and its
// top-level symlinks, such as /bin -> usr/bin), where the /work mount point can be made;
// the tmpfs turns read-only once the entries are mounted, so / stays read-only. A new
// mount point deeper in the host's tree (/usr/share/work) is refused before anything
// runs; mount a tmpfs on a parent first, or use root: { overlay: { lower: [...] } }.
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
      { type: 'bind', source: project, target: '/work' }, // the project, writable
    ],
  },
  cwd: '/work',
};

const script = [
  'echo "cwd:     $(pwd)"',
  'if (echo x > /etc/iso-example) 2>/dev/null; then echo "/etc:    writable"; else echo "/etc:    read-only"; fi',
  'if (echo x > /iso-example) 2>/dev/null; then echo "/:       writable"; else echo "/:       read-only"; fi',
  'echo scratch > /tmp/note && echo "/tmp:    writable ($(cat /tmp/note))"',
  'if [ -w . ]; then echo "project: writable"; else echo "project: read-only"; fi',
  'echo "/dev:    $(ls /dev | tr "\\n" " ")"',
].join('; ');

const steps = explain('sh', ['-c', script], options).split('\n');
console.log(`iso will run ${steps.length - 2} steps; the mount ones that matter:\n`);
const shown = /mount\.(root\.(clone|tmpfs\.fsmount|seal)|entries\[\d\]\.attach|pivot |oldRoot\.detach)/;
for (const line of steps) if (shown.test(line)) console.log(line);

const result = await run('sh', ['-c', script], options);
console.log('\nInside the sandbox:');
process.stdout.write(result.stdout);
process.stderr.write(result.stderr);
console.log(`\nexit code ${result.exitCode}, ${result.durationMs.toFixed(1)} ms`);
process.exitCode = result.exitCode ?? 1;
