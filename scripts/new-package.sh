#!/usr/bin/env bash
# Writes a new feature package in the shape every iso feature shares (docs/architecture.md,
# "Adding a feature"): the feature object, its option, normalize, a pure plan, sys, probe,
# a plan test, a README with the standard sections, a docs page and a changeset. The
# result passes `npm test` as it is; then make the plan do what the feature is for.
#
# Usage: scripts/new-package.sh NAME "what it does, in one line"
#   NAME is the package and option key: lowercase letters, such as time or landlock.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ne 2 ] || ! [[ $1 =~ ^[a-z][a-z0-9]*$ ]]; then
  echo 'usage: scripts/new-package.sh NAME "what it does, in one line" (NAME: lowercase letters and digits)' >&2
  exit 2
fi
name=$1
summary=$2
Name="$(tr '[:lower:]' '[:upper:]' <<<"${name:0:1}")${name:1}"
dir=packages/$name
if [ -e "$dir" ]; then
  echo "new-package: $dir exists" >&2
  exit 1
fi
mkdir -p "$dir/src" "$dir/test" docs .changeset
# Text written into TS and JSON strings: escape what would end them.
summary_ts=${summary//\\/\\\\}; summary_ts=${summary_ts//\'/\\\'}
summary_json=${summary//\\/\\\\}; summary_json=${summary_json//\"/\\\"}

cat >"$dir/package.json" <<JSON
{
  "name": "@iso/$name",
  "version": "0.0.0",
  "description": "$summary_json",
  "license": "MIT",
  "type": "module",
  "engines": {
    "node": ">=20"
  },
  "exports": {
    ".": {
      "source": "./src/index.ts",
      "types": "./dist/index.d.ts",
      "default": "./dist/index.js"
    }
  },
  "files": [
    "dist",
    "README.md"
  ],
  "scripts": {
    "build": "tsup",
    "typecheck": "tsc -p tsconfig.json",
    "lint": "eslint .",
    "test": "vitest run",
    "test:rootless": "iso-rootless vitest run --configLoader runner"
  },
  "dependencies": {
    "@iso/core": "workspace:*"
  },
  "devDependencies": {
    "@iso/test-kit": "workspace:*"
  }
}
JSON

cat >"$dir/tsconfig.json" <<'JSON'
{
  "extends": "../../tsconfig.base.json",
  "include": ["src", "test", "*.config.ts"]
}
JSON

cat >"$dir/tsup.config.ts" <<'TS'
import { packageBuild } from '../../tsup.shared.js';

// tsup reads the default export.
export default packageBuild;
TS

cat >"$dir/vitest.config.ts" <<'TS'
import { sharedTestConfig } from '../../vitest.shared.js';

export default sharedTestConfig;
TS

cat >"$dir/src/options.ts" <<TS
/**
 * Options of the \`$name\` key: $summary.
 * Say here what the kernel feature is and its minimum Linux version.
 */
export interface ${Name}Options {
  /**
   * An example setting; replace it. Document the secure default.
   * @defaultValue 0
   */
  level?: number;
}

export type ${Name}Option = boolean | ${Name}Options;

/** The \`$name\` option after checking. */
export type ${Name}Settings = Required<${Name}Options>;
TS

cat >"$dir/src/normalize.ts" <<TS
import { invalidOptions } from '@iso/core';
import type { ${Name}Option, ${Name}Settings } from './options.js';

const KEYS = new Set(['level']);

/** Checks the \`$name\` option; undefined when it is off. Throws ISO_INVALID_OPTIONS before anything is created. */
export function normalize${Name}Options(option: ${Name}Option | undefined): ${Name}Settings | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return { level: 0 };
  if (typeof option !== 'object' || option === null || Array.isArray(option)) throw invalidOptions('$name', 'expected true, false or an object');
  for (const key of Object.keys(option)) if (!KEYS.has(key)) throw invalidOptions(\`$name.\${key}\`, 'unknown option');
  const level: unknown = option.level ?? 0;
  if (typeof level !== 'number' || !Number.isInteger(level) || level < 0)
    throw invalidOptions('$name.level', \`expected a whole number from 0, got \${JSON.stringify(level) ?? typeof level}\`);
  return { level };
}
TS

cat >"$dir/src/plan.ts" <<TS
import type { StagedSteps } from '@iso/core';
import type { ${Name}Settings } from './options.js';

/**
 * The child steps of the feature, by stage (core's STAGES). Pure: settings in, steps out.
 * Name every step '$name.<what>'; errors and explain() show it.
 */
export function ${name}Plan(settings: ${Name}Settings): StagedSteps {
  if (settings.level === 0) return {};
  return { lsm: [{ op: 'syscall', name: '$name.example', syscall: 'getpid', args: [] }] };
}
TS

cat >"$dir/src/sys.ts" <<TS
// Native calls of @iso/$name, in-process: the only file of the package that may import
// @iso/core/native (koffi and libc). Thread-agnostic calls only.
import { checked, libc } from '@iso/core/native';

let getpidFunction: (() => number) | undefined;

/** An example call through the checked helper; replace it with the feature's own. */
export function processId(): number {
  getpidFunction ??= libc().func('int getpid(void)') as () => number;
  const call = getpidFunction;
  return checked('getpid', { step: '$name.processId' }, () => call());
}
TS

cat >"$dir/src/probe.ts" <<TS
import type { FeatureProbe } from '@iso/core';

export interface ${Name}Probe extends FeatureProbe {
  /** Add what this kernel offers for the feature. */
  readonly kernel: string;
}

/** What this kernel and caller support for $name, and why not. Never throws on Linux. */
export function probe${Name}(): ${Name}Probe {
  const reasons: string[] = [];
  return { supported: reasons.length === 0, reasons, kernel: process.platform };
}
TS

cat >"$dir/src/feature.ts" <<TS
import { defineFeature } from '@iso/core';
import { normalize${Name}Options } from './normalize.js';
import type { ${Name}Option, ${Name}Settings } from './options.js';
import { ${name}Plan } from './plan.js';
import { probe${Name} } from './probe.js';

/** The \`$name\` feature of @iso/sandbox: $summary. */
export const ${name}Feature = defineFeature<'$name', ${Name}Option, ${Name}Settings>({
  key: '$name',
  summary: '$summary_ts',
  normalize: (option) => normalize${Name}Options(option),
  plan: (settings) => ({ steps: ${name}Plan(settings) }),
  probe: probe${Name},
});
TS

cat >"$dir/src/index.ts" <<TS
export { ${name}Feature } from './feature.js';
export type { ${Name}Option, ${Name}Options, ${Name}Settings } from './options.js';
export { normalize${Name}Options } from './normalize.js';
export { ${name}Plan } from './plan.js';
export { processId } from './sys.js';
export { probe${Name} } from './probe.js';
export type { ${Name}Probe } from './probe.js';
TS

cat >"$dir/test/plan.test.ts" <<TS
import { buildProgram, orderSteps, validateProgram } from '@iso/core';
import { featureContext } from '@iso/test-kit';
import { describe, expect, it } from 'vitest';
import { ${name}Feature, ${name}Plan, normalize${Name}Options, probe${Name} } from '../src/index.js';

describe('@iso/$name options and plan', () => {
  it('is off unless asked for, with secure defaults when on', () => {
    expect(normalize${Name}Options(undefined)).toBeUndefined();
    expect(normalize${Name}Options(false)).toBeUndefined();
    expect(normalize${Name}Options(true)).toEqual({ level: 0 });
  });

  it('refuses bad input with ISO_INVALID_OPTIONS naming the option', () => {
    for (const [option, path] of [
      [{ level: -1 }, '$name.level'],
      [{ level: '1' }, '$name.level'],
      [{ other: 1 }, '$name.other'],
      ['yes', '$name'],
    ] as const)
      expect(() => normalize${Name}Options(option as never)).toThrow(expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path }));
  });

  it('plans by stage, and the feature object wires it up', () => {
    expect(${name}Plan({ level: 0 })).toEqual({});
    const program = buildProgram(orderSteps([${name}Plan({ level: 1 })]), 'x86_64');
    expect(validateProgram(program.bytes)).toEqual({ ok: true });
    const context = featureContext();
    const settings = ${name}Feature.normalize(true, context)!;
    expect(${name}Feature.key).toBe('$name');
    expect(${name}Feature.plan(settings, context).steps).toEqual(${name}Plan(settings));
    expect(probe${Name}()).toMatchObject({ supported: true, reasons: [] });
  });
});
TS

cat >"$dir/README.md" <<MD
# @iso/$name

$summary.

## Requirements

The Linux version and kernel configuration the feature needs, and what iso does on a
kernel without it (\`ISO_UNSUPPORTED_KERNEL\` before anything is created).

## Privileges

What works rootless, in the sandbox's user namespace, and what needs root.

## Options

The \`$name\` key of the sandbox: \`true\`, or an object.

| option | type | default | |
|---|---|---|---|
| \`level\` | \`number\` | \`0\` | An example; replace it. |

What it adds to the program (\`${name}Plan()\`): the steps, by stage.

## Errors

- \`ISO_INVALID_OPTIONS\`: \`$name.level: expected a whole number from 0\`.

## Examples

\`\`\`js
import { run } from '@iso/sandbox';

await run('true', [], { $name: true });
\`\`\`
MD

cat >"docs/$name.md" <<MD
# $Name

$summary. The package is [\`@iso/$name\`](../packages/$name), its option key \`$name\`.

Describe here what the feature guarantees, how it is set up (its stages), how it was
tested (root, rootless, kernel-lab), and what it does not cover.
MD

cat >".changeset/$name-feature.md" <<MD
---
'@iso/$name': minor
---

New package @iso/$name: $summary.
MD

echo "new-package: wrote $dir, docs/$name.md and .changeset/$name-feature.md"
echo "next: pnpm install; add ${name}Feature to FEATURES in packages/sandbox/src/features.ts (and @iso/$name to the sandbox's dependencies)."
