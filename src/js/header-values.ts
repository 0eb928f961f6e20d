// HTTP header values between Node and JS apps. Node's HTTP parser and writer hold a value as one
// Latin-1 character per byte; CCF gives apps the value's bytes decoded as UTF-8 and writes what an
// app sets as its UTF-8 bytes. These two functions convert at the js layer's edge, so that apps see
// and send the same header bytes as under CCF.

/** A byte of 0x80 or above, in a value held one Latin-1 character per byte. */
const LATIN1_HIGH = /[\x80-\xff]/;
/** A character no byte held as Latin-1 gives. */
const BEYOND_LATIN1 = /[^\x00-\xff]/;
/** A character beyond ASCII, which UTF-8 writes as more than one byte. */
const BEYOND_ASCII = /[^\x00-\x7f]/;
/** Strict, and keeping a leading byte order mark, as the value's other characters. */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The text of a received value, as CCF's request.cpp gives it to JS: its bytes read as UTF-8
 * ("héllo" stays "héllo", where Node gives "hÃ©llo"). Bytes that are not valid UTF-8 keep the
 * Latin-1 reading, one character per byte, from which the app can still recover them exactly
 * (CCF's QuickJS would put U+FFFD in their place).
 */
export function headerValueFromWire(value: string): string {
  if (!LATIN1_HIGH.test(value) || BEYOND_LATIN1.test(value)) return value;
  try {
    return STRICT_UTF8.decode(Buffer.from(value, 'latin1'));
  } catch {
    return value;
  }
}

/** The value an app set, as Node must be given it to write its UTF-8 bytes, as CCF does. */
export function headerValueToWire(text: string): string {
  return BEYOND_ASCII.test(text) ? Buffer.from(text, 'utf8').toString('latin1') : text;
}
