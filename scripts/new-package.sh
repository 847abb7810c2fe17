#!/usr/bin/env bash
# Lays out a package in the shape every iso package shares (STYLE.md §1).
# Usage: scripts/new-package.sh NAME "one-line description"
set -euo pipefail
name=$1; desc=$2
dir=packages/$name
mkdir -p "$dir/src" "$dir/test"
deps='"@iso/core": "workspace:*"'
[ "$name" = core ] && deps='"koffi": "^3.3.4"'
cat > "$dir/package.json" <<JSON
{
  "name": "@iso/$name",
  "version": "0.0.0",
  "description": "$desc",
  "license": "MIT",
  "type": "module",
  "engines": { "node": ">=20" },
  "exports": {
    ".": {
      "source": "./src/index.ts",
      "types": "./dist/index.d.ts",
      "default": "./dist/index.js"
    }
  },
  "files": ["dist", "README.md"],
  "scripts": {
    "build": "tsup",
    "typecheck": "tsc -p tsconfig.json",
    "lint": "eslint .",
    "test": "vitest run",
    "test:rootless": "bash ../../scripts/rootless.sh vitest run --configLoader runner"
  },
  "dependencies": { $deps }
}
JSON
cat > "$dir/tsconfig.json" <<'JSON'
{
  "extends": "../../tsconfig.base.json",
  "include": ["src", "test", "*.config.ts"]
}
JSON
cat > "$dir/tsup.config.ts" <<'TS'
import { packageBuild } from '../../tsup.shared.js';

// tsup reads the default export.
export default packageBuild;
TS
cat > "$dir/vitest.config.ts" <<'TS'
import { sharedTestConfig } from '../../vitest.shared.js';

export default sharedTestConfig;
TS
[ -f "$dir/src/index.ts" ] || echo "export {};" > "$dir/src/index.ts"
