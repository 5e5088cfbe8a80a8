// Result digests anyone can recompute, result encryption, the keystore on disk, the browser
// bundle of the core entry, and the public export list.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { build } from "esbuild";

import { KeystoreError } from "../../sdk/src/errors/input.js";
import { readResultFolder, writeResultFolder } from "../../sdk/src/node/files.js";
import { readKeystore, writeKeystore } from "../../sdk/src/node/keystore.js";
import { resultDigest, type ResultFile } from "../../sdk/src/results/digest.js";
import { decryptResult, encryptResult, generateResultKeyPair, packFiles, unpackFiles } from "../../sdk/src/results/encryption.js";
import { decodeTaskParams, encodeTaskParams } from "../../sdk/src/results/params.js";
import { expectRejection } from "./helpers/assertions.js";

const bytes = (text: string) => new TextEncoder().encode(text);
const FILES: ResultFile[] = [
  { path: "b.txt", content: bytes("second\n") },
  { path: "a/z.bin", content: new Uint8Array([0, 1, 2, 255]) },
  { path: "a.txt", content: bytes("") },
  { path: "Ü-utf8.txt", content: bytes("ü\n") },
];

describe("SDK: results, keys and packaging", function () {
  this.timeout(60_000);

  it("the result digest equals the documented coreutils pipeline over the written folder", async function () {
    const folder = mkdtempSync(join(tmpdir(), "sunpool-digest-"));
    await writeResultFolder(folder, FILES);
    const shell = execFileSync(
      "bash",
      [
        "-c",
        "cd \"$1\" && (find . -type f -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1",
        "_",
        folder,
      ],
      { encoding: "utf8" },
    ).trim();
    expect(resultDigest(FILES)).to.equal(`0x${shell}`);
    expect(resultDigest(await readResultFolder(folder))).to.equal(`0x${shell}`);
  });

  it("paths that could escape the output folder are refused", async function () {
    for (const path of ["../x", "/etc/passwd", "a//b", "a/./b", "a\\b", "line\nbreak"]) {
      expect(() => resultDigest([{ path, content: bytes("x") }]), path).to.throw(/Invalid result path/);
    }
    const folder = mkdtempSync(join(tmpdir(), "sunpool-escape-"));
    await expectRejection(
      writeResultFolder(folder, [{ path: "../evil", content: bytes("x") }]),
      Error,
      /Invalid result path: "\.\.\/evil"/,
    );
  });

  it("encryption round-trips and detects tampering", async function () {
    const key = generateResultKeyPair();
    const envelope = await encryptResult(FILES, key.publicKey);
    expect(await decryptResult(envelope, key.privateKey)).to.deep.equal(FILES);
    envelope[envelope.length - 1]! ^= 1;
    await expectRejection(decryptResult(envelope, key.privateKey), Error, /authentication failed/);
    expect(unpackFiles(packFiles(FILES))).to.deep.equal(FILES);
    expect(() => unpackFiles(packFiles(FILES).subarray(0, 20))).to.throw(/truncated/);
  });

  it("task params are checked against the order's digest", function () {
    const { text, digest } = encodeTaskParams({ args: ["a"], env: { B: "2", A: "1" } });
    expect(text).to.equal('{"args":["a"],"env":{"A":"1","B":"2"}}');
    expect(decodeTaskParams(text, digest)).to.deep.equal({ args: ["a"], env: { A: "1", B: "2" } });
    expect(() => decodeTaskParams(text.replace('"a"', '"b"'), digest)).to.throw(/the request order's params digest/);
    expect(() => encodeTaskParams({ env: { SUNPOOL_TASK_INDEX: "1" } })).to.throw(/not SUNPOOL_/);
  });

  it("the keystore round-trips, is private to its owner, and refuses wrong passwords and overwrites", async function () {
    const path = join(mkdtempSync(join(tmpdir(), "sunpool-keystore-")), "wallet", "keystore.json");
    const key = "0x" + "42".repeat(32);
    const { address } = await writeKeystore({ path, password: "correct horse", privateKey: key });
    expect(statSync(path).mode & 0o777).to.equal(0o600);
    expect(readFileSync(path, "utf8")).to.not.include("42".repeat(32));
    const wallet = await readKeystore(path, "correct horse");
    expect(wallet.address).to.equal(address);
    expect(wallet.privateKey).to.equal(key);
    await expectRejection(readKeystore(path, "wrong horse"), KeystoreError, /Wrong password for the keystore/);
    await expectRejection(
      writeKeystore({ path, password: "another one" }),
      KeystoreError,
      /A keystore already exists[\s\S]*--force/,
    );
    await expectRejection(writeKeystore({ path: path + "2", password: "short" }), KeystoreError, /too short/);
  });

  it("the core entry bundles for browsers without any Node built-in", async function () {
    const result = await build({
      entryPoints: [new URL("../../sdk/src/index.ts", import.meta.url).pathname],
      bundle: true,
      platform: "browser",
      format: "esm",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(
      inputs.filter(
        (input) => input.startsWith("node:") || /(^|\/)node_modules\/(helia|libp2p|@libp2p|commander|ora)\//.test(input),
      ),
    ).to.deep.equal([]);
    expect(inputs.some((input) => input.includes("sdk/src/actions/run.ts"))).to.equal(true);
    const code = result.outputFiles[0]!.text;
    expect(code).to.not.match(/require\(["'](fs|path|crypto|child_process|node:[a-z_]+)["']\)/);
    expect(code.length).to.be.below(1_500_000);
  });

  it("the public exports are the ones in the snapshot (update it when the API changes on purpose)", async function () {
    const core = Object.keys(await import("../../sdk/src/index.js")).sort();
    const node = Object.keys(await import("../../sdk/src/node.js")).sort();
    const snapshot = JSON.parse(readFileSync(new URL("./exports.snapshot.json", import.meta.url), "utf8")) as unknown;
    expect({ core, node }).to.deep.equal(snapshot);
  });
});
