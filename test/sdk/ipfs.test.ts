// The SDK's Helia node as a devnet uses it: every node on loopback, so every dial comes from the
// same host. libp2p refuses a host's sixth inbound connection within a second by default; on
// loopback (processes on this machine) the node does not, or the pin that dial was for waits its
// whole timeout for a peer that never connected.
import { expect } from "chai";

import { createIpfsNode, type IpfsNode } from "../../sdk/src/node/ipfs.js";

describe("sdk IPFS node on loopback", function () {
  this.timeout(120_000);
  const nodes: IpfsNode[] = [];

  after(async function () {
    for (const node of nodes) await node.stop().catch(() => undefined);
  });

  it("serves ten fresh peers dialing it at once (libp2p's per-host limit is five a second)", async function () {
    const provider = await createIpfsNode();
    nodes.push(provider);
    const cids = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        provider.addFiles([{ path: `part-${i.toString()}.txt`, content: new TextEncoder().encode(`part ${i.toString()}\n`) }]),
      ),
    );
    const readers = await Promise.all(cids.map(() => createIpfsNode()));
    nodes.push(...readers);
    // All ten dial at once: twice libp2p's default per-host limit within its one-second window.
    const failed = await Promise.all(readers.map((reader) => reader.connect(provider.multiaddrs())));
    expect(failed.flat()).to.deep.equal([]);
    // Generous for a loaded machine, far under the pool's pin timeout (60 s) a refused peer costs.
    const sizes = await Promise.all(
      readers.map((reader, i) => reader.pin(cids[i]!, { maxBytes: 1024, signal: AbortSignal.timeout(15_000) })),
    );
    expect(sizes.every((bytes) => bytes > 0)).to.equal(true);
  });
});
