// The query string a JS app is given, decoded as CCF decodes it before any handler sees it: each
// %XX of two hex digits becomes its byte and each '+' a space (a '%' not followed by two hex digits
// stays), then the bytes are read as UTF-8. An app therefore cannot tell an encoded '&' or '=' from
// a separator, as on CCF; a request's url carries the decoded query too.

const PERCENT = 0x25;
const PLUS = 0x2b;
const SPACE = 0x20;
const UTF8 = new TextDecoder('utf-8');

export function decodedQuery(raw: string): string {
  if (!raw.includes('%') && !raw.includes('+')) return raw;
  const text = Buffer.from(raw, 'utf8');
  const bytes = new Uint8Array(text.length);
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const byte = text[i]!;
    const high = byte === PERCENT ? hexDigit(text[i + 1]) : -1;
    const low = high < 0 ? -1 : hexDigit(text[i + 2]);
    if (low >= 0) {
      bytes[length++] = (high << 4) | low;
      i += 2;
    } else {
      bytes[length++] = byte === PLUS ? SPACE : byte;
    }
  }
  return UTF8.decode(bytes.subarray(0, length));
}

function hexDigit(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}
