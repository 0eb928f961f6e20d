// ECDSA signatures are malleable: when (r, s) verifies, so does (r, n − s) over the same message
// with the same key. Anyone holding one signature can make the other without the key, so a check
// that a signed request is not replayed, keyed on its signature's bytes, must know both forms.

import { p256, p384, p521 } from '@noble/curves/nist.js';

/** Each curve's group order, by the size of its COSE signature (r ‖ s, IEEE P1363). */
const ORDER_BY_SIGNATURE_BYTES = new Map([p256, p384, p521].map(({ Point }) => [2 * Point.Fn.BYTES, { order: Point.Fn.ORDER, half: Point.Fn.BYTES }]));

/** The other valid form (r, n − s) of a raw ECDSA signature; undefined for a size no curve has, or an s out of range. */
export function ecdsaSignatureTwin(signature: Uint8Array): Uint8Array | undefined {
  const curve = ORDER_BY_SIGNATURE_BYTES.get(signature.length);
  if (curve === undefined) return undefined;
  const s = BigInt(`0x${Buffer.from(signature.subarray(curve.half)).toString('hex') || '0'}`);
  if (s <= 0n || s >= curve.order) return undefined;
  const twin = new Uint8Array(signature);
  twin.set(Buffer.from((curve.order - s).toString(16).padStart(2 * curve.half, '0'), 'hex'), curve.half);
  return twin;
}
