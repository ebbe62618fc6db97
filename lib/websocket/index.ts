/** The WebSocket layer's public surface (RFC 6455 and RFC 7692 permessage-deflate, server side). */
export { Channel, type AnyChannel, type ChannelOptions, type Message, type RawMessage } from './channel.js';
export { CloseCode, isValidWireCode, MAX_REASON_BYTES } from './close.js';
export type { CloseInfo, ReadGate } from './connection.js';
export { ProtocolError } from './errors.js';
export { DEFAULT_LIMITS, httpServerOptions, resolveLimits, type Limits } from './limits.js';
export { ANY_PATH, WebSocketRouter, type BytesRouteOptions, type ChannelHandler, type Refusal, type RouteOptions, type RouterOptions } from './router.js';
export { formatTrace, formatTraceWith, type DataPreview, type FrameTrace, type TraceFn } from './trace.js';
export { DEFAULT_DEFLATE_OPTIONS, type DeflateOptions } from './deflate-offer.js';
export { TextBytes } from './text-bytes.js';
