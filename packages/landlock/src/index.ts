export { landlockFeature } from './feature.js';
export type {
  LandlockAccess,
  LandlockAccessLetters,
  LandlockAccessName,
  LandlockDrop,
  LandlockNetOptions,
  LandlockOption,
  LandlockOptions,
  LandlockPathRule,
  LandlockPathSetting,
  LandlockPortSetting,
  LandlockResult,
  LandlockScopeOptions,
  LandlockSettings,
} from './options.js';
export { ACCESS_BITS, MAX_PATH_RULES, MAX_PORTS, accessBits, landlockPolicy, normalizeLandlockOptions } from './normalize.js';
export { downgradeLandlock, enforcesAnything, landlockDrops } from './abi.js';
export type { LandlockPolicy } from './abi.js';
export { landlockPlan } from './plan.js';
export { ABI_KERNEL, ACCESS_FS, ACCESS_NET, CREATE_RULESET, FILE_RIGHTS, NEWEST_KNOWN_ABI, RULE, SCOPE, fsRightsOf } from './consts.js';
export type { AccessFsName } from './consts.js';
export { netPortAttrStruct, pathBeneathAttrStruct, rulesetAttrSize, rulesetAttrStruct } from './structs.js';
export { landlockAbi, landlockAvailability, landlockErrata } from './sys.js';
export type { LandlockAvailability } from './sys.js';
export { probeLandlock } from './probe.js';
export type { LandlockProbe } from './probe.js';
