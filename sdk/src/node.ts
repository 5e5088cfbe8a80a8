// The Node entry of @sunpool/sdk ("@sunpool/sdk/node"): files, the keystore on disk, the
// configuration, the embedded IPFS node (its stack loads when one is created), result CIDs
// without a node, and the worker API over node:http. Browser bundles import "@sunpool/sdk" only.
export { CONFIG_FILE, DEFAULTS, findDeployment, loadSettings, writeConfigFile } from "./node/config.js";
export type { ConfigFile, Settings, SettingsOverrides } from "./node/config.js";
export { readResultFolder, sha256File, writeResultFolder } from "./node/files.js";
export { createIpfsNode, createKuboReader } from "./node/ipfs.js";
export { downloadContent, PACKED_FILES_TYPE, uploadResult } from "./node/content.js";
export { resultCid } from "./node/cid.js";
export { createNodeWorkerApiClient } from "./node/workerHttp.js";
export type { CreateNodeWorkerApiClientParameters, WorkerHttpClient, WorkerHttpRequest } from "./node/workerHttp.js";
export { loadRequest, saveRequest } from "./node/requests.js";
export type { CreateIpfsNodeParameters, IpfsNode } from "./node/ipfs.js";
export { keystoreAddress, readKeystore, writeFileDurably, writeKeystore } from "./node/keystore.js";
export { readConfigJson, readKeystorePassword, resolveServicePaths, validateConfig } from "./node/service.js";
export type { ConfigSchema, ServiceIdentity, ServicePaths } from "./node/service.js";
export type { WriteKeystoreParameters } from "./node/keystore.js";
