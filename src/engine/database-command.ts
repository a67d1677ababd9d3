import { Readable } from "node:stream";
import type { Kube } from "../kube/types.js";
import { POSTGRES_CLIENT_CONTAINER } from "../render/client-pod.js";

/** PostgreSQL's container, in the pod its label finds (`podOf`). */
export const POSTGRES_CONTAINER = "postgres";

/** Where a statement runs: the install's PostgreSQL, as its own user. */
export interface Database {
  readonly kube: Kube;
  readonly namespace: string;
  /** PostgreSQL's pod, or the client pod that reaches your own PostgreSQL (`own`). */
  readonly pod: string;
  readonly user: string;
  /** The application's database. */
  readonly db: string;
  /** Your own PostgreSQL: its address, TLS and password, reached from the client pod. */
  readonly own?: OwnPostgres;
}

export interface OwnPostgres {
  readonly host: string;
  readonly port: number;
  readonly sslMode: string;
  readonly password: string;
  /** PEM CA bundle; empty: the image's trusted CAs. */
  readonly ca: string;
}

/**
 * How a command reaches your own PostgreSQL from the client pod: stdin starts with the password,
 * host, port and sslmode (a line each) and the CA bundle's length, then the bundle; they become
 * libpq's environment (never argv), and the command reads the rest of stdin as before. `read`
 * takes a pipe byte by byte and `head -c` stops at its count, so nothing of the rest is lost.
 */
const OWN_PREFIX = [
  "IFS= read -r PGPASSWORD; IFS= read -r PGHOST; IFS= read -r PGPORT; IFS= read -r PGSSLMODE; IFS= read -r ca_bytes",
  "export PGPASSWORD PGHOST PGPORT PGSSLMODE",
  "ca_dir=$(mktemp -d) || exit 90; trap 'rm -rf \"$ca_dir\"' EXIT",
  'head -c "$ca_bytes" > "$ca_dir/ca.crt"',
  'if [ -s "$ca_dir/ca.crt" ]; then export PGSSLROOTCERT="$ca_dir/ca.crt"; else case "$PGSSLMODE" in verify-*) export PGSSLROOTCERT=system;; esac; fi',
  "",
].join("\n");

/** The command and stdin that run `script` (sh -c, with `args`) against the database `d`. */
export function databaseCommand(
  d: Database,
  script: string,
  args: readonly string[],
  stdin?: Readable,
): { container: string; command: string[]; stdin?: Readable } {
  if (!d.own)
    return { container: POSTGRES_CONTAINER, command: ["sh", "-c", script, ...args], ...(stdin ? { stdin } : {}) };
  const o = d.own;
  const header = Buffer.from(`${o.password}\n${o.host}\n${o.port}\n${o.sslMode}\n${Buffer.byteLength(o.ca)}\n${o.ca}`);
  async function* joined() {
    yield header;
    if (stdin) yield* stdin;
  }
  return {
    container: POSTGRES_CLIENT_CONTAINER,
    command: ["sh", "-c", OWN_PREFIX + script, ...args],
    stdin: Readable.from(joined()),
  };
}
