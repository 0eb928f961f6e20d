// UTF-8 as CCF's QuickJS converts between strings and bytes (ccf.strToBuf, ccf.bufToStr): a lone
// surrogate in a string is kept as the three bytes of its code point (QuickJS's JS_ToCStringLen
// does not replace it), and those three bytes read back as that surrogate. So distinct strings give
// distinct bytes, e.g. as KV keys, where U+FFFD in place of every lone surrogate would make "\ud800"
// and "\udc00" the same key. Everything else is standard UTF-8.

import { fromUtf8, utf8 } from '../crypto/bytes.js';

const encoder = new TextEncoder();

/** A surrogate not part of a pair: in a `u` regular expression a pair is one code point, not Cs. */
const LONE_SURROGATE = /\p{Cs}/u;
const SURROGATE_LEAD = 0xed;
/** After 0xED, a second byte from here on encodes a surrogate (U+D800-U+DFFF). */
const SURROGATE_SECOND_MIN = 0xa0;
const CONTINUATION_MIN = 0x80;
const CONTINUATION_MAX = 0xbf;
const REPLACEMENT = '\ufffd';

/** `text` as bytes, lone surrogates encoded as their own code points. */
export function quickJsUtf8(text: string): Uint8Array {
  if (!LONE_SURROGATE.test(text)) return utf8(text);
  // Written in place: a part per lone surrogate could be millions of parts.
  const out = new Uint8Array(text.length * 3);
  let written = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    const next = text.charCodeAt(i + 1);
    if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      i++;
      continue;
    }
    written += encoder.encodeInto(text.slice(start, i), out.subarray(written)).written;
    out.set([0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)], written);
    written += 3;
    start = i + 1;
  }
  written += encoder.encodeInto(text.slice(start), out.subarray(written)).written;
  return out.slice(0, written);
}

/**
 * `bytes` as text, decoded as the WHATWG Encoding standard does (U+FFFD for each maximal bad
 * subsequence) but with surrogates as valid code points: 0xED 0xA0-0xBF starts one, and an
 * incomplete one is a single U+FFFD, as the prelude's own decoder for short buffers does.
 */
export function fromQuickJsUtf8(bytes: Uint8Array): string {
  let text = '';
  let start = 0;
  for (let i = bytes.indexOf(SURROGATE_LEAD); i !== -1 && i + 1 < bytes.length; i = bytes.indexOf(SURROGATE_LEAD, i + 1)) {
    const second = bytes[i + 1]!;
    if (second < SURROGATE_SECOND_MIN || second > CONTINUATION_MAX) continue;
    const third = bytes[i + 2];
    const complete = third !== undefined && third >= CONTINUATION_MIN && third <= CONTINUATION_MAX;
    text += fromUtf8(bytes.subarray(start, i)) + (complete ? String.fromCharCode(0xd000 | ((second & 0x3f) << 6) | (third & 0x3f)) : REPLACEMENT);
    start = i + (complete ? 3 : 2);
    i = start - 1;
  }
  return start === 0 ? fromUtf8(bytes) : text + fromUtf8(bytes.subarray(start));
}
