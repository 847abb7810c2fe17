import { packageBuild } from '../../tsup.shared.js';

// tsup reads the default export.
export default packageBuild;
