// A TCP proxy between a client and a server, to cut the line as a network partition does: after
// `cut()` nothing passes either way and new connections are accepted but never answered, with no
// reset (the client sees silence, not an error, as across a broken network).
import { createServer, connect, type Server, type Socket } from "node:net";

export interface TcpProxy {
  /** The proxy's port on 127.0.0.1. */
  port: number;
  cut(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  let cut = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => undefined);
    if (cut) {
      client.pause();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
    client.on("data", (chunk: Buffer) => {
      if (!cut) upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!cut) client.write(chunk);
    });
    client.on("end", () => {
      if (!cut) upstream.end();
    });
    upstream.on("end", () => {
      if (!cut) client.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the TCP proxy has no port");
  return {
    port: address.port,
    cut() {
      cut = true;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The same proxy in a process of its own (`node test/helpers/tcpProxy.ts <host> <port>`: prints
 * its port; SIGUSR1 cuts the line), so that a busy test process does not slow the line it proxies.
 */
export async function startTcpProxyProcess(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const { spawn } = await import("node:child_process");
  const { createInterface } = await import("node:readline");
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, targetHost, targetPort.toString()], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", (line) => resolve(Number(line)));
    child.once("exit", (code) => reject(new Error(`the TCP proxy process exited (${String(code)})`)));
  });
  return {
    port,
    cut() {
      child.kill("SIGUSR1");
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    },
  };
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const proxy = await startTcpProxy(process.argv[2]!, Number(process.argv[3]));
  process.on("SIGUSR1", () => proxy.cut());
  console.log(proxy.port);
}
