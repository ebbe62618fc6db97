/**
 * Steam's CM message framing, for the fake CM. Every message the WebSocket
 * client sends is one binary WebSocket message:
 *
 *   uint32LE(emsg | 0x80000000)  uint32LE(header length)  CMsgProtoBufHeader  body
 *
 * The protobuf definitions and the EMsg table are borrowed from steam-user's
 * package (test code may; lib/ may not).
 */
import { createRequire } from 'node:module';

/** The slice of a protobufjs Type the fake uses. */
export interface ProtoType {
  fromObject(object: Record<string, unknown>): object;
  encode(message: object): { finish(): Uint8Array };
  decode(bytes: Uint8Array): object;
  toObject(message: object, options: { longs: StringConstructor; bytes?: BufferConstructor }): Record<string, unknown>;
}

const require = createRequire(import.meta.url);
const schema = require('steam-user/protobufs/generated/_load.js') as Record<string, ProtoType | undefined>;
const emsgTable = require('steam-user/enums/EMsg.js') as Record<string, number | string>;

export function proto(name: string): ProtoType {
  const type = schema[name];
  if (!type) throw new Error(`steam-user ships no protobuf named ${name}`);
  return type;
}

function emsg(name: string): number {
  const value = emsgTable[name];
  if (typeof value !== 'number') throw new Error(`steam-user's EMsg table has no ${name}`);
  return value;
}

/** The message ids the fake speaks, read from steam-user's own table. */
export const EMsg = {
  ServiceMethodResponse: emsg('ServiceMethodResponse'),
  ServiceMethodCallFromClient: emsg('ServiceMethodCallFromClient'),
  ServiceMethodCallFromClientNonAuthed: emsg('ServiceMethodCallFromClientNonAuthed'),
  ClientHello: emsg('ClientHello'),
  ClientLogon: emsg('ClientLogon'),
  ClientLogOnResponse: emsg('ClientLogOnResponse'),
  ClientLogOff: emsg('ClientLogOff'),
  ClientLoggedOff: emsg('ClientLoggedOff'),
  ClientHeartBeat: emsg('ClientHeartBeat'),
  ClientAccountInfo: emsg('ClientAccountInfo'),
  ClientRegisterKey: emsg('ClientRegisterKey'),
  ClientPurchaseResponse: emsg('ClientPurchaseResponse'),
} as const;

export function emsgName(id: number): string {
  const name = emsgTable[String(id)];
  return typeof name === 'string' ? name : String(id);
}

const PROTO_MASK = 0x80000000;
/** "No job": the jobid of a message that expects no reply. */
export const JOBID_NONE = '18446744073709551615';

/** The CMsgProtoBufHeader fields the fake reads or writes (64-bit ids as decimal strings). */
export interface Header {
  steamid?: string;
  client_sessionid?: number;
  jobid_source?: string;
  jobid_target?: string;
  target_job_name?: string;
  eresult?: number;
  error_message?: string;
}

export interface CmMessage {
  emsg: number;
  header: Header;
  body: Buffer;
}

export function encodeProto(type: ProtoType, object: Record<string, unknown>): Buffer {
  return Buffer.from(type.encode(type.fromObject(object)).finish());
}

export function decodeProto(type: ProtoType, bytes: Uint8Array): Record<string, unknown> {
  return type.toObject(type.decode(bytes), { longs: String, bytes: Buffer });
}

/** Parses one client message; throws on anything but a protobuf-framed message. */
export function parseMessage(bytes: Buffer): CmMessage {
  if (bytes.length < 8) throw new Error(`a CM message of ${bytes.length} bytes is too short`);
  const raw = bytes.readUInt32LE(0);
  if (!(raw & PROTO_MASK)) throw new Error(`EMsg ${raw} without the protobuf flag: the WebSocket transport only sends protobufs`);
  const headerLength = bytes.readUInt32LE(4);
  if (8 + headerLength > bytes.length) throw new Error('CM message header runs past the end');
  const header = decodeProto(proto('CMsgProtoBufHeader'), bytes.subarray(8, 8 + headerLength)) as Header;
  return { emsg: (raw & ~PROTO_MASK) >>> 0, header, body: bytes.subarray(8 + headerLength) };
}

export function encodeMessage(emsgId: number, header: Header, body: Buffer): Buffer {
  const headerBytes = encodeProto(proto('CMsgProtoBufHeader'), { ...header });
  const prefix = Buffer.alloc(8);
  prefix.writeUInt32LE((emsgId | PROTO_MASK) >>> 0, 0);
  prefix.writeUInt32LE(headerBytes.length, 4);
  return Buffer.concat([prefix, headerBytes, body]);
}
