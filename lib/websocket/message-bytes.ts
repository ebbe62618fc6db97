/**
 * The payload of a message that arrives in more than one slice — several
 * fragments (RFC 6455 §5.4), or one frame over several TCP reads — held in
 * memory proportional to its size however finely it is cut: a peer may send
 * a 1 MiB message as a million 1-byte fragments, and conformance suites do
 * send tens of thousands, so the bound is on bytes, not on fragments.
 *
 * A large slice is kept as it is: a view of the chunk it was read in, no
 * copy (a 1 MiB frame comes in sixteen 64 KiB reads). It is large when it
 * is at least MIN_VIEW bytes and at least half of the memory it keeps alive,
 * so the chunks held never exceed twice the bytes kept from them. Smaller
 * slices are copied into owned memory, in blocks that double with the run of
 * small slices since the last large one: the unused end of a block is then
 * at most the run so far, or FIRST_TAIL when a large slice ends the run.
 * All told, the memory held stays under about 2.5 times the payload.
 */

/** Below this a slice is copied: a Buffer object per slice would cost more than its bytes. */
const MIN_VIEW = 4 * 1024;
const FIRST_TAIL = 1024;
const MAX_TAIL = 1024 * 1024;

export class MessageBytes {
  /** The payload so far, in order, but for the bytes in #tail. */
  #parts: Buffer[] = [];
  /** Owned memory that small slices are copied into; its first #used bytes follow #parts. */
  #tail: Buffer | null = null;
  #used = 0;
  /** Bytes copied since the last slice kept as a view: the size of the next tail. */
  #run = 0;
  #size = 0;

  /** Bytes held so far. */
  get size(): number {
    return this.#size;
  }

  /** Appends a slice. It is kept, not copied, when large: do not modify it afterwards. */
  push(slice: Buffer): void {
    const length = slice.length;
    this.#size += length;
    if (length >= MIN_VIEW && length * 2 >= slice.buffer.byteLength) {
      this.#seal();
      this.#parts.push(slice);
      this.#run = 0;
      return;
    }
    let from = 0;
    while (from < length) {
      let tail = this.#tail;
      if (tail === null || this.#used === tail.length) {
        this.#seal();
        const size = Math.min(MAX_TAIL, Math.max(FIRST_TAIL, this.#run, length - from));
        tail = this.#tail = Buffer.allocUnsafe(size);
      }
      const n = slice.copy(tail, this.#used, from);
      this.#used += n;
      this.#run += n;
      from += n;
    }
  }

  /** The whole payload as one Buffer (no copy when it is one part); empties this for the next message. */
  take(): Buffer {
    this.#seal();
    const parts = this.#parts;
    const message = parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.#size);
    this.#parts = [];
    this.#run = 0;
    this.#size = 0;
    return message;
  }

  /** Moves the tail's bytes into #parts; the next small slice starts a new tail. */
  #seal(): void {
    const tail = this.#tail;
    if (tail === null) return;
    if (this.#used > 0) this.#parts.push(this.#used === tail.length ? tail : tail.subarray(0, this.#used));
    this.#tail = null;
    this.#used = 0;
  }
}
