// PEM (RFC 7468) text <-> DER bytes: one block, or every block of a bundle.
// Parsing is strict: the BEGIN and END labels must match, the body must be clean base64, and any
// unterminated block is an error rather than silently dropped.

import { CocoError } from '../errors.js';
import { fromBase64, toBase64 } from './bytes.js';

/** RFC 7468 wraps base64 lines at 64 characters. */
const PEM_LINE_CHARS = 64;
/** RFC 7468 labels (upper case only): words joined by single spaces or hyphens. */
const LABEL_SOURCE = '[A-Z0-9]+(?:[ -][A-Z0-9]+)*';
const LABEL = new RegExp(`^${LABEL_SOURCE}$`);
const BLOCK = new RegExp(`-----BEGIN (${LABEL_SOURCE})-----([A-Za-z0-9+/=\\s]*?)-----END (${LABEL_SOURCE})-----`, 'g');
const BEGIN_MARKER = '-----BEGIN ';

interface PemBlock {
  label: string;
  text: string;
  der: Uint8Array;
}

function* pemBlocks(text: string): Generator<PemBlock> {
  let searchFrom = 0;
  for (const match of text.matchAll(BLOCK)) {
    const [whole, label = '', body = '', endLabel] = match;
    if (text.indexOf(BEGIN_MARKER, searchFrom) !== match.index) throw unterminatedBlock();
    searchFrom = match.index + whole.length;
    if (label !== endLabel) {
      throw new CocoError('InvalidPem', `PEM block "BEGIN ${label}" ends with "END ${endLabel}"; the labels must match`);
    }
    let der: Uint8Array;
    try {
      der = fromBase64(body);
    } catch (cause) {
      throw new CocoError('InvalidPem', `PEM block "${label}" has a malformed base64 body`, { cause });
    }
    if (der.length === 0) throw new CocoError('InvalidPem', `PEM block "${label}" is empty`);
    yield { label, text: whole, der };
  }
  if (text.includes(BEGIN_MARKER, searchFrom)) throw unterminatedBlock();
}

function unterminatedBlock(): CocoError {
  return new CocoError('InvalidPem', 'PEM text has a BEGIN line without a well-formed block (missing END line or stray characters in the body)');
}

/** DER bytes of the first PEM block; with `expectedLabel`, that block must carry this label. */
export function pemToDer(pem: string, expectedLabel?: string): Uint8Array {
  for (const block of pemBlocks(pem)) {
    if (expectedLabel !== undefined && block.label !== expectedLabel) {
      throw new CocoError('InvalidPem', `expected a PEM "${expectedLabel}" block, found "${block.label}"`);
    }
    return block.der;
  }
  throw new CocoError('InvalidPem', `no PEM block found${expectedLabel ? ` (expected "${expectedLabel}")` : ''}`);
}

export function derToPem(der: Uint8Array, label: string): string {
  if (!LABEL.test(label)) {
    throw new CocoError('InvalidPem', `PEM label must be upper-case words joined by single spaces or hyphens, got ${JSON.stringify(label)}`);
  }
  if (der.length === 0) throw new CocoError('InvalidPem', 'cannot encode empty DER as PEM');
  const body = toBase64(der);
  const lines: string[] = [];
  for (let i = 0; i < body.length; i += PEM_LINE_CHARS) lines.push(body.slice(i, i + PEM_LINE_CHARS));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Every PEM block of a bundle (text outside blocks is ignored), each as its own text ending in "\n". */
export function splitPemBundle(text: string): string[] {
  return Array.from(pemBlocks(text), (block) => `${block.text}\n`);
}
