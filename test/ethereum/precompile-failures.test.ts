// A call straight to a precompile that refuses its input fails as in geth: -32000 with geth's reason
// (core/vm/contracts.go and its curve and KZG libraries), never "execution reverted" (code 3, which
// says the call reverted: a precompile consumes all its gas and does not revert). Table-driven: one
// input per reason geth gives, for eth_call, and eth_estimateGas for some (blake2f's: json-rpc.test.ts).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ethers } from 'ethers';
import { bn254 } from '@noble/curves/bn254.js';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { handleJsonRpc, type JsonRpcMethods } from '../../src/ethereum/json-rpc.js';
import { ETHER, TestChain, wallet } from './harness.js';
import { MemoryBackend, methodsFor } from './memory-backend.js';

const alice = wallet(0);

interface Answer {
  result?: unknown;
  error?: { code: number; message: string; data?: string };
}

async function rpc(methods: JsonRpcMethods, method: string, ...params: unknown[]): Promise<Answer> {
  return JSON.parse((await handleJsonRpc(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), methods))!) as Answer;
}

async function setup(): Promise<{ chain: TestChain; methods: JsonRpcMethods }> {
  const chain = await TestChain.create();
  await chain.fund(alice.address, ETHER);
  return { chain, methods: methodsFor(new MemoryBackend(chain)) };
}

const precompile = (n: number): string => ethers.toBeHex(n, 20);
const word = (value: bigint | number, bytes = 32): string => ethers.toBeHex(value, bytes).slice(2);
const hex = (...parts: string[]): string => `0x${parts.join('')}`;

// BN254: points as geth reads them, 32-byte big-endian coordinates (G2: imaginary part first).
const BN_P = bn254.fields.Fp.ORDER;
const BN_G1 = word(1) + word(2);
const BN_G2 = (() => {
  const { x, y } = bn254.G2.Point.BASE.toAffine();
  return word(x.c1) + word(x.c0) + word(y.c1) + word(y.c0);
})();
interface FieldOps<F> {
  sqrt(a: F): F;
  add(a: F, b: F): F;
  mul(a: F, b: F): F;
  sqr(a: F): F;
}

/** The first point of y^2 = x^3 + b, over x = xAt(1), xAt(2), ..., outside the prime-order subgroup (the curve has a cofactor). */
function pointOutsideSubgroup<F>(field: FieldOps<F>, b: F, xAt: (i: bigint) => F, torsionFree: (point: { x: F; y: F }) => boolean): { x: F; y: F } {
  for (let i = 1n; ; i++) {
    const x = xAt(i);
    try {
      const y = field.sqrt(field.add(field.mul(field.sqr(x), x), b));
      if (!torsionFree({ x, y })) return { x, y };
    } catch {
      // no square root: not a point's x
    }
  }
}

/** A point of the twist's curve outside the prime-order subgroup. */
const BN_G2_OUTSIDE = (() => {
  const { Fp2 } = bn254.fields;
  const { x, y } = pointOutsideSubgroup<ReturnType<typeof Fp2.create>>(Fp2, bn254.G2.Point.CURVE().b, (i) => Fp2.create({ c0: i, c1: 1n }), (p) => bn254.G2.Point.fromAffine(p).isTorsionFree());
  return word(x.c1) + word(x.c0) + word(y.c1) + word(y.c0);
})();

// BLS12-381 (EIP-2537): 64-byte field elements, the top 16 bytes zero; G2 coordinates c0 first.
const BLS_P = bls12_381.fields.Fp.ORDER;
const fp = (value: bigint): string => word(value, 64);
const BLS_G1 = (() => {
  const { x, y } = bls12_381.G1.Point.BASE.toAffine();
  return fp(x) + fp(y);
})();
const BLS_G1_OUTSIDE = (() => {
  const { x, y } = pointOutsideSubgroup<bigint>(bls12_381.fields.Fp, 4n, (i) => i, (p) => bls12_381.G1.Point.fromAffine(p).isTorsionFree());
  return fp(x) + fp(y);
})();
const BLS_G2_OUTSIDE = (() => {
  const { Fp2 } = bls12_381.fields;
  const { x, y } = pointOutsideSubgroup<ReturnType<typeof Fp2.create>>(Fp2, bls12_381.G2.Point.CURVE().b, (i) => Fp2.create({ c0: i, c1: 1n }), (p) => bls12_381.G2.Point.fromAffine(p).isTorsionFree());
  return fp(x.c0) + fp(x.c1) + fp(y.c0) + fp(y.c1);
})();

// The point evaluation precompile: the execution-specs' valid input, then parts of it changed.
const KZG = {
  z: '564c0a11a0f704f4fc3e8acfe0f8245f0ad1347b378fbf96e206da11a5d36306',
  y: '24d25032e67a7e6a4910df5834b8fe70e6bcfeeac0352434196bdf4b2485d5a1',
  commitment: '8f59a8d2a1a625a17f3fea0fe5eb8c896db3764f3185481bc22f91b4aaffcca25f26936857bc3a7c2539ea8ec3a952b7',
  proof: '873033e038326e87ed3e1276fd140253fa08e9fc25fb2d9a98527fc22a2c9612fbeafdad446cbc7bcdbdcd780af2c16a',
};
const versionedHash = (commitment: string): string => `01${ethers.sha256(`0x${commitment}`).slice(4)}`;
const kzgInput = (parts: Partial<typeof KZG> = {}): string => {
  const { z, y, commitment, proof } = { ...KZG, ...parts };
  return hex(versionedHash(commitment), z, y, commitment, proof);
};

// MODEXP's header: the lengths of base, exponent and modulus, then the three.
const modexp = (base: bigint, exponent: bigint, modulus: bigint): string => hex(word(base), word(exponent), word(modulus), '03', '05', '07');

const CASES: ReadonlyArray<[what: string, to: number, data: string, geth: string]> = [
  ['BN254 add: a coordinate not below the field modulus', 6, hex(word(BN_P), word(0), BN_G1), 'invalid fp.Element encoding'],
  ['BN254 add: the first point off the curve', 6, hex(word(1), word(3), BN_G1), 'point is not on curve'],
  ['BN254 add: the second point off the curve', 6, hex(BN_G1, word(1), word(3)), 'point is not on curve'],
  ['BN254 mul: the point off the curve', 7, hex(word(1), word(3), word(2)), 'point is not on curve'],
  ['BN254 pairing: not whole pairs', 8, hex(BN_G1, BN_G2.slice(0, 100)), 'bad elliptic curve pairing size'],
  ['BN254 pairing: a G2 coordinate not below the modulus', 8, hex(BN_G1, word(BN_P), BN_G2.slice(64)), 'invalid fp.Element encoding'],
  ['BN254 pairing: a G2 point off the curve', 8, hex(BN_G1, word(1), word(1), word(1), word(1)), 'point is not on curve'],
  ['BN254 pairing: a G2 point outside the subgroup', 8, hex(BN_G1, BN_G2_OUTSIDE), 'point is not in correct subgroup'],
  ['point evaluation: a short input', 10, kzgInput().slice(0, -2), 'invalid input length'],
  ['point evaluation: a versioned hash that is not the commitment\'s', 10, hex('02', kzgInput().slice(4)), 'mismatched versioned hash'],
  ['point evaluation: a proof that does not verify', 10, kzgInput({ y: `${KZG.y.slice(0, -2)}a0` }), "error verifying kzg proof: can't verify opening proof"],
  ['point evaluation: z past the scalar field', 10, kzgInput({ z: 'ff'.repeat(32) }), 'error verifying kzg proof: scalar is not canonical when interpreted as a big integer in big-endian'],
  ['point evaluation: a proof with no compression flag', 10, kzgInput({ proof: `07${KZG.proof.slice(2)}` }), 'error verifying kzg proof: short buffer'],
  ['BLS G1 add: a short input', 0x0b, hex(BLS_G1, BLS_G1.slice(2)), 'invalid input length'],
  ['BLS G1 add: a field element with top bytes set', 0x0b, hex(`01${BLS_G1.slice(2)}`, BLS_G1), 'invalid field element top bytes'],
  ['BLS G1 add: a field element not below the modulus', 0x0b, hex(fp(BLS_P), fp(0n), BLS_G1), 'invalid fp.Element encoding'],
  ['BLS G1 add: a point off the curve', 0x0b, hex(fp(1n), fp(1n), BLS_G1), 'invalid point: not on curve'],
  ['BLS G1 MSM: no input', 0x0c, '0x', 'invalid input length'],
  ['BLS G1 MSM: a point outside the subgroup', 0x0c, hex(BLS_G1_OUTSIDE, word(3)), 'g1 point is not on correct subgroup'],
  ['BLS G2 MSM: a point outside the subgroup', 0x0e, hex(BLS_G2_OUTSIDE, word(3)), 'g2 point is not on correct subgroup'],
  ['BLS pairing: a G1 point outside the subgroup', 0x0f, hex(BLS_G1_OUTSIDE, fp(0n).repeat(4)), 'g1 point is not on correct subgroup'],
  ['BLS map to G1: a short input', 0x10, hex(fp(1n).slice(2)), 'invalid input length'],
  ['BLS map to G2: an element not below the modulus', 0x11, hex(fp(1n), fp(BLS_P)), 'invalid fp.Element encoding'],
  ['MODEXP: a base past 1024 bytes (EIP-7823)', 5, modexp(1025n, 1n, 1n), 'base length is too large'],
  ['MODEXP: an exponent past 1024 bytes', 5, modexp(1n, 1025n, 1n), 'exponent length is too large'],
  ['MODEXP: a modulus past 1024 bytes', 5, modexp(1n, 1n, 1025n), 'modulus length is too large'],
  ['MODEXP: lengths whose gas no call can pay', 5, modexp(2n ** 255n, 1n, 1n), 'out of gas'],
];

describe('a call straight to a precompile that refuses its input', () => {
  test('fails with -32000 and geth\'s reason, never "execution reverted"', async () => {
    const { methods } = await setup();
    for (const [what, to, data, geth] of CASES) {
      const answer = await rpc(methods, 'eth_call', { to: precompile(to), data }, 'latest');
      assert.deepEqual(answer.error, { code: -32000, message: geth }, what);
    }
  });

  test('eth_estimateGas answers the same (out of gas with all the gas allowed: the allowance)', async () => {
    const { methods } = await setup();
    for (const [what, to, data, geth] of CASES.filter(([, to, , geth]) => (to === 6 || to === 5 || to === 0x0c) && geth !== 'out of gas')) {
      const answer = await rpc(methods, 'eth_estimateGas', { to: precompile(to), data });
      assert.deepEqual(answer.error, { code: -32000, message: geth }, what);
    }
  });

  test('a precompile called with too little gas is out of gas, as in geth', async () => {
    const { methods } = await setup();
    // A BN254 pairing of one pair asks 79,000 gas: its input off the curve is never looked at.
    const answer = await rpc(methods, 'eth_call', { to: precompile(8), data: hex(BN_G1, word(1), word(1), word(1), word(1)), gas: ethers.toQuantity(60_000) }, 'latest');
    assert.deepEqual(answer.error, { code: -32000, message: 'out of gas' });
    const modexpAnswer = await rpc(methods, 'eth_call', { to: precompile(5), data: modexp(1025n, 1n, 1n), gas: ethers.toQuantity(30_000) }, 'latest');
    assert.deepEqual(modexpAnswer.error, { code: -32000, message: 'out of gas' }, "MODEXP's lengths are checked once their gas is paid");
  });
});
