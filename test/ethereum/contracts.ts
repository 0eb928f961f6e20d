// Solidity contracts for the Ethereum tests, compiled with solc (its default EVM target, Osaka) the
// way a user compiles them, once per process.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const TOKEN_SOURCE = `// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// A plain ERC-20 token: the whole supply goes to the deployer.
contract Token {
    string public name;
    string public symbol;
    uint8 public constant decimals = 18;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    error AllowanceExceeded(uint256 allowed, uint256 wanted);

    constructor(string memory name_, string memory symbol_, uint256 supply) {
        name = name_;
        symbol = symbol_;
        totalSupply = supply;
        balanceOf[msg.sender] = supply;
        emit Transfer(address(0), msg.sender, supply);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _move(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed < value) revert AllowanceExceeded(allowed, value);
        allowance[from][msg.sender] = allowed - value;
        _move(from, to, value);
        return true;
    }

    function _move(address from, address to, uint256 value) private {
        require(balanceOf[from] >= value, "Token: transfer amount exceeds balance");
        balanceOf[from] -= value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}
`;

export const PROBE_SOURCE = `// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// Behaviours the executor must get right: a write then a revert, a loop that never ends.
contract Probe {
    uint256 public value;

    function set(uint256 v) external {
        value = v;
    }

    /// Through an external call: the 63/64 rule withholds gas from it, so the gas it uses is not enough.
    function setViaCall(uint256 v) external {
        this.set(v);
    }

    function setThenRevert(uint256 v) external {
        value = v;
        revert("Probe: refused");
    }

    function spin() external {
        uint256 i;
        while (true) {
            i++;
            value = i;
        }
    }

    function previousBlockHash() external view returns (bytes32) {
        return blockhash(block.number - 1);
    }

    function blockInfo() external view returns (uint256 number, uint256 timestamp, uint256 chainId) {
        return (block.number, block.timestamp, block.chainid);
    }

    function caller() external view returns (address who, uint256 codeSize) {
        return (msg.sender, msg.sender.code.length);
    }
}
`;

export interface Compiled {
  abi: unknown[];
  /** Creation bytecode, 0x-prefixed. */
  bytecode: string;
}

interface SolcOutput {
  errors?: { severity: string; formattedMessage: string }[];
  contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
}

let compiled: Record<string, Compiled> | undefined;

/** Token and Probe, compiled (once). */
export function contracts(): { Token: Compiled; Probe: Compiled } {
  if (compiled === undefined) {
    const solc = require('solc') as { compile(input: string): string };
    const input = {
      language: 'Solidity',
      sources: { 'Token.sol': { content: TOKEN_SOURCE }, 'Probe.sol': { content: PROBE_SOURCE } },
      settings: { optimizer: { enabled: true, runs: 200 }, outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
    };
    const output = JSON.parse(solc.compile(JSON.stringify(input))) as SolcOutput;
    const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
    if (errors.length > 0) throw new Error(errors.map((e) => e.formattedMessage).join('\n'));
    compiled = {};
    for (const file of Object.values(output.contracts)) {
      for (const [name, contract] of Object.entries(file)) {
        compiled[name] = { abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` };
      }
    }
  }
  return compiled as { Token: Compiled; Probe: Compiled };
}

/**
 * Creation code of a contract whose runtime code returns 42 using PUSH0 (0x5f), an opcode that only
 * exists from Shanghai on: PUSH1 42, PUSH0, MSTORE, PUSH1 32, PUSH0, RETURN.
 */
export const PUSH0_RUNTIME = '602a5f5260205ff3';
// Init code: PUSH1 8, PUSH1 10, PUSH0, CODECOPY (the 8 bytes after these 10), PUSH1 8, PUSH0, RETURN.
export const PUSH0_CREATION = `0x6008600a5f3960085ff3${PUSH0_RUNTIME}`;

/**
 * Creation code of a factory whose runtime code runs CREATE2 with the calldata's first 32 bytes as
 * the salt and the rest as init code, and returns the created address (zero when creation failed):
 * PUSH1 32, CALLDATASIZE, SUB, PUSH1 32, PUSH0, CALLDATACOPY (the init code to memory 0);
 * PUSH0, CALLDATALOAD (salt), PUSH1 32, CALLDATASIZE, SUB (size), PUSH0, PUSH0, CREATE2;
 * PUSH0, MSTORE, PUSH1 32, PUSH0, RETURN.
 */
export const CREATE2_FACTORY_RUNTIME = '602036036020' + '5f37' + '5f35602036035f5ff5' + '5f5260205ff3';
// Init code: PUSH1 23, PUSH1 10, PUSH0, CODECOPY (the 23 bytes after these 10), PUSH1 23, PUSH0, RETURN.
export const CREATE2_FACTORY_CREATION = `0x6017600a5f3960175ff3${CREATE2_FACTORY_RUNTIME}`;

/** Runtime code that returns GASPRICE (tx.gasprice): GASPRICE, PUSH0, MSTORE, PUSH1 32, PUSH0, RETURN. */
export const GASPRICE_RUNTIME = '3a5f5260205ff3';
// Init code: PUSH1 7, PUSH1 10, PUSH0, CODECOPY (the 7 bytes after these 10), PUSH1 7, PUSH0, RETURN.
export const GASPRICE_CREATION = `0x6007600a5f3960075ff3${GASPRICE_RUNTIME}`;

/**
 * Arachnid's CREATE2 deployer (github.com/Arachnid/deterministic-deployment-proxy), deployed on
 * every chain by one presigned transaction without a chain id (pre-EIP-155: nonce 0, 100 gwei,
 * 100,000 gas, v 27). Its runtime code runs CREATE2 with the calldata's first 32 bytes as salt and
 * the rest as init code, and returns the 20-byte address.
 */
export const CREATE2_DEPLOYER = {
  transaction:
    '0xf8a58085174876e800830186a08080b853604580600e600039806000f350fe7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe03601600081602082378035828234f58015156039578182fd5b8082525050506014600cf31ba02222222222222222222222222222222222222222222222222222222222222222a02222222222222222222222222222222222222222222222222222222222222222',
  /** Who the signature recovers to, without a chain id; it must hold the 0.01 ether the transaction's gas costs. */
  signer: '0x3fab184622dc19b6109349b94811493bf2a45362',
  /** Where it lands: the signer's first contract. */
  address: '0x4e59b44847b379578588920ca78fbf26c0b4956c',
  runtime: '0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe03601600081602082378035828234f58015156039578182fd5b8082525050506014600cf3',
} as const;
