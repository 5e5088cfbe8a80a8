// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IEscrow} from "../interfaces/IEscrow.sol";
import {Account} from "../types/Tasks.sol";

/**
 * @title Escrow
 * @notice The hub's ledger (see {IEscrow}). Internal functions move value between balance and
 * locked amounts of accounts; each emits the event that records the movement.
 */
abstract contract Escrow is IEscrow, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    IERC20 private immutable _TOKEN;

    mapping(address account => Account entry) internal _accounts;

    /// @param token_ The ERC20 this escrow holds.
    constructor(IERC20 token_) {
        _TOKEN = token_;
    }

    /// @inheritdoc IEscrow
    function deposit(uint256 amount) external nonReentrant {
        _deposit(msg.sender, amount);
    }

    /// @inheritdoc IEscrow
    function depositFor(address account, uint256 amount) external nonReentrant {
        _deposit(account, amount);
    }

    /// @inheritdoc IEscrow
    function depositWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external nonReentrant {
        // A permit whose signature was front-run reverts; the deposit must still go through then.
        try IERC20Permit(address(_TOKEN)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _deposit(msg.sender, amount);
    }

    /// @inheritdoc IEscrow
    function withdraw(address to, uint256 amount) external nonReentrant {
        if (to == address(0)) revert EscrowInvalidAccount();
        if (amount == 0) revert EscrowZeroAmount();
        Account storage account = _accounts[msg.sender];
        uint256 balance = account.balance;
        if (balance < amount) revert EscrowInsufficientBalance(msg.sender, balance, amount);
        // Cannot underflow: checked above. Effects before the transfer (checks-effects-interactions).
        account.balance = uint112(balance - amount);
        emit Withdrawn(msg.sender, to, amount);
        _TOKEN.safeTransfer(to, amount);
    }

    /// @inheritdoc IEscrow
    function token() external view returns (IERC20) {
        return _TOKEN;
    }

    /// @inheritdoc IEscrow
    function balanceOf(address account) external view returns (uint256) {
        return _accounts[account].balance;
    }

    /// @inheritdoc IEscrow
    function lockedOf(address account) external view returns (uint256) {
        return _accounts[account].locked;
    }

    /// @dev Pulls `amount` from the caller and credits what actually arrived to `account`.
    function _deposit(address account, uint256 amount) private {
        if (account == address(0)) revert EscrowInvalidAccount();
        if (amount == 0) revert EscrowZeroAmount();
        uint256 before = _TOKEN.balanceOf(address(this));
        _TOKEN.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = _TOKEN.balanceOf(address(this)) - before;
        _addToBalance(account, received);
        emit Deposited(account, msg.sender, received);
    }

    /// @dev Moves `amount` from `account`'s balance to its locked amount.
    function _lock(address account, uint256 amount, bytes32 ref) internal {
        if (amount == 0) return;
        Account storage entry = _accounts[account];
        uint256 balance = entry.balance;
        if (balance < amount) revert EscrowInsufficientBalance(account, balance, amount);
        // Cannot overflow: balance + locked <= 2^112 - 1 is kept by {_addToBalance}, and this moves
        // value between the two.
        entry.balance = uint112(balance - amount);
        entry.locked += uint112(amount);
        emit Locked(account, ref, amount);
    }

    /// @dev Moves `amount` from `account`'s locked amount back to its balance.
    function _unlock(address account, uint256 amount, bytes32 ref) internal {
        if (amount == 0) return;
        Account storage entry = _accounts[account];
        entry.locked -= uint112(amount);
        entry.balance += uint112(amount);
        emit Unlocked(account, ref, amount);
    }

    /// @dev Takes `amount` out of `account`'s locked amount into the settlement of `ref`.
    function _debitLocked(address account, uint256 amount, bytes32 ref) internal {
        if (amount == 0) return;
        _accounts[account].locked -= uint112(amount);
        emit Debited(account, ref, amount);
    }

    /// @dev Adds `amount` from the settlement of `ref` to `account`'s balance.
    function _credit(address account, uint256 amount, bytes32 ref) internal {
        if (amount == 0) return;
        _addToBalance(account, amount);
        emit Credited(account, ref, amount);
    }

    /**
     * @dev The one place value enters an account's balance. Each account keeps balance + locked
     * below 2^112 so that {_lock} and {_unlock} cannot overflow; an addition past that bound fails
     * the deposit or settlement rather than wrapping.
     */
    function _addToBalance(address account, uint256 amount) private {
        Account storage entry = _accounts[account];
        uint256 balance = uint256(entry.balance) + amount;
        if (balance + entry.locked > type(uint112).max) revert EscrowAmountTooLarge(amount);
        entry.balance = uint112(balance);
    }
}
