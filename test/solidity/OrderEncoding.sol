// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {OrderCodec} from "../../contracts/libraries/OrderCodec.sol";
import {AppOrder, DatasetOrder, OrderSignatures, RequestOrder, WorkerpoolOrder} from "../../contracts/types/Orders.sol";

/// @dev Test-side encoder for {OrderCodec}: every field present (all mask bits set), no dataset,
/// no signatures (the handler presigns). The SDK's encoder leaves zero fields out instead.
library OrderEncoding {
    function encode(
        AppOrder memory a,
        WorkerpoolOrder memory w,
        RequestOrder memory r
    ) internal pure returns (bytes memory) {
        bytes memory app = abi.encodePacked(
            uint16(0xff),
            a.app,
            uint96(a.price),
            uint64(a.volume),
            a.tag,
            a.datasetRestrict,
            a.workerpoolRestrict,
            a.requesterRestrict,
            a.salt
        );
        bytes memory pool = abi.encodePacked(
            uint16(0x3ff),
            w.workerpool,
            uint96(w.price),
            uint64(w.volume),
            w.tag,
            uint8(w.category),
            uint8(w.trust),
            w.appRestrict,
            w.datasetRestrict,
            w.requesterRestrict,
            w.salt
        );
        bytes memory request = abi.encodePacked(
            abi.encodePacked(uint16(0x3fff), r.app, uint96(r.appMaxPrice), r.dataset, uint96(r.datasetMaxPrice)),
            abi.encodePacked(r.workerpool, uint96(r.workerpoolMaxPrice), r.requester, r.beneficiary, uint64(r.volume)),
            abi.encodePacked(r.tag, uint8(r.category), uint8(r.trust), r.params, r.salt)
        );
        // dataset mask 0 (none), then four empty signatures.
        return abi.encodePacked(app, uint16(0), pool, request, uint64(0));
    }
}

/// @dev Exposes {OrderCodec-decode}, which reads calldata, to tests (call it as `this.decode(bytes)`).
abstract contract OrderCodecHarness {
    function decode(
        bytes calldata data
    )
        external
        pure
        returns (
            AppOrder memory,
            DatasetOrder memory,
            WorkerpoolOrder memory,
            RequestOrder memory,
            OrderSignatures memory,
            bool
        )
    {
        return OrderCodec.decode(data);
    }
}
