// The application protocols a TLS client offers by ALPN (RFC 7301), read from the record that
// carries its ClientHello (RFC 8446 §4.1.2; TLS 1.2's has the same layout) before TLS takes the
// connection, so that the server can answer ALPN per connection as CCF's does (rpc-server.ts).
// Bytes from an unauthenticated client: every length is checked against what holds it.

const HANDSHAKE_CONTENT_TYPE = 0x16;
const CLIENT_HELLO_TYPE = 1;
const ALPN_EXTENSION_TYPE = 16;
/** A ClientHello's legacy_version and random, before its variable-length fields. */
const HELLO_FIXED_BYTES = 2 + 32;
/** A record header's legacy_record_version, between its content type and its length. */
const RECORD_VERSION_BYTES = 2;

/** Reads big-endian integers and length-prefixed vectors from `bytes[start, end)`; a read past `end` throws a RangeError. */
class Cursor {
  #at: number;

  constructor(
    private readonly bytes: Uint8Array,
    start = 0,
    private readonly end = bytes.length,
  ) {
    this.#at = start;
  }

  get done(): boolean {
    return this.#at >= this.end;
  }

  /** An unsigned integer of `size` bytes. */
  uint(size: number): number {
    this.#need(size);
    let value = 0;
    for (let i = 0; i < size; i++) value = value * 256 + this.bytes[this.#at + i]!;
    this.#at += size;
    return value;
  }

  skip(size: number): void {
    this.#need(size);
    this.#at += size;
  }

  /** The vector whose length takes the next `lengthSize` bytes, as a cursor of its own; this one moves past it. */
  vector(lengthSize: number): Cursor {
    const length = this.uint(lengthSize);
    this.#need(length);
    const inner = new Cursor(this.bytes, this.#at, this.#at + length);
    this.#at += length;
    return inner;
  }

  /** The bytes left, as Latin-1 text (ALPN names are bytes, in practice ASCII). */
  text(): string {
    const text = Buffer.from(this.bytes.subarray(this.#at, this.end)).toString('latin1');
    this.#at = this.end;
    return text;
  }

  #need(size: number): void {
    if (this.#at + size > this.end) throw new RangeError(`${size} bytes needed at ${this.#at}, ${this.end - this.#at} left`);
  }
}

/**
 * The protocols the ClientHello in `record` offers by ALPN, in the client's order; undefined when
 * it offers none, or `record` does not start with a whole ClientHello (a hello may span records).
 */
export function offeredAlpnProtocols(record: Uint8Array): string[] | undefined {
  try {
    const header = new Cursor(record);
    if (header.uint(1) !== HANDSHAKE_CONTENT_TYPE) return undefined;
    header.skip(RECORD_VERSION_BYTES);
    const handshake = header.vector(2);
    if (handshake.uint(1) !== CLIENT_HELLO_TYPE) return undefined;
    const hello = handshake.vector(3);
    hello.skip(HELLO_FIXED_BYTES);
    hello.vector(1); // legacy_session_id
    hello.vector(2); // cipher_suites
    hello.vector(1); // legacy_compression_methods
    // TLS 1.2 allows a hello without extensions.
    if (hello.done) return undefined;
    const extensions = hello.vector(2);
    while (!extensions.done) {
      const type = extensions.uint(2);
      const data = extensions.vector(2);
      if (type !== ALPN_EXTENSION_TYPE) continue;
      const names = data.vector(2);
      const protocols: string[] = [];
      while (!names.done) protocols.push(names.vector(1).text());
      return protocols;
    }
    return undefined;
  } catch (error) {
    if (error instanceof RangeError) return undefined;
    throw error;
  }
}
