// Keeps examples/landlock.mjs working (a file of its own, beside examples.test.mjs).
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';

test('landlock: the private /tmp and one port are reachable, the rest of the tree and the other port are not', () => {
  const out = execFileSync(process.execPath, [new URL('../landlock.mjs', import.meta.url).pathname], { encoding: 'utf8' });
  assert.match(out, /^Landlock ABI of this kernel: [1-9]\d*$/m);
  assert.match(out, /landlock\.restrict +landlock_restrict_self\(\$landlock\.ruleset, 0\)/);
  assert.match(out, /^write \/tmp\/note: ok$/m);
  assert.match(out, /^write \/dev\/shm\/note: EACCES$/m);
  assert.match(out, /^read \/root: EACCES$/m);
  assert.match(out, /^connect \d+: ok, it said hello$/m);
  assert.match(out, /^connect \d+: EACCES$/m);
  assert.match(out, /^result\.landlock: \{"abi":\d+,"rulesetAbi":\d+,"enforced":true,"dropped":\[\]\}$/m);
  assert.match(out, /^exit code 0$/m);
});
