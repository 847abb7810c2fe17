// The in-process helpers refuse what a plain JavaScript caller gets wrong before any call
// reaches the kernel, as root and rootless alike.
import { describe, expect, it } from 'vitest';
import { bindMount, mountTmpfs, setMountAttributes, unmount } from '../src/index.js';

const wrong: [string, () => void, string][] = [
  ['a relative source', () => { bindMount('src', '/t'); }, 'source'],
  ['a flag that is not a boolean', () => { bindMount('/s', '/t', { readonly: 'yes' } as never); }, 'options.readonly'],
  ['an unknown option', () => { bindMount('/s', '/t', { rdonly: true } as never); }, 'options.rdonly'],
  ['null options', () => { bindMount('/s', '/t', null as never); }, 'options'],
  ['an idmap without a namespace', () => { bindMount('/s', '/t', { idmap: {} } as never); }, 'options.idmap.userns'],
  ['an idmap with a bad pid', () => { bindMount('/s', '/t', { idmap: { userns: -1 } }); }, 'options.idmap.userns'],
  ['a tmpfs size of an object', () => { mountTmpfs('/t', { size: {} } as never); }, 'options.size'],
  ['a tmpfs mode as a string', () => { mountTmpfs('/t', { mode: '0700' } as never); }, 'options.mode'],
  ['a propagation that is no table entry', () => { setMountAttributes('/t', { propagation: 'toString' } as never); }, 'attributes.propagation'],
  ['a recursive flag that is not a boolean', () => { setMountAttributes('/t', { recursive: 1 } as never); }, 'attributes.recursive'],
  ['a detach flag that is not a boolean', () => { unmount('/t', { detach: 'now' } as never); }, 'options.detach'],
];

describe('@iso/mount in-process helpers, plain JavaScript callers', () => {
  it.each(wrong)('refuses %s with ISO_INVALID_OPTIONS naming %s', (_, call, path) => {
    expect(call).toThrow(expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path }));
  });
});
