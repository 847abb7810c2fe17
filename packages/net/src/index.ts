export { netFeature } from './feature.js';
export type { NetMode, NetOption, NetOptions, NetSettings } from './options.js';
export { NET_MODES, normalizeNetOptions } from './normalize.js';
export { ifreqStruct, netPlan } from './plan.js';
export { netNamespaceId, probeNet } from './probe.js';
export type { NetProbe } from './probe.js';
export { withNetns } from './netns.js';
export type { NetnsTarget } from './netns.js';
export { IFF, RT_TABLE, Rtnetlink, netlinkError, openRtnetlink, parseAddress, parseLink, parseRoute } from './rtnetlink.js';
export type { Address, BridgeSpec, Link, LinkChanges, LinkRef, Route, RouteSpec, RtnetlinkOptions, VethSpec } from './rtnetlink.js';
export { AF_INET, AF_INET6, addressBytes, formatAddress, parsePrefix } from './address.js';
export type { AddressFamily, Prefix } from './address.js';
export {
  NLMSG,
  NLMSGERR_ATTR,
  NLM_F,
  RTM,
  align4,
  attributeMap,
  attributeString,
  bytesAttribute,
  encodeAttributes,
  encodeMessage,
  ifaddrmsgStruct,
  ifinfomsgStruct,
  nestedAttribute,
  parseAck,
  parseAttributes,
  parseDone,
  parseMessages,
  rtmsgStruct,
  stringAttribute,
  u32Attribute,
  u8Attribute,
} from './netlink.js';
export type { Attribute, AttributeSpec, Message, MessageHead, NetlinkAck } from './netlink.js';
