// Keeps examples/net-none.mjs working (a file of its own, beside examples.test.mjs).
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';

test("net-none: only lo inside, the host's loopback server and abstract socket refused; shared with net: 'host'", () => {
  const out = execFileSync(process.execPath, [new URL('../net-none.mjs', import.meta.url).pathname], { encoding: 'utf8' });
  assert.match(out, /net\.unshare\s+unshare\(CLONE_NEWNET\)/);
  assert.match(out, /net\.loopback\.up\s+ioctl\(\$net\.loopback\.socket, SIOCSIFFLAGS, \{ifr_name="lo", ifr_flags=IFF_UP\|IFF_LOOPBACK\}\)/);
  const [none, host] = out.split(/^net: /m).slice(1);
  assert.match(none, /^links: +lo UP$/m);
  assert.match(none, /^tcp 127\.0\.0\.1:\d+: refused \(ECONNREFUSED\)$/m);
  assert.match(none, /^abstract @iso-example-\w+: refused \(ECONNREFUSED\)$/m);
  assert.match(host, /shares the host's network/);
  assert.match(host, /^tcp 127\.0\.0\.1:\d+: connected$/m);
  assert.match(host, /^abstract @iso-example-\w+: connected$/m);
});
