// Issue 17: the leader lease of scheduler replicas on one PostgreSQL database (scheduler/src/leader).
// Always on PostgreSQL (the private server of scripts/postgres.sh), each test in its own schema.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { pino } from "pino";

import { fencedStore } from "../../../scheduler/src/leader/fencedStore.js";
import { LeaderLease, NotLeaderError, type Role } from "../../../scheduler/src/leader/lease.js";
import { openStore, type Store } from "../../../scheduler/src/store/store.js";
import { postgresSchemaUrl } from "../../helpers/postgres.js";
import { startTcpProxy, type TcpProxy } from "../../helpers/tcpProxy.js";
import { until } from "../../helpers/wait.js";

const log = pino({ level: "silent" });

describe("scheduler: the leader lease on PostgreSQL (issue 17)", function () {
  this.timeout(60_000);
  let url: string;
  let db: Store;
  const leases: LeaderLease[] = [];
  const proxies: TcpProxy[] = [];

  beforeEach(async function () {
    url = await postgresSchemaUrl(mkdtempSync(join(tmpdir(), "sunpool-lease-")));
    db = await openStore({ postgres: url });
  });

  afterEach(async function () {
    for (const proxy of proxies.splice(0)) await proxy.close();
    for (const lease of leases.splice(0)) await lease.stop();
    await db.close();
  });

  function lease(replica: string, through = url): LeaderLease {
    const made = new LeaderLease({ url: through, replica, advertiseUrl: `http://${replica}.example:7300`, log });
    leases.push(made);
    return made;
  }

  const terms = () =>
    db.all<{
      epoch: number;
      replica: string;
      acquired_at: number;
      previous_renewed_at: number | null;
      previous_expires_at: number | null;
    }>("SELECT epoch, replica, acquired_at, previous_renewed_at, previous_expires_at FROM leader_terms ORDER BY epoch");

  it("one replica leads; the other follows, knows where to forward, and takes over at once on a clean stop", async function () {
    const a = lease("a");
    const b = lease("b");
    await a.start();
    await b.start();
    expect([a.role, b.role]).to.deep.equal(["leader", "follower"]);
    expect(b.leader).to.include({ replica: "a", url: "http://a.example:7300", epoch: 1 });
    // Renewals keep it with a: over three leases, b never takes it.
    const roles: Role[] = [];
    b.onChange((role) => roles.push(role));
    const firstRenewal = a.leader!.renewedAt;
    await until("three leases of renewals", () => (a.leader!.renewedAt - firstRenewal >= 3 * a.leaseMs ? true : undefined));
    expect(roles).to.deep.equal([]);
    expect(a.isLeader()).to.equal(true);

    await a.stop();
    await until("b to take over", () => (b.role === "leader" ? true : undefined));
    expect(b.epoch).to.equal(2);
    expect(a.isLeader()).to.equal(false);
    const [first, second] = await terms();
    expect([first?.replica, second?.replica]).to.deep.equal(["a", "b"]);
    // Released, not waited out: a's lease was ended before its term (renewal + lease) was up.
    expect(second!.previous_expires_at! - second!.previous_renewed_at!).to.be.below(a.leaseMs);
    expect(second!.acquired_at).to.be.at.least(second!.previous_expires_at!);
  });

  it("a leader cut off from the database stops leading before the other replica takes the lease", async function () {
    const server = new URL(url);
    const proxy = await startTcpProxy(server.hostname, Number(server.port));
    proxies.push(proxy);
    const proxied = new URL(url);
    proxied.port = proxy.port.toString();
    const a = lease("a", proxied.toString());
    const b = lease("b");
    await a.start();
    await b.start();
    expect([a.role, b.role]).to.deep.equal(["leader", "follower"]);
    let steppedDownAt: number | undefined;
    a.onChange((role) => {
      if (role === "follower") steppedDownAt = Date.now();
    });

    proxy.cut();
    await until("b to take over", () => (b.role === "leader" ? true : undefined));
    const taken = (await terms()).at(-1)!;
    expect(taken.replica).to.equal("b");
    // Same machine, so one clock: a stopped before the database let b have the lease.
    expect(steppedDownAt, "a never stepped down").to.not.equal(undefined);
    expect(steppedDownAt!).to.be.below(taken.acquired_at);
    expect(taken.acquired_at).to.be.at.least(taken.previous_expires_at!);
    console.log(
      `[lease] partition: a stepped down ${(taken.acquired_at - steppedDownAt!).toString()} ms before b took the lease, ` +
        `${(taken.acquired_at - taken.previous_expires_at!).toString()} ms after it expired`,
    );
  });

  it("refuses a deposed leader's write (the fence) and steps it down", async function () {
    const a = lease("a");
    await a.start();
    const fenced = fencedStore(db, a);
    await fenced.run("INSERT INTO meta (key, value) VALUES ('fenced', 'a')");
    // Another replica takes the row behind a's back (as after a pause longer than the lease).
    await db.run("UPDATE scheduler_leader SET holder = 'b/1', replica = 'b', epoch = epoch + 1");
    const refused = await fenced.run("UPDATE meta SET value = 'late' WHERE key = 'fenced'").catch((error: unknown) => error);
    expect(refused).to.be.instanceOf(NotLeaderError);
    const refusedInTransaction = await fenced
      .transaction(() => fenced.run("UPDATE meta SET value = 'late' WHERE key = 'fenced'"))
      .catch((error: unknown) => error);
    expect(refusedInTransaction).to.be.instanceOf(NotLeaderError);
    expect(a.role).to.equal("follower");
    expect((await db.get<{ value: string }>("SELECT value FROM meta WHERE key = 'fenced'"))?.value).to.equal("a");
  });
});
