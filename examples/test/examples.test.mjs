// The examples are part of the docs; these tests keep them working.
import { execFileSync } from 'node:child_process';
import { hostname } from 'node:os';
import { test } from 'node:test';
import assert from 'node:assert/strict';

const run = (file) => execFileSync(process.execPath, [new URL(`../${file}`, import.meta.url).pathname], { encoding: 'utf8' });

test('hello-sandbox prints the sandbox hostname, pid and uid', () => {
  const out = run('hello-sandbox.mjs');
  assert.match(out, /^hostname: hello-box$/m);
  assert.match(out, /^pid:      2$/m);
  assert.match(out, /^uid:      0$/m);
  assert.match(out, /^procs:    \/proc\/1 \/proc\/2$/m);
  assert.match(out, /^\/etc:     read-only$/m);
  assert.match(out, /^\/tmp:     private, writable$/m);
  assert.match(out, /^files:    at most 1024 open$/m);
  assert.match(out, /userns\.unshare\s+unshare\(CLONE_NEWUSER\)/);
  assert.match(out, /exit code 0/);
});

test('single-primitive reads this process without spawning', () => {
  const out = run('single-primitive.mjs');
  assert.match(out, new RegExp(`^uname: +Linux ${hostname()} `, 'm'));
  assert.match(out, /^uts namespace: +\d+$/m);
  assert.match(out, /^user namespaces: allowed$/m);
});

test('seccomp-explain says what policies do to syscalls, without spawning', () => {
  const out = run('seccomp-explain.mjs');
  assert.match(out, /the default profile \(no capabilities kept\): \d+ BPF instructions/);
  assert.match(out, /mount \(x86_64 165\): errno EPERM/);
  assert.match(out, /mount \(x86_64 165\): kill-process/);
});

test('readonly-host: the host tree read-only, the project at /work, a private /tmp, a minimal /dev', () => {
  const out = run('readonly-host.mjs');
  assert.match(out, /^cwd: +\/work$/m);
  assert.match(out, /^project: +(writable|read-only)$/m);
  assert.match(out, /^\/etc: +read-only$/m);
  assert.match(out, /^\/: +read-only$/m);
  assert.match(out, /^\/tmp: +writable \(scratch\)$/m);
  assert.match(out, /^\/dev: +fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero $/m);
  assert.match(out, /exit code 0/);
});

test('warm-pool: pooled sandboxes are distinct, run the cold program, and are served warm', () => {
  const out = run('warm-pool.mjs');
  assert.match(out, /^waiting runners: 4$/m);
  assert.match(out, /^distinct namespaces: 4 of 4$/m);
  assert.match(out, /^same program as a cold launch: true$/m);
  assert.match(out, /^median launch-to-exit of \/bin\/true: cold \d+\.\d\d ms, warm \d+\.\d\d ms$/m);
  assert.match(out, /^launches served warm: 54, cold: 0$/m);
});
