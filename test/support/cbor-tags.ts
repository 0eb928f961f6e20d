// The CBOR tags an encoding uses, found by walking it item by item: cbor-x's decoder drops tags it
// knows (tag 64 around a byte string decodes as the plain bytes), so it cannot show them.

/** Every tag in `bytes` (one CBOR item), in order of appearance, nested byte strings not entered. */
export function cborTags(bytes: Uint8Array): number[] {
  const tags: number[] = [];
  let at = 0;
  const argument = (info: number): number => {
    if (info < 24) return info;
    const size = 2 ** (info - 24);
    if (info > 27) throw new Error(`CBOR: indefinite or reserved length ${info} at ${at}`);
    let value = 0;
    for (let i = 0; i < size; i++) value = value * 256 + bytes[at++]!;
    return value;
  };
  const item = (): void => {
    const head = bytes[at++];
    if (head === undefined) throw new Error('CBOR: truncated');
    const major = head >> 5;
    const value = argument(head & 31);
    if (major === 2 || major === 3) at += value;
    else if (major === 4) for (let i = 0; i < value; i++) item();
    else if (major === 5) for (let i = 0; i < 2 * value; i++) item();
    else if (major === 6) {
      tags.push(value);
      item();
    }
  };
  item();
  if (at !== bytes.length) throw new Error(`CBOR: ${bytes.length - at} bytes after the item`);
  return tags;
}
