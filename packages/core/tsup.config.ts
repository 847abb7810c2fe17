import { defineConfig } from 'tsup';
import { packageBuildOptions } from '../../tsup.shared.js';

// tsup reads the default export. Two entries: the package, and its native layer.
export default defineConfig({ ...packageBuildOptions, entry: ['src/index.ts', 'src/native.ts'] });
