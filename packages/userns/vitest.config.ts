import { mergeConfig } from 'vitest/config';
import { sharedTestConfig } from '../../vitest.shared.js';

// The global setup adds /etc/subuid and /etc/subgid lines for root and nobody when run as root.
export default mergeConfig(sharedTestConfig, { test: { globalSetup: ['test/global-setup.ts'] } });
