export { usernsFeature } from './feature.js';
export type {
  HostIds,
  IdRange,
  IdRanges,
  UsernsCredentials,
  UsernsJoin,
  UsernsOption,
  UsernsOptions,
  UsernsRanges,
  UsernsSettings,
} from './options.js';
export { MAX_MAP_LINES, normalizeUsernsOptions } from './normalize.js';
export { usernsPlan } from './plan.js';
export { NS_GET_PARENT, nestedHelperSteps } from './hooks.js';
export { formatIdMap, mapToInside, mapToOutside, parseIdMap, readIdMaps } from './maps.js';
export type { IdMapRange, IdMaps } from './maps.js';
export { helperPrivilegeHint, probeSubordinateIds, probeUserns, tryUserns, usernsDisabledError } from './probe.js';
export type { SubordinateProbe, UsernsProbe } from './probe.js';
export { refineUsernsError } from './errors.js';
export { userNamespaceOwner } from './sys.js';
export { NSSWITCH_FILE, SUBORDINATE_COUNT, findHelper, parseGetsubidsOutput, parseSubordinateFile, readSubordinateRanges, subidModule } from './subordinate.js';
export type { SubordinateSource } from './subordinate.js';
export type { SubordinateKind, SubordinateOwner, SubordinateRange } from './subordinate.js';
