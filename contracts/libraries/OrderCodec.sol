// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IOrderManagement} from "../interfaces/IOrderManagement.sol";
import {AppOrder, DatasetOrder, OrderSignatures, RequestOrder, WorkerpoolOrder} from "../types/Orders.sol";

/**
 * @title OrderCodec
 * @notice Decodes the compact calldata of {IOrderManagement-matchOrders}: the four orders and their
 * signatures with zero fields left out, about 40 % of the ABI encoding of the same structs.
 *
 * Layout, big-endian, no padding (docs/protocol.md has the table; the SDK's encoder mirrors it):
 *   appOrder  datasetOrder  workerpoolOrder  requestOrder  sigApp  sigDataset  sigWorkerpool  sigRequest
 * Each order is a uint16 mask, bit `i` set when field `i` (in EIP-712 type order) is non-zero,
 * followed by the non-zero fields only, each at its width: bytes32 32, address 20, prices 12
 * (uint96), volumes 8 (uint64), category and trust 1. A dataset order with mask 0 means "no
 * dataset". Each signature is a uint16 length followed by its bytes (length 0: none).
 *
 * A mask bit beyond the order's fields, a read past the end, or trailing bytes revert with
 * {IOrderManagement-MatchMalformedInput}. Signatures cover the EIP-712 struct hashes, not this
 * encoding, so the encoding needs no canonical form.
 */
library OrderCodec {
    uint256 private constant _ID = 32;
    uint256 private constant _ADDRESS = 20;
    uint256 private constant _PRICE = 12;
    uint256 private constant _VOLUME = 8;
    uint256 private constant _SMALL = 1;

    /// @dev Decodes everything `matchOrders` takes; `hasDataset` is false when the dataset mask is 0.
    function decode(
        bytes calldata data
    )
        internal
        pure
        returns (
            AppOrder memory app,
            DatasetOrder memory dataset,
            WorkerpoolOrder memory workerpool,
            RequestOrder memory request,
            OrderSignatures memory signatures,
            bool hasDataset
        )
    {
        uint256 offset;
        (app, offset) = _decodeApp(data, 0);
        (dataset, hasDataset, offset) = _decodeDataset(data, offset);
        (workerpool, offset) = _decodeWorkerpool(data, offset);
        (request, offset) = _decodeRequest(data, offset);
        (signatures.app, offset) = _signature(data, offset);
        (signatures.dataset, offset) = _signature(data, offset);
        (signatures.workerpool, offset) = _signature(data, offset);
        (signatures.request, offset) = _signature(data, offset);
        if (offset != data.length) revert IOrderManagement.MatchMalformedInput(offset);
    }

    function _decodeApp(bytes calldata data, uint256 offset) private pure returns (AppOrder memory o, uint256) {
        uint256 mask;
        (mask, offset) = _mask(data, offset, 8);
        uint256 v;
        (v, offset) = _field(data, offset, mask, 0, _ID);
        o.app = bytes32(v);
        (o.price, offset) = _field(data, offset, mask, 1, _PRICE);
        (o.volume, offset) = _field(data, offset, mask, 2, _VOLUME);
        (v, offset) = _field(data, offset, mask, 3, _ID);
        o.tag = bytes32(v);
        (v, offset) = _field(data, offset, mask, 4, _ID);
        o.datasetRestrict = bytes32(v);
        (v, offset) = _field(data, offset, mask, 5, _ID);
        o.workerpoolRestrict = bytes32(v);
        (v, offset) = _field(data, offset, mask, 6, _ADDRESS);
        o.requesterRestrict = address(uint160(v));
        (v, offset) = _field(data, offset, mask, 7, _ID);
        o.salt = bytes32(v);
        return (o, offset);
    }

    function _decodeDataset(
        bytes calldata data,
        uint256 offset
    ) private pure returns (DatasetOrder memory o, bool present, uint256) {
        uint256 mask;
        (mask, offset) = _mask(data, offset, 8);
        uint256 v;
        (v, offset) = _field(data, offset, mask, 0, _ID);
        o.dataset = bytes32(v);
        (o.price, offset) = _field(data, offset, mask, 1, _PRICE);
        (o.volume, offset) = _field(data, offset, mask, 2, _VOLUME);
        (v, offset) = _field(data, offset, mask, 3, _ID);
        o.tag = bytes32(v);
        (v, offset) = _field(data, offset, mask, 4, _ID);
        o.appRestrict = bytes32(v);
        (v, offset) = _field(data, offset, mask, 5, _ID);
        o.workerpoolRestrict = bytes32(v);
        (v, offset) = _field(data, offset, mask, 6, _ADDRESS);
        o.requesterRestrict = address(uint160(v));
        (v, offset) = _field(data, offset, mask, 7, _ID);
        o.salt = bytes32(v);
        return (o, mask != 0, offset);
    }

    function _decodeWorkerpool(
        bytes calldata data,
        uint256 offset
    ) private pure returns (WorkerpoolOrder memory o, uint256) {
        uint256 mask;
        (mask, offset) = _mask(data, offset, 10);
        uint256 v;
        (v, offset) = _field(data, offset, mask, 0, _ID);
        o.workerpool = bytes32(v);
        (o.price, offset) = _field(data, offset, mask, 1, _PRICE);
        (o.volume, offset) = _field(data, offset, mask, 2, _VOLUME);
        (v, offset) = _field(data, offset, mask, 3, _ID);
        o.tag = bytes32(v);
        (o.category, offset) = _field(data, offset, mask, 4, _SMALL);
        (o.trust, offset) = _field(data, offset, mask, 5, _SMALL);
        (v, offset) = _field(data, offset, mask, 6, _ID);
        o.appRestrict = bytes32(v);
        (v, offset) = _field(data, offset, mask, 7, _ID);
        o.datasetRestrict = bytes32(v);
        (v, offset) = _field(data, offset, mask, 8, _ADDRESS);
        o.requesterRestrict = address(uint160(v));
        (v, offset) = _field(data, offset, mask, 9, _ID);
        o.salt = bytes32(v);
        return (o, offset);
    }

    function _decodeRequest(bytes calldata data, uint256 offset) private pure returns (RequestOrder memory o, uint256) {
        uint256 mask;
        (mask, offset) = _mask(data, offset, 14);
        uint256 v;
        (v, offset) = _field(data, offset, mask, 0, _ID);
        o.app = bytes32(v);
        (o.appMaxPrice, offset) = _field(data, offset, mask, 1, _PRICE);
        (v, offset) = _field(data, offset, mask, 2, _ID);
        o.dataset = bytes32(v);
        (o.datasetMaxPrice, offset) = _field(data, offset, mask, 3, _PRICE);
        (v, offset) = _field(data, offset, mask, 4, _ID);
        o.workerpool = bytes32(v);
        (o.workerpoolMaxPrice, offset) = _field(data, offset, mask, 5, _PRICE);
        (v, offset) = _field(data, offset, mask, 6, _ADDRESS);
        o.requester = address(uint160(v));
        (v, offset) = _field(data, offset, mask, 7, _ADDRESS);
        o.beneficiary = address(uint160(v));
        (o.volume, offset) = _field(data, offset, mask, 8, _VOLUME);
        (v, offset) = _field(data, offset, mask, 9, _ID);
        o.tag = bytes32(v);
        (o.category, offset) = _field(data, offset, mask, 10, _SMALL);
        (o.trust, offset) = _field(data, offset, mask, 11, _SMALL);
        (v, offset) = _field(data, offset, mask, 12, _ID);
        o.params = bytes32(v);
        (v, offset) = _field(data, offset, mask, 13, _ID);
        o.salt = bytes32(v);
        return (o, offset);
    }

    /// @dev Reads an order's field mask and rejects bits beyond its `fields`.
    function _mask(bytes calldata data, uint256 offset, uint256 fields) private pure returns (uint256 mask, uint256) {
        (mask, offset) = _read(data, offset, 2);
        if (mask >> fields != 0) revert IOrderManagement.MatchMalformedInput(offset - 2);
        return (mask, offset);
    }

    /// @dev Field `bit` of an order: read at `width` bytes if its mask bit is set, zero otherwise.
    function _field(
        bytes calldata data,
        uint256 offset,
        uint256 mask,
        uint256 bit,
        uint256 width
    ) private pure returns (uint256 value, uint256) {
        if ((mask >> bit) & 1 == 0) return (0, offset);
        return _read(data, offset, width);
    }

    /// @dev A uint16-length-prefixed signature.
    function _signature(bytes calldata data, uint256 offset) private pure returns (bytes memory signature, uint256) {
        uint256 length;
        (length, offset) = _read(data, offset, 2);
        uint256 end = offset + length;
        if (end > data.length) revert IOrderManagement.MatchMalformedInput(offset);
        return (data[offset:end], end);
    }

    /// @dev Big-endian unsigned integer of `width` (1..32) bytes at `offset`.
    function _read(
        bytes calldata data,
        uint256 offset,
        uint256 width
    ) private pure returns (uint256 value, uint256 next) {
        next = offset + width;
        if (next > data.length) revert IOrderManagement.MatchMalformedInput(offset);
        // bytes32(slice) pads a shorter slice on the right; the shift brings it back down.
        value = uint256(bytes32(data[offset:next])) >> (8 * (32 - width));
    }
}
