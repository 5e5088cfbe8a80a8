// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/**
 * @title IEscrow
 * @notice The hub's token ledger. Every account has a spendable balance and a locked amount
 * (payments in flight and stakes). Value moves between accounts inside the ledger; tokens move
 * only on deposit and withdraw.
 *
 * Invariant (escrow conservation): `token.balanceOf(hub) == Σ (balance + locked)` over all
 * accounts, for any token that does not rebase or charge transfer fees after deposit.
 */
interface IEscrow {
    /// @notice Thrown when a spendable balance is smaller than needed.
    error EscrowInsufficientBalance(address account, uint256 balance, uint256 needed);
    /// @notice Thrown when an amount is zero.
    error EscrowZeroAmount();
    /// @notice Thrown when an account's balance plus locked amount would exceed the ledger's 112-bit range.
    error EscrowAmountTooLarge(uint256 amount);
    /// @notice Thrown when the recipient of a withdrawal or deposit is the zero address.
    error EscrowInvalidAccount();

    /// @notice Tokens entered the escrow from `from` and were credited to `account`.
    event Deposited(address indexed account, address indexed from, uint256 amount);
    /// @notice Tokens left the escrow from `account`'s balance to `to`.
    event Withdrawn(address indexed account, address indexed to, uint256 amount);
    /// @notice `amount` moved from `account`'s balance to its locked amount, for `ref` (deal or task).
    event Locked(address indexed account, bytes32 indexed ref, uint256 amount);
    /// @notice `amount` moved from `account`'s locked amount back to its balance.
    event Unlocked(address indexed account, bytes32 indexed ref, uint256 amount);
    /**
     * @notice `amount` left `account`'s locked amount to settle `ref` (a task): a requester's
     * payment, a scheduler's or a worker's seized stake. For every `ref`, the `Debited` amounts
     * equal the `Credited` amounts of the same transaction (double entry).
     */
    event Debited(address indexed account, bytes32 indexed ref, uint256 amount);
    /// @notice `amount` from the settlement of `ref` was added to `account`'s balance.
    event Credited(address indexed account, bytes32 indexed ref, uint256 amount);

    /**
     * @notice Deposits `amount` tokens from the caller into the caller's account.
     * @dev Credits what the escrow actually received, so fee-on-transfer tokens cannot inflate it.
     * @param amount Tokens to pull (the caller must have approved the hub).
     */
    function deposit(uint256 amount) external;

    /**
     * @notice Deposits `amount` tokens from the caller into `account` (e.g. a worker's stake).
     * @param account Credited account.
     * @param amount  Tokens to pull from the caller.
     */
    function depositFor(address account, uint256 amount) external;

    /**
     * @notice Approves through EIP-2612 permit and deposits, in one transaction.
     * @dev A failed permit is ignored when the allowance already suffices, so a front-run of the
     * permit (its signature is public in the mempool) cannot block the deposit.
     * @param amount   Tokens to deposit; also the permitted amount.
     * @param deadline Permit deadline.
     * @param v        Permit signature v.
     * @param r        Permit signature r.
     * @param s        Permit signature s.
     */
    function depositWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;

    /**
     * @notice Withdraws `amount` tokens from the caller's spendable balance to `to`.
     * @param to     Receiver of the tokens.
     * @param amount Amount.
     */
    function withdraw(address to, uint256 amount) external;

    /// @notice The token held in escrow.
    function token() external view returns (IERC20);

    /// @notice Spendable balance of `account`.
    function balanceOf(address account) external view returns (uint256);

    /// @notice Locked amount of `account` (payments in flight and stakes).
    function lockedOf(address account) external view returns (uint256);
}
