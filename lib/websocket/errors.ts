/**
 * A violation of RFC 6455 by the peer. It carries the close code that the
 * connection must be failed with (RFC 6455 §7.1.7, §7.4.1), so the rule that
 * detects a problem also decides how it is reported on the wire.
 */
export class ProtocolError extends Error {
  readonly closeCode: number;

  constructor(closeCode: number, message: string) {
    super(message);
    this.name = 'ProtocolError';
    this.closeCode = closeCode;
  }
}
