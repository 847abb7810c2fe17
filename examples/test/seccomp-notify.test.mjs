// Keeps examples/seccomp-notify.mjs working (a file of its own, beside examples.test.mjs).
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';

test('seccomp-notify: the handler grants one mkdir and refuses the rest, as violations', () => {
  const out = execFileSync(process.execPath, [new URL('../seccomp-notify.mjs', import.meta.url).pathname], { encoding: 'utf8' });
  assert.match(out, /^mkdir allowed: ok$/m);
  assert.match(out, /^mkdir other: +refused$/m);
  assert.match(out, /^rm allowed: +refused$/m);
  assert.match(out, /^violation: pid \d+ mkdir(at)? -> EACCES$/m);
  assert.match(out, /^violation: pid \d+ (unlink|unlinkat|rmdir) -> EACCES$/m);
  assert.match(out, /^3 calls went to the handler, 2 denied; exit code 0$/m);
});
