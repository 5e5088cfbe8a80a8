// The Node entry of @sunpool/sdk ("@sunpool/sdk/node"): files, the keystore on disk, the
// configuration, and the embedded IPFS node. Browser bundles import "@sunpool/sdk" only.
export { CONFIG_FILE, DEFAULTS, findDeployment, loadSettings, writeConfigFile } from "./node/config.js";
export type { ConfigFile, Settings, SettingsOverrides } from "./node/config.js";
export { readResultFolder, sha256File, writeResultFolder } from "./node/files.js";
export { createIpfsNode, createKuboReader } from "./node/ipfs.js";
export { loadRequest, saveRequest } from "./node/requests.js";
export type { CreateIpfsNodeParameters, IpfsNode } from "./node/ipfs.js";
export { keystoreAddress, readKeystore, writeFileDurably, writeKeystore } from "./node/keystore.js";
export type { WriteKeystoreParameters } from "./node/keystore.js";
