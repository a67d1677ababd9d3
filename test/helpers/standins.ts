// What the verification reaches beyond the API server, standing in for parts the test cluster
// lacks: an HTTPS server with its own CA plays the ingress controller and the web app behind it,
// and the real PostgreSQL and Redis that scripts/cluster/backing.sh started play the pods' servers.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { TestCluster } from "./cluster.js";
import { PACKAGE_ROOT } from "../../src/base/paths.js";

export interface TestCa {
  readonly dir: string;
  readonly caFile: string;
  /** A server certificate and key signed by the CA: PEM paths. */
  issue(name: string, hosts: readonly string[], days: number): { cert: string; key: string };
  remove(): void;
}

export function makeTestCa(): TestCa {
  const dir = mkdtempSync(join(tmpdir(), "mathison-test-ca-"));
  const ossl = (...args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  ossl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "30",
    "-subj",
    "/CN=mathison-ingress-test-ca",
    "-keyout",
    join(dir, "ca.key"),
    "-out",
    join(dir, "ca.crt"),
  );
  return {
    dir,
    caFile: join(dir, "ca.crt"),
    issue(name, hosts, days) {
      const cert = join(dir, `${name}.crt`);
      const key = join(dir, `${name}.key`);
      writeFileSync(
        join(dir, `${name}.ext`),
        `subjectAltName=${hosts.map((h) => `DNS:${h}`).join(",")}\nextendedKeyUsage=serverAuth\n`,
      );
      ossl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        `/CN=${hosts[0]}`,
        "-keyout",
        key,
        "-out",
        join(dir, `${name}.csr`),
      );
      ossl(
        "x509",
        "-req",
        "-in",
        join(dir, `${name}.csr`),
        "-CA",
        join(dir, "ca.crt"),
        "-CAkey",
        join(dir, "ca.key"),
        "-CAcreateserial",
        "-days",
        String(days),
        "-extfile",
        join(dir, `${name}.ext`),
        "-out",
        cert,
      );
      return { cert, key };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The ingress controller and the web app behind it: HTTPS on ADDRESS and a free port, `/api/health` answering `healthStatus`. */
export interface IngressStandIn {
  healthStatus: number;
  /** The port it listens on (any free one: no root needed). */
  port: number;
  close(): Promise<void>;
}

export async function startIngressStandIn(
  address: string,
  pem: { cert: string; key: string },
): Promise<IngressStandIn> {
  const standIn = { healthStatus: 200 } as IngressStandIn;
  const server: Server = createServer({ cert: readFileSync(pem.cert), key: readFileSync(pem.key) }, (req, res) => {
    res.statusCode = req.url === "/api/health" ? standIn.healthStatus : 404;
    res.end(res.statusCode === 200 ? '{"status":"ok"}' : "");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, address, () => resolve());
  });
  standIn.port = (server.address() as { port: number }).port;
  standIn.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return standIn;
}

/** The test cluster's backing servers (see scripts/cluster/backing.sh): where they listen, and how to stop and start Redis. */
export function backingServers(c: TestCluster) {
  const state = dirname(c.kubeconfig);
  const env = Object.fromEntries(
    readFileSync(join(state, "backing", "env"), "utf8")
      .trim()
      .split("\n")
      .map((l) => l.split("=", 2) as [string, string]),
  );
  const backing = join(PACKAGE_ROOT, "scripts", "cluster", "backing.sh");
  const psql = (sql: string) =>
    execFileSync("psql", ["-U", "mathison", "-d", "mathison", "-qc", sql], {
      env: { ...process.env, PGHOST: env["PGHOST"], PGPORT: env["PGPORT"] },
    });
  const query = (sql: string) =>
    execFileSync("psql", ["-U", "mathison", "-d", "mathison", "-tAc", sql], {
      env: { ...process.env, PGHOST: env["PGHOST"], PGPORT: env["PGPORT"] },
    })
      .toString()
      .trim();
  /** Whether `password` logs in as mathison over TCP (scram-sha-256), as web and worker connect; an exec'd psql uses the socket, which trusts. */
  const logsIn = (password: string) => {
    try {
      execFileSync(
        "psql",
        ["-X", "-h", "127.0.0.1", "-p", env["PGPORT"]!, "-U", "mathison", "-d", "mathison", "-tAc", "SELECT 1"],
        {
          env: { ...process.env, PGPASSWORD: password },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      return true;
    } catch {
      return false;
    }
  };
  /** A psql session (application_name e2e-holder, or `as`) that runs `sql` and stays connected until `end`. */
  const hold = (sql: string, as = "e2e-holder") => {
    const child = spawn("psql", ["-X", "-U", "mathison", "-d", "mathison", "-tA"], {
      env: { ...process.env, PGHOST: env["PGHOST"], PGPORT: env["PGPORT"], PGAPPNAME: as },
      stdio: ["pipe", "pipe", "inherit"],
    });
    const ready = new Promise<void>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("held")) resolve();
      });
      child.once("exit", () => reject(new Error(`the holding psql ended: ${out}`)));
    });
    child.stdin!.write(`${sql}\n`);
    return {
      ready,
      pid: () => query(`SELECT pid FROM pg_stat_activity WHERE application_name = '${as}'`),
      end: () => {
        child.stdin!.end();
        child.kill();
      },
    };
  };
  return {
    psql,
    query,
    hold,
    logsIn,
    redis: (...args: string[]) =>
      execFileSync("redis-cli", ["-p", env["REDIS_PORT"]!, ...args])
        .toString()
        .trim(),
    stopRedis: () => execFileSync("redis-cli", ["-p", env["REDIS_PORT"]!, "shutdown", "nosave"], { stdio: "ignore" }),
    startRedis: () => execFileSync("bash", [backing, "start-redis", state], { stdio: "ignore" }),
    stopPostgres: () => execFileSync("bash", [backing, "stop-postgres", state], { stdio: "ignore" }),
    startPostgres: () => execFileSync("bash", [backing, "start-postgres", state], { stdio: "ignore" }),
  };
}

/**
 * The "managed" PostgreSQL and Redis of the test cluster's host (scripts/cluster/backing.sh):
 * TLS with a test CA, passwords; their ports, passwords and CA, and an admin's psql.
 */
export function managedServers(c: TestCluster) {
  const env = Object.fromEntries(
    readFileSync(join(dirname(c.kubeconfig), "backing", "external.env"), "utf8")
      .trim()
      .split("\n")
      .map((l) => {
        const at = l.indexOf("=");
        return [l.slice(0, at), l.slice(at + 1).replace(/^'(.*)'$/, "$1")] as [string, string];
      }),
  );
  const admin = (db: string, sql: string) =>
    execFileSync(
      "psql",
      ["-X", "-h", env["EXT_PGSOCKET"]!, "-p", env["EXT_PGPORT"]!, "-U", "admin", "-d", db, "-tAqc", sql],
      { env: { ...process.env, PGOPTIONS: "-c client_min_messages=warning" } },
    ) // DROP … IF EXISTS of nothing says NOTICE
      .toString()
      .trim();
  return {
    pgPort: Number(env["EXT_PGPORT"]),
    redisPort: Number(env["EXT_REDIS_PORT"]),
    passwords: {
      app: env["EXT_PG_APP_PASSWORD"]!,
      limited: env["EXT_PG_LIMITED_PASSWORD"]!,
      owner: env["EXT_PG_OWNER_PASSWORD"]!,
      redis: env["EXT_REDIS_PASSWORD"]!,
    },
    caFile: env["EXT_CA"]!,
    /** SQL as the server's admin (over its socket), in `db`; the output, tuples only. */
    admin,
    /** redis-cli against the "managed" Redis (TLS, its password from the environment): the output. */
    redisCli: (...args: string[]) =>
      execFileSync(
        "redis-cli",
        ["-h", "127.0.0.1", "-p", env["EXT_REDIS_PORT"]!, "--tls", "--cacert", env["EXT_CA"]!, ...args],
        { env: { ...process.env, REDISCLI_AUTH: env["EXT_REDIS_PASSWORD"]! } },
      )
        .toString()
        .trim(),
    /** An admin's psql connected to `db` (application_name e2e-holder) until `end`: another client in the way. */
    connect: (db: string) => {
      const child = spawn(
        "psql",
        ["-X", "-h", env["EXT_PGSOCKET"]!, "-p", env["EXT_PGPORT"]!, "-U", "admin", "-d", db],
        {
          env: { ...process.env, PGAPPNAME: "e2e-holder" },
          stdio: ["pipe", "ignore", "ignore"],
        },
      );
      const ready = (async () => {
        for (let i = 0; i < 100; i++) {
          if (admin("postgres", "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'e2e-holder'") !== "0")
            return;
          await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error("the holding psql did not connect");
      })();
      return {
        ready,
        end: () => {
          child.stdin!.end();
          child.kill();
        },
      };
    },
    /** Every table's row count and checksum in `db`, as a backup's manifest computes them. */
    checksums: (db: string) =>
      admin(
        db,
        "SELECT string_agg(format('%s %s %s', c.relname, (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I', c.relname), false, true, '')))[1], (xpath('/row/s/text()', query_to_xml(format('SELECT coalesce(sum(hashtextextended(t::text, 0)), 0) AS s FROM %I t', c.relname), false, true, '')))[1]), ', ' ORDER BY c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = 'public'",
      ),
  };
}
