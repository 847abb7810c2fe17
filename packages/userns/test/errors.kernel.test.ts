import type { IsoError } from '@iso/core';
import { runProgram } from '@iso/test-kit';
import { describe, expect, it } from 'vitest';
import type { UsernsSettings } from '../src/index.js';
import { findHelper, helperPrivilegeHint, usernsPlan } from '../src/index.js';
import { gid, isRoot, programSteps, uid } from './helpers.js';

describe('errors from the real helpers', () => {
  it('newuidmap failed: its stderr is in the message', async () => {
    // Settings as normalize would never make them: a range that is delegated to nobody.
    const settings: UsernsSettings = {
      inside: 'root',
      host: { uid, gid },
      ids: { uid: 0, gid: 0 },
      callerIsRoot: false,
      ranges: {
        uid: [{ inside: 0, outside: isRoot ? 65534 : uid, count: 1 }, { inside: 1, outside: 5, count: 1 }],
        gid: [{ inside: 0, outside: isRoot ? 65534 : gid, count: 1 }],
        writer: 'newidmap',
        newuidmap: findHelper('newuidmap')!,
        newgidmap: findHelper('newgidmap')!,
      },
    };
    const { error } = await runProgram(programSteps(usernsPlan(settings), 'true'));
    const blocked = helperPrivilegeHint();
    expect(error).toMatchObject({
      isoCode: blocked ? 'ISO_NEEDS_PRIVILEGE' : 'ISO_SETUP_FAILED',
      step: 'userns.newuidmap',
      phase: 'parent',
      message: expect.stringMatching(/^userns\.newuidmap: \/\S+\/newuidmap \d+ 0 \d+ 1 1 5 1 failed \(exit 1\): newuidmap: /),
    });
    expect((error as IsoError).message).toContain(blocked ? 'bounding set' : 'not allowed');
  });

});
