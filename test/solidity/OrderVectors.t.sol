// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";

import {OrderHashing} from "../../contracts/libraries/OrderHashing.sol";
import {AppOrder, DatasetOrder, OrderSignatures, RequestOrder, WorkerpoolOrder} from "../../contracts/types/Orders.sol";
import {OrderCodecHarness} from "./OrderEncoding.sol";

/// @dev The contracts' EIP-712 hashing against the vectors that the TypeScript side also checks.
contract OrderVectorsTest is Test, OrderCodecHarness {
    string private _json;

    function setUp() public {
        _json = vm.readFile("test/vectors/orders.json");
    }

    function test_domainSeparator_matchesVector() public view {
        assertEq(_domainSeparator(), vm.parseJsonBytes32(_json, ".domainSeparator"));
    }

    function test_appOrder_matchesVector() public view {
        AppOrder memory order = AppOrder({
            app: _b32(".AppOrder.value.app"),
            price: _uint(".AppOrder.value.price"),
            volume: _uint(".AppOrder.value.volume"),
            tag: _b32(".AppOrder.value.tag"),
            datasetRestrict: _b32(".AppOrder.value.datasetRestrict"),
            workerpoolRestrict: _b32(".AppOrder.value.workerpoolRestrict"),
            requesterRestrict: _addr(".AppOrder.value.requesterRestrict"),
            salt: _b32(".AppOrder.value.salt")
        });
        _check(".AppOrder", this.hashApp(order));
    }

    function test_datasetOrder_matchesVector() public view {
        DatasetOrder memory order = DatasetOrder({
            dataset: _b32(".DatasetOrder.value.dataset"),
            price: _uint(".DatasetOrder.value.price"),
            volume: _uint(".DatasetOrder.value.volume"),
            tag: _b32(".DatasetOrder.value.tag"),
            appRestrict: _b32(".DatasetOrder.value.appRestrict"),
            workerpoolRestrict: _b32(".DatasetOrder.value.workerpoolRestrict"),
            requesterRestrict: _addr(".DatasetOrder.value.requesterRestrict"),
            salt: _b32(".DatasetOrder.value.salt")
        });
        _check(".DatasetOrder", this.hashDataset(order));
    }

    function test_workerpoolOrder_matchesVector() public view {
        WorkerpoolOrder memory order = WorkerpoolOrder({
            workerpool: _b32(".WorkerpoolOrder.value.workerpool"),
            price: _uint(".WorkerpoolOrder.value.price"),
            volume: _uint(".WorkerpoolOrder.value.volume"),
            tag: _b32(".WorkerpoolOrder.value.tag"),
            category: _uint(".WorkerpoolOrder.value.category"),
            trust: _uint(".WorkerpoolOrder.value.trust"),
            appRestrict: _b32(".WorkerpoolOrder.value.appRestrict"),
            datasetRestrict: _b32(".WorkerpoolOrder.value.datasetRestrict"),
            requesterRestrict: _addr(".WorkerpoolOrder.value.requesterRestrict"),
            salt: _b32(".WorkerpoolOrder.value.salt")
        });
        _check(".WorkerpoolOrder", this.hashWorkerpool(order));
    }

    function test_requestOrder_matchesVector() public view {
        RequestOrder memory order = RequestOrder({
            app: _b32(".RequestOrder.value.app"),
            appMaxPrice: _uint(".RequestOrder.value.appMaxPrice"),
            dataset: _b32(".RequestOrder.value.dataset"),
            datasetMaxPrice: _uint(".RequestOrder.value.datasetMaxPrice"),
            workerpool: _b32(".RequestOrder.value.workerpool"),
            workerpoolMaxPrice: _uint(".RequestOrder.value.workerpoolMaxPrice"),
            requester: _addr(".RequestOrder.value.requester"),
            beneficiary: _addr(".RequestOrder.value.beneficiary"),
            volume: _uint(".RequestOrder.value.volume"),
            tag: _b32(".RequestOrder.value.tag"),
            category: _uint(".RequestOrder.value.category"),
            trust: _uint(".RequestOrder.value.trust"),
            params: _b32(".RequestOrder.value.params"),
            salt: _b32(".RequestOrder.value.salt")
        });
        _check(".RequestOrder", this.hashRequest(order));
    }

    function test_taskAuthorization_matchesVector() public view {
        bytes32 structHash = OrderHashing.hashAuthorization(
            _b32(".TaskAuthorization.value.taskId"),
            _addr(".TaskAuthorization.value.worker")
        );
        _check(".TaskAuthorization", structHash);
    }

    /// @dev The compact matchOrders encoding made by the TypeScript encoder decodes to the vector orders.
    function test_matchOrdersEncoding_decodesToVectors() public view {
        (
            AppOrder memory app,
            DatasetOrder memory dataset,
            WorkerpoolOrder memory workerpool,
            RequestOrder memory request,
            OrderSignatures memory signatures,
            bool hasDataset
        ) = this.decode(vm.parseJsonBytes(_json, ".matchOrders.encoded"));
        assertTrue(hasDataset);
        assertEq(OrderHashing.hash(app), _b32(".AppOrder.structHash"));
        assertEq(OrderHashing.hash(dataset), _b32(".DatasetOrder.structHash"));
        assertEq(OrderHashing.hash(workerpool), _b32(".WorkerpoolOrder.structHash"));
        assertEq(OrderHashing.hash(request), _b32(".RequestOrder.structHash"));
        assertEq(signatures.app, vm.parseJsonBytes(_json, ".matchOrders.signatures.app"));
        assertEq(signatures.dataset.length, 0);
        assertEq(signatures.workerpool, vm.parseJsonBytes(_json, ".matchOrders.signatures.workerpool"));
        assertEq(signatures.request, vm.parseJsonBytes(_json, ".matchOrders.signatures.request"));
    }

    /// @dev Every field of the TypeScript order table, set alone at its full packed width
    /// (test/helpers/orderVectors.ts): the contracts' decoder must read it into the same field, at
    /// the same width, and the contracts' typehashes must hash it as the table does.
    function test_oneFieldVectors_decodeIntoTheirField() public view {
        uint256 count = vm.parseJsonUint(_json, ".oneFieldCount");
        assertGt(count, 0);
        for (uint256 i = 0; i < count; ++i) {
            string memory key = string.concat(".oneField[", vm.toString(i), "]");
            (
                AppOrder memory app,
                DatasetOrder memory dataset,
                WorkerpoolOrder memory workerpool,
                RequestOrder memory request,
                ,

            ) = this.decode(vm.parseJsonBytes(_json, string.concat(key, ".encoded")));
            string memory field = string.concat(
                vm.parseJsonString(_json, string.concat(key, ".kind")),
                ".",
                vm.parseJsonString(_json, string.concat(key, ".field"))
            );
            assertEq(OrderHashing.hash(app), _b32(string.concat(key, ".structHashes.app")), field);
            assertEq(OrderHashing.hash(dataset), _b32(string.concat(key, ".structHashes.dataset")), field);
            assertEq(OrderHashing.hash(workerpool), _b32(string.concat(key, ".structHashes.workerpool")), field);
            assertEq(OrderHashing.hash(request), _b32(string.concat(key, ".structHashes.request")), field);
        }
    }

    // Hashing memory structs built from the vectors, through external calls like the hub's views.
    function hashApp(AppOrder memory order) external pure returns (bytes32) {
        return OrderHashing.hash(order);
    }

    function hashDataset(DatasetOrder memory order) external pure returns (bytes32) {
        return OrderHashing.hash(order);
    }

    function hashWorkerpool(WorkerpoolOrder memory order) external pure returns (bytes32) {
        return OrderHashing.hash(order);
    }

    function hashRequest(RequestOrder memory order) external pure returns (bytes32) {
        return OrderHashing.hash(order);
    }

    function _check(string memory key, bytes32 structHash) private view {
        assertEq(structHash, vm.parseJsonBytes32(_json, string.concat(key, ".structHash")));
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", _domainSeparator(), structHash));
        assertEq(digest, vm.parseJsonBytes32(_json, string.concat(key, ".digest")));
    }

    function _domainSeparator() private view returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                    keccak256("Sunpool"),
                    keccak256("1"),
                    _uint(".domain.chainId"),
                    _addr(".domain.verifyingContract")
                )
            );
    }

    function _b32(string memory key) private view returns (bytes32) {
        return vm.parseJsonBytes32(_json, key);
    }

    function _uint(string memory key) private view returns (uint256) {
        return vm.parseUint(vm.parseJsonString(_json, key));
    }

    function _addr(string memory key) private view returns (address) {
        return vm.parseJsonAddress(_json, key);
    }
}
