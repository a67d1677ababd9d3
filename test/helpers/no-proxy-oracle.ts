// Run inside a network namespace of its own (`unshare --net`, loopback up): for each host of the
// table under each NO_PROXY value, whether kubectl sends its request through HTTPS_PROXY (a
// recording CONNECT proxy on loopback sees it) and whether the installer's proxyFor would. No
// packet can leave the namespace: a direct connection fails at once, a name lookup too.
// Usage: node no-proxy-oracle.js KUBECTL; prints one JSON array of {noProxy, server, kubectl, ours}.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { proxyFor } from "../../src/kube/proxy.js";
import { kubeconfigText } from "./kubeconfig.js";

const SERVERS = [
  "https://api.corp:6443",
  "https://corp:6443",
  "https://x.api.corp",
  "https://API.Corp:6443",
  "https://api.example.com:8443",
  "https://10.1.2.3:6443",
  "https://[2001:db8::5]:6443",
  "https://[::ffff:10.1.2.3]:6443",
  "https://localhost:6443",
  "https://127.0.0.5:6443",
  "https://[::1]:6443",
  "https://foo.localhost:6443",
];

const NO_PROXIES = [
  "",
  "*",
  "corp",
  ".corp",
  "*.corp",
  "api.corp:6443",
  "api.corp:443",
  "10.0.0.0/8",
  "10.1.2.3",
  "10.1.2.3:6443",
  "10.1.2.3:443",
  "2001:db8::/32",
  "2001:db8::5",
  "[2001:db8::5]:6443",
  "[2001:db8::5]",
  " .Corp , example.com",
  "example.com:8443",
  "2.3",
  "localhost",
  "*.example.com,10.1.2.0/24",
];

export interface OracleRow {
  readonly noProxy: string;
  readonly server: string;
  readonly kubectl: boolean;
  readonly ours: boolean;
}

/** A recording CONNECT proxy on loopback: every tunnel asked for is noted, and refused. */
async function recordingProxy(): Promise<{ url: string; connects: string[]; close(): void }> {
  const connects: string[] = [];
  const proxy = createServer((socket: Socket) => {
    socket.once("data", (b: Buffer) => {
      const target = /^CONNECT (\S+) /.exec(b.toString("latin1"))?.[1];
      if (target) connects.push(target);
      socket.end("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n");
    });
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as { port: number }).port}`,
    connects,
    close: () => proxy.close(),
  };
}

/** kubectl asked for the server's version through the environment's proxy, if it takes it. */
async function runKubectl(kubectl: string, dir: string, server: string, env: Record<string, string>): Promise<void> {
  const path = join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}`);
  writeFileSync(path, kubeconfigText({ server, "insecure-skip-tls-verify": true }, { token: "t" }));
  await new Promise<void>((resolve) => {
    const child = spawn(kubectl, ["--kubeconfig", path, "--request-timeout=5s", "get", "--raw", "/version"], {
      env: { PATH: process.env["PATH"] ?? "", HOME: dir, ...env },
      stdio: "ignore",
    });
    child.on("close", () => resolve());
  });
}

async function main(kubectl: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "no-proxy-"));
  const cases = NO_PROXIES.flatMap((noProxy) => SERVERS.map((server) => ({ noProxy, server })));
  const rows: OracleRow[] = [];
  // Four workers, each with a proxy of its own and one kubectl at a time: its proxy's list says which run asked.
  const workers = Array.from({ length: 4 }, async (_, w) => {
    const proxy = await recordingProxy();
    for (let i = w; i < cases.length; i += 4) {
      const { noProxy, server } = cases[i]!;
      const env = { HTTPS_PROXY: proxy.url, NO_PROXY: noProxy };
      const before = proxy.connects.length;
      await runKubectl(kubectl, dir, server, env);
      const ours = proxyFor(new URL(server), undefined, env) !== undefined;
      rows.push({ noProxy, server, kubectl: proxy.connects.length > before, ours });
    }
    proxy.close();
  });
  await Promise.all(workers);
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(JSON.stringify(rows));
}

if (process.argv[1]?.endsWith("no-proxy-oracle.js") && process.argv[2]) await main(process.argv[2]);
