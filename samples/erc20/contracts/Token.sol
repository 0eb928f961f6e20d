// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Token: the ERC-20 of Coco's sample.
/// @notice A fixed-supply ERC-20 (EIP-20): the constructor mints the whole supply to the deployer,
/// and nothing mints or burns afterwards. Failures revert with the custom errors below, which
/// ethers.js decodes from the ABI.
contract Token {
    string public name;
    string public symbol;
    uint8 public constant decimals = 18;
    uint256 public totalSupply;

    mapping(address account => uint256) public balanceOf;
    mapping(address owner => mapping(address spender => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    /// `account` holds `balance`, less than the `needed` amount it tried to send.
    error BalanceTooLow(address account, uint256 balance, uint256 needed);
    /// `spender` may move `allowed` of `owner`'s tokens, less than `needed`.
    error AllowanceTooLow(address owner, address spender, uint256 allowed, uint256 needed);
    /// Tokens sent to, or an allowance given to, the zero address would be lost.
    error ZeroAddress();

    constructor(string memory tokenName, string memory tokenSymbol, uint256 supply) {
        name = tokenName;
        symbol = tokenSymbol;
        totalSupply = supply;
        balanceOf[msg.sender] = supply;
        // EIP-20: a contract that creates tokens should emit Transfer from the zero address.
        emit Transfer(address(0), msg.sender, supply);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _send(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        if (spender == address(0)) revert ZeroAddress();
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        // The largest allowance stands for "unlimited": it is not spent, which saves a storage write.
        if (allowed != type(uint256).max) {
            if (allowed < value) revert AllowanceTooLow(from, msg.sender, allowed, value);
            unchecked {
                allowance[from][msg.sender] = allowed - value;
            }
        }
        _send(from, to, value);
        return true;
    }

    function _send(address from, address to, uint256 value) private {
        if (to == address(0)) revert ZeroAddress();
        uint256 balance = balanceOf[from];
        if (balance < value) revert BalanceTooLow(from, balance, value);
        // Cannot overflow: the sum of all balances is totalSupply, a uint256.
        unchecked {
            balanceOf[from] = balance - value;
            balanceOf[to] += value;
        }
        emit Transfer(from, to, value);
    }
}
