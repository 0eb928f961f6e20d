// Compiles the ERC-20 sample's Solidity contract with the solc npm package (solc-js, the compiler
// version the package pins, its default EVM target) into <outDir>/Token.json: {contractName,
// compiler, abi, bytecode}, what ethers.js's ContractFactory takes. Fails on any compiler error.
// Usage: node samples/erc20/build.mjs [outDir]      (outDir defaults to samples/erc20/dist)

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const solc = require('solc');

const sampleDir = dirname(fileURLToPath(import.meta.url));
const outDir = resolve(process.argv[2] ?? join(sampleDir, 'dist'));
const contractName = 'Token';
const sourceName = `${contractName}.sol`;

const input = {
  language: 'Solidity',
  sources: { [sourceName]: { content: await readFile(join(sampleDir, 'contracts', sourceName), 'utf8') } },
  settings: { optimizer: { enabled: true, runs: 200 }, outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const diagnostics = output.errors ?? [];
for (const warning of diagnostics.filter((e) => e.severity !== 'error')) process.stderr.write(warning.formattedMessage);
const errors = diagnostics.filter((e) => e.severity === 'error');
if (errors.length > 0) throw new Error(`solc could not compile ${sourceName}:\n${errors.map((e) => e.formattedMessage).join('\n')}`);
const contract = output.contracts?.[sourceName]?.[contractName];
if (contract === undefined) throw new Error(`solc produced no contract ${contractName} from ${sourceName}`);

await mkdir(outDir, { recursive: true });
const outPath = join(outDir, `${contractName}.json`);
const artifact = { contractName, compiler: `solc ${solc.version()}`, abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` };
await writeFile(outPath, JSON.stringify(artifact, null, 2) + '\n');
process.stdout.write(`wrote ${outPath} (${artifact.compiler}, ${(artifact.bytecode.length - 2) / 2} bytes of creation code)\n`);
