// Landlock in a sandbox: the target may read and run the system, write only its private
// /tmp, and connect only to one of two TCP servers on loopback. Nothing else of the
// filesystem, and no other port, is reachable, even for a target that runs as root
// inside. Run it with `node examples/landlock.mjs` from the repository root after setup.
import { createServer } from 'node:net';
import { explain, probe, run } from '@iso/sandbox';

const { abi } = probe().features.landlock;
console.log(`Landlock ABI of this kernel: ${abi}`);

// Two servers on 127.0.0.1; the sandbox may connect to the first only.
const servers = [createServer((socket) => socket.end('hello\n')), createServer((socket) => socket.end('hello\n'))];
const [allowed, denied] = await Promise.all(servers.map((server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)))));

// The rest is the strict default (its own namespaces, a read-only host, a private /tmp),
// except the network: the host's is shared here so that the two servers are reachable,
// and Landlock decides which of them the target may connect to.
const options = {
  net: 'host',
  landlock: {
    fs: {
      '/usr': 'rx', // read and execute: the shell, node and their libraries
      '/etc': 'r',
      '/dev/null': 'rw',
      '/tmp': 'rwmd', // read, write, make and remove (delete): the sandbox's own tmpfs
      // Symlinks to /usr on a merged-/usr system; optional where they are missing.
      '/bin': { access: 'rx', optional: true },
      '/lib': { access: 'rx', optional: true },
      '/lib64': { access: 'rx', optional: true },
    },
    net: { connect: [allowed] }, // and bind: none
    // Strict by default: on a kernel whose ABI lacks part of this, the run is refused.
    // bestEffort: true would run with what it has and list the rest in result.landlock.dropped.
  },
};

// The target: node itself, trying a file outside the granted paths, /tmp, and both ports.
const script = `
  const fs = require('node:fs');
  const net = require('node:net');
  const attempt = (what, f) => { try { f(); console.log(what + ': ok'); } catch (e) { console.log(what + ': ' + e.code); } };
  attempt('write /tmp/note', () => fs.writeFileSync('/tmp/note', 'x'));
  attempt('write /dev/shm/note', () => fs.writeFileSync('/dev/shm/note', 'x')); // a writable tmpfs, but not granted
  attempt('read /root', () => fs.readdirSync('/root'));
  const connect = (port) => new Promise((done) => net.connect(port, '127.0.0.1').on('data', (d) => done('ok, it said ' + d.toString().trim())).on('error', (e) => done(e.code)));
  (async () => {
    console.log('connect ${allowed}: ' + (await connect(${allowed})));
    console.log('connect ${denied}: ' + (await connect(${denied})));
  })();
`;

console.log('\nThe Landlock steps iso will run, last before seccomp and exec:\n');
for (const line of explain(process.execPath, ['-e', script], options).split('\n')) if (/landlock\.(ruleset|fs\.open|net|restrict)/.test(line)) console.log(line);

const result = await run(process.execPath, ['-e', script], options);
for (const server of servers) server.close();
console.log('\nInside the sandbox:');
process.stdout.write(result.stdout);
process.stderr.write(result.stderr);
console.log(`\nresult.landlock: ${JSON.stringify(result.landlock)}`);
console.log(`exit code ${result.exitCode}`);
process.exitCode = result.exitCode ?? 1;
