/**
 * Writes purchase receipts the way Steam sends them in ClientPurchaseResponse:
 * Valve's binary KeyValues, a root node "MessageObject" with the result and
 * one "lineitems" child per package.
 */

export interface FakePackage {
  id: number;
  name: string;
}

type KvValue = string | number | KvNode;
interface KvNode {
  [name: string]: KvValue;
}

const NODE = 0;
const STRING = 1;
const INT32 = 2;
const END = 8;

function cString(text: string): Buffer {
  return Buffer.concat([Buffer.from(text, 'utf8'), Buffer.from([0])]);
}

/** Encodes `node`'s children followed by an End byte; numbers become Int32. */
function encodeNode(node: KvNode): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(node)) {
    if (typeof value === 'string') {
      parts.push(Buffer.from([STRING]), cString(name), cString(value));
    } else if (typeof value === 'number') {
      const int = Buffer.alloc(4);
      int.writeInt32LE(value, 0);
      parts.push(Buffer.from([INT32]), cString(name), int);
    } else {
      parts.push(Buffer.from([NODE]), cString(name), encodeNode(value));
    }
  }
  parts.push(Buffer.from([END]));
  return Buffer.concat(parts);
}

/** A receipt as Steam sends it: { MessageObject: { ..., LineItemCount, lineitems } }. */
export function encodeReceipt(eresult: number, detail: number, packages: readonly FakePackage[]): Buffer {
  const lineitems: KvNode = {};
  packages.forEach((pkg, index) => {
    lineitems[String(index)] = {
      PackageID: pkg.id,
      ItemDescription: pkg.name,
      TransactionID: 0,
    };
  });
  const message: KvNode = {
    PaymentMethod: 5, // EPaymentMethod ActivationCode
    PurchaseStatus: eresult === 1 ? 1 : 0,
    ResultDetail: detail,
    BasePrice: 0,
    TotalDiscount: 0,
    Tax: 0,
    ShippingCost: 0,
    CurrencyCode: 0,
    CountryCode: 'US',
    LineItemCount: packages.length,
    lineitems,
  };
  // The root's own End byte closes the (nameless) outer level.
  return encodeNode({ MessageObject: message });
}
