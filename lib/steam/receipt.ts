/**
 * Reads the packages out of a purchase receipt: the `purchase_receipt_info`
 * bytes of Steam's ClientPurchaseResponse, in Valve's binary KeyValues format
 * (a tree of typed, NUL-terminated names):
 *
 *   MessageObject { ResultDetail 14, LineItemCount 2,
 *                   lineitems { 0 { PackageID 123, ItemDescription "Game" }, 1 { ... } } }
 *
 * It never throws: a missing or damaged receipt yields no packages, because
 * the purchase result itself (EResult and detail code) travels beside it.
 */

export interface ReceiptPackage {
  id: number;
  name: string;
}

/** Binary KeyValues type bytes (the ones Steam's receipts and steam-user's parser know). */
const KvType = {
  Node: 0,
  String: 1,
  Int32: 2,
  Float32: 3,
  Pointer: 4,
  Color: 6,
  UInt64: 7,
  End: 8,
  Int64: 10,
  AlternateEnd: 11,
} as const;

type KvValue = string | number | bigint | KvNode;
interface KvNode {
  [name: string]: KvValue;
}

/** A tree this deep is not a receipt; stop before the stack does. */
const MAX_DEPTH = 32;

class KvReader {
  #offset = 0;
  constructor(readonly bytes: Buffer) {}

  /** Reads children until an End byte (or the end of the bytes, for the root). */
  node(depth: number): KvNode {
    if (depth > MAX_DEPTH) throw new RangeError('receipt nested too deeply');
    const node: KvNode = {};
    while (this.#offset < this.bytes.length) {
      const type = this.bytes[this.#offset++]!;
      if (type === KvType.End || type === KvType.AlternateEnd) return node;
      const name = this.cString();
      node[name] = this.value(type, depth);
    }
    if (depth > 0) throw new RangeError('receipt ends inside a node');
    return node;
  }

  value(type: number, depth: number): KvValue {
    switch (type) {
      case KvType.Node:
        return this.node(depth + 1);
      case KvType.String:
        return this.cString();
      case KvType.Int32:
      case KvType.Pointer:
      case KvType.Color:
        return this.take(4).readInt32LE(0);
      case KvType.Float32:
        return this.take(4).readFloatLE(0);
      case KvType.UInt64:
        return this.take(8).readBigUInt64LE(0);
      case KvType.Int64:
        return this.take(8).readBigInt64LE(0);
      default:
        throw new RangeError(`unknown KeyValues type ${type}`);
    }
  }

  cString(): string {
    const end = this.bytes.indexOf(0, this.#offset);
    if (end < 0) throw new RangeError('unterminated name or string');
    const text = this.bytes.toString('utf8', this.#offset, end);
    this.#offset = end + 1;
    return text;
  }

  take(length: number): Buffer {
    if (this.#offset + length > this.bytes.length) throw new RangeError('receipt truncated');
    const slice = this.bytes.subarray(this.#offset, this.#offset + length);
    this.#offset += length;
    return slice;
  }
}

function isNode(value: KvValue | undefined): value is KvNode {
  return typeof value === 'object' && value !== null;
}

function packageId(item: KvNode): number | undefined {
  // steam-user accepts these three spellings (components/apps.js, redeemKey).
  const raw = item['PackageID'] ?? item['packageID'] ?? item['packageid'];
  const id = typeof raw === 'bigint' ? Number(raw) : typeof raw === 'string' ? Number(raw) : raw;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : undefined;
}

/** Every package listed in the receipt, in its order; [] when there is no readable receipt. */
export function receiptPackages(receipt: Uint8Array | null | undefined): ReceiptPackage[] {
  if (!receipt || receipt.length === 0) return [];
  let root: KvNode;
  try {
    root = new KvReader(Buffer.from(receipt.buffer, receipt.byteOffset, receipt.length)).node(0);
  } catch {
    return [];
  }
  const message = root['MessageObject'];
  const items = isNode(message) ? message['lineitems'] : undefined;
  if (!isNode(items)) return [];
  const packages: ReceiptPackage[] = [];
  const indexes = Object.keys(items).sort((a, b) => Number(a) - Number(b));
  for (const index of indexes) {
    const item = items[index];
    if (!isNode(item)) continue;
    const id = packageId(item);
    if (id === undefined) continue;
    const name = item['ItemDescription'];
    packages.push({ id, name: typeof name === 'string' ? name : '' });
  }
  return packages;
}
