export { CAP, CAP_LAST_KNOWN, CAP_NAMES, capMask, capName, capNames, capNumber, capNumbers, capSince, fullCapMask, lastCap } from './names.js';
export type { CapName, CapNameInput, ShortCapName } from './names.js';
export { formatCapText, parseCapText } from './text.js';
export type { CapSets, CapTextOptions } from './text.js';
export { capSetView, parseCapStatus, readProcessCaps } from './status.js';
export type { CapSetView, ProcessCaps, SeccompMode } from './status.js';
export type { CapListEntry, CapsKernel, CapsOption, CapsOptions, CapsPreset, CapsSettings, SecurebitName } from './options.js';
export { LINUX_CAPABILITY_VERSION_3, PR, PR_CAP_AMBIENT, SECBIT } from './consts.js';
export {
  DOCKER_DEFAULT_CAPS,
  capData,
  capHeader,
  capsPlan,
  capsStageNeeds,
  normalizeCapsOptions,
} from './plan.js';
export { ambientSupported, capget, getNoNewPrivs, getSecurebits } from './sys.js';
export { currentCapsKernel, probeCaps } from './probe.js';
export type { CapsProbe } from './probe.js';
