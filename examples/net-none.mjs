// A sandbox without a network: `net: true` (mode 'none') gives the command a network
// namespace of its own with only loopback, up. This script opens a TCP server on the
// host's 127.0.0.1 and an abstract unix socket, then tries both from inside the sandbox
// and, for contrast, with `net: 'host'`, which shares the host's network. Run it with
// `node examples/net-none.mjs` from the repository root after setup (root or not).
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { explain, run } from '@iso/sandbox';

const listen = (where) =>
  new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.end()).once('error', reject);
    server.listen(where, () => resolve(server));
  });

const abstractName = `iso-example-${randomBytes(4).toString('hex')}`;
const tcp = await listen({ host: '127.0.0.1', port: 0 });
const unix = await listen({ path: `\0${abstractName}` });
const port = tcp.address().port;

// Runs inside: lists the links, then tries the host's two servers.
const probe = `
const net = require('node:net');
const { execFileSync } = require('node:child_process');
const attempt = (options) => new Promise((resolve) => {
  const socket = net.connect(options);
  socket.once('connect', () => { socket.destroy(); resolve('connected'); });
  socket.once('error', (error) => resolve('refused (' + error.code + ')'));
});
(async () => {
  const links = JSON.parse(execFileSync('ip', ['-j', 'link'], { encoding: 'utf8' }));
  console.log('links:     ' + links.map((l) => l.ifname + ' ' + (l.flags.includes('UP') ? 'UP' : 'DOWN')).join(', '));
  console.log('tcp 127.0.0.1:${port}: ' + await attempt({ host: '127.0.0.1', port: ${port} }));
  console.log('abstract @${abstractName}: ' + await attempt({ path: '\\0${abstractName}' }));
})();
`;

try {
  console.log("What iso does for net: true (the net steps of the program):\n");
  const steps = explain(process.execPath, ['-e', probe], { net: true }).split('\n').filter((line) => line.includes(' net.'));
  console.log(steps.join('\n'));

  for (const net of [true, 'host']) {
    const result = await run(process.execPath, ['-e', probe], { net });
    console.log(`\nnet: ${JSON.stringify(net)}${net === 'host' ? " (shares the host's network)" : ' (loopback only)'}`);
    process.stdout.write(result.stdout);
    if (result.exitCode !== 0) {
      process.stderr.write(result.stderr);
      process.exitCode = 1;
    }
  }
} finally {
  tcp.close();
  unix.close();
}
