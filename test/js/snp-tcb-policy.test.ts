// ccf.tcbHexToPolicy's reading of an SEV-SNP TCB version: the CPUID names the product, whose layout
// places each component (Turin adds fmc and moves the others); the hex string is kept as given.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CocoError } from '../../src/errors.js';
import { snpProduct, tcbHexToPolicy } from '../../src/js/snp-tcb-policy.js';

test('the CPUIDs of Milan, Genoa and Turin, whatever the stepping; other CPUs are refused', () => {
  assert.equal(snpProduct('00a00f11'), 'Milan');
  assert.equal(snpProduct('00a00f12'), 'Milan', 'stepping 2');
  assert.equal(snpProduct('00A10F11'), 'Genoa');
  assert.equal(snpProduct('00b00f11'), 'Turin');
  assert.throws(() => snpProduct('00a20f11'), (e: unknown) => e instanceof CocoError && /Unsupported CPUID family 25 model 33/.test(e.message));
  assert.throws(() => snpProduct('00830f10'), /Unsupported CPUID family 23 model 49/, 'Rome (family 0x17 model 0x31)');
  assert.throws(() => snpProduct('a00f11'), /CPUID must be 8 hex digits/);
  assert.throws(() => snpProduct('00a00g11'), /CPUID must be 8 hex digits/);
});

test('Milan and Genoa: boot loader, TEE, SNP and microcode from the least significant byte up', () => {
  // Printed most significant byte first: microcode 0xd3, SNP 0x15, four reserved bytes, TEE 0, boot loader 4.
  const expected = { hexstring: 'd315000000000004', microcode: 211, snp: 21, tee: 0, boot_loader: 4 };
  assert.deepEqual(tcbHexToPolicy('00a00f11', 'd315000000000004'), expected);
  assert.deepEqual(tcbHexToPolicy('00a10f11', 'D315000000000004'), expected, 'upper case reads the same, and is kept lower case');
  assert.deepEqual(Object.keys(tcbHexToPolicy('00a00f11', 'd315000000000004')), ['hexstring', 'microcode', 'snp', 'tee', 'boot_loader'], "CCF's key order");
});

test('Turin: fmc, boot loader, TEE and SNP in the low bytes, microcode in the top one', () => {
  assert.deepEqual(tcbHexToPolicy('00b00f11', '2a00000001020304'), { hexstring: '2a00000001020304', microcode: 42, snp: 1, tee: 2, boot_loader: 3, fmc: 4 });
});

test('a TCB version that is not 8 bytes of hex is refused', () => {
  assert.throws(() => tcbHexToPolicy('00a00f11', 'd3150000'), /Invalid TCB version data size: 4/);
  assert.throws(() => tcbHexToPolicy('00a00f11', 'd31500000000000400'), /Invalid TCB version data size: 9/);
  assert.throws(() => tcbHexToPolicy('00a00f11', 'd31500000000000'), /must be hex digits/);
  assert.throws(() => tcbHexToPolicy('00a00f11', 'x315000000000004'), /must be hex digits/);
});
