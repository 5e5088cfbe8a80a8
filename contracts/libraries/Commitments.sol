// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/**
 * @title Commitments
 * @notice The hidden votes of replicated tasks and how one contribution is stored in one slot.
 *
 * A worker commits to `keccak256(abi.encode(taskId, resultDigest, worker, salt))`. The slot keeps
 * the top 224 bits of that hash, the worker's weight when it committed (bits 8..23; weights are at
 * most 1023) and the round it committed in (bits 0..7; a task has at most 8 contributions, so at
 * most 8 rounds). Once revealed, the slot holds the top 224 bits of `keccak256(abi.encode(digest))`
 * and the round byte `REVEALED`, so settlement can tell who revealed which result, and nobody can
 * reveal twice.
 */
library Commitments {
    /// @dev Round byte of a revealed contribution (real rounds stay below 9).
    uint256 internal constant REVEALED = 0xff;

    uint256 private constant _HASH_SHIFT = 24;

    /// @dev The commitment a worker sends: binds the digest to one task, one worker and a secret salt.
    function commitment(
        bytes32 taskId,
        bytes32 resultDigest,
        address worker,
        bytes32 salt
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(taskId, resultDigest, worker, salt));
    }

    /// @dev The stored form of a commitment made with `weight` in `round`.
    function pack(bytes32 commitment_, uint256 weight_, uint256 round_) internal pure returns (bytes32) {
        return bytes32(((uint256(commitment_) >> _HASH_SHIFT) << _HASH_SHIFT) | (weight_ << 8) | round_);
    }

    /// @dev The stored form of a contribution revealed as `resultDigest`.
    function revealed(bytes32 resultDigest) internal pure returns (bytes32) {
        return bytes32(((uint256(keccak256(abi.encode(resultDigest))) >> _HASH_SHIFT) << _HASH_SHIFT) | REVEALED);
    }

    /// @dev Whether `stored` holds `commitment_` (whatever its weight and round).
    function opens(bytes32 stored, bytes32 commitment_) internal pure returns (bool) {
        return uint256(stored) >> _HASH_SHIFT == uint256(commitment_) >> _HASH_SHIFT;
    }

    /// @dev Round byte of a stored contribution (`REVEALED` once revealed).
    function round(bytes32 stored) internal pure returns (uint256) {
        return uint8(uint256(stored));
    }

    /// @dev Weight a stored, unrevealed contribution was made with.
    function weight(bytes32 stored) internal pure returns (uint256) {
        return uint16(uint256(stored) >> 8);
    }
}
