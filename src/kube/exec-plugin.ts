import { builtin } from "../base/builtin.js";
import { isAbsolute, join } from "node:path";
import { ClusterAccessError } from "./types.js";

/** A kubeconfig user's `exec`: a client.authentication.k8s.io credential plugin (EKS, GKE, AKS, kubelogin). */
export interface ExecConfig {
  readonly apiVersion?: string;
  readonly command: string;
  readonly args?: readonly string[];
  readonly env?: readonly { name: string; value: string }[] | null;
  readonly installHint?: string;
  readonly provideClusterInfo?: boolean;
  readonly interactiveMode?: string;
}

export const EXEC_API_VERSIONS = ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"] as const;
export const INTERACTIVE_MODES = ["Never", "IfAvailable", "Always"] as const;

/** What the plugin may learn of the cluster (`provideClusterInfo`), with the kubeconfig's field names. */
export interface ExecClusterInfo {
  readonly server: string;
  readonly "tls-server-name"?: string;
  readonly "insecure-skip-tls-verify"?: boolean;
  readonly "certificate-authority-data"?: string;
  readonly "proxy-url"?: string;
  readonly "disable-compression"?: boolean;
  readonly config?: unknown;
}

/** How the plugin is run: whether a person is at a terminal to answer it, and how long it may take. */
export interface ExecEnvironment {
  /** Standard input is a terminal the plugin may read (kubectl's test of os.Stdin). */
  readonly stdinIsTerminal: boolean;
  readonly timeoutMs: number;
}

export const DEFAULT_EXEC_TIMEOUT_MS = 60_000;

export interface ExecCredential {
  readonly token?: string;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

interface ExecStatus {
  token?: string;
  clientCertificateData?: string;
  clientKeyData?: string;
  expirationTimestamp?: string;
}

/**
 * The plugin's credential, run once and again when it expires or the API server refuses it
 * (`refresh`); concurrent first requests share one run of the plugin.
 */
export class ExecCredentialSource {
  private cached: { credential: ExecCredential; expires: number } | undefined;
  private running: Promise<ExecCredential> | undefined;

  constructor(
    private readonly exec: ExecConfig,
    private readonly dir: string,
    private readonly cluster: ExecClusterInfo,
    private readonly environment: ExecEnvironment,
  ) {}

  get(): Promise<ExecCredential> {
    if (this.cached && Date.now() < this.cached.expires) return Promise.resolve(this.cached.credential);
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** The API server refused `used`: forget it, so the next request runs the plugin again (once per credential). */
  refresh(used: ExecCredential): boolean {
    if (this.cached?.credential !== used) return false;
    this.cached = undefined;
    return true;
  }

  private async run(): Promise<ExecCredential> {
    const status = await runExecPlugin(this.exec, this.dir, this.cluster, this.environment);
    const credential: ExecCredential = {
      ...(status.token ? { token: status.token } : {}),
      ...(status.clientCertificateData
        ? { cert: Buffer.from(status.clientCertificateData), key: Buffer.from(status.clientKeyData!) }
        : {}),
    };
    // A minute's margin before the plugin's expiry; without one, the credential lasts until refused.
    this.cached = {
      credential,
      expires: status.expirationTimestamp ? Date.parse(status.expirationTimestamp) - 60_000 : Number.POSITIVE_INFINITY,
    };
    return credential;
  }
}

function interactiveFor(exec: ExecConfig, environment: ExecEnvironment): boolean {
  const mode = exec.interactiveMode ?? "IfAvailable";
  if (mode === "Never") return false;
  if (mode === "Always" && !environment.stdinIsTerminal) {
    throw new ClusterAccessError(
      `the kubeconfig's credential plugin ${exec.command} needs a terminal to ask you (interactiveMode: Always), and standard input is not one: run it in a terminal, or log in with the plugin first`,
    );
  }
  return environment.stdinIsTerminal;
}

function pluginError(exec: ExecConfig, what: string): ClusterAccessError {
  return new ClusterAccessError(`the kubeconfig's credential plugin ${exec.command} ${what}`);
}

async function runExecPlugin(
  exec: ExecConfig,
  dir: string,
  cluster: ExecClusterInfo,
  environment: ExecEnvironment,
): Promise<ExecStatus> {
  // Loaded here: a run whose kubeconfig has no plugin never needs it (about 2 ms of every start).
  const { spawn } = builtin("node:child_process") as typeof import("node:child_process");
  const command = exec.command.includes("/") && !isAbsolute(exec.command) ? join(dir, exec.command) : exec.command;
  const apiVersion = exec.apiVersion ?? EXEC_API_VERSIONS[0];
  const interactive = interactiveFor(exec, environment);
  const info = {
    apiVersion,
    kind: "ExecCredential",
    spec: { interactive, ...(exec.provideClusterInfo ? { cluster } : {}) },
  };
  const env = {
    ...process.env,
    ...Object.fromEntries((exec.env ?? []).map((e) => [e.name, e.value])),
    KUBERNETES_EXEC_INFO: JSON.stringify(info),
  };
  return new Promise((resolve, reject) => {
    // An interactive plugin talks to the person on the terminal (stdin and stderr), as under kubectl.
    const child = spawn(command, [...(exec.args ?? [])], {
      env,
      stdio: [interactive ? "inherit" : "ignore", "pipe", interactive ? "inherit" : "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on("data", (c: Buffer) => out.push(c));
    child.stderr?.on("data", (c: Buffer) => err.push(c));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      // Whatever the plugin started may hold its pipes open; they must not keep this process alive.
      child.stdout?.destroy();
      child.stderr?.destroy();
      reject(
        pluginError(
          exec,
          `did not answer within ${+(environment.timeoutMs / 1000).toFixed(1)} s: check that it can log in on its own, or give it longer with --exec-timeout`,
        ),
      );
    }, environment.timeoutMs);
    child.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const hint = exec.installHint ? `: ${exec.installHint.trim().replace(/\s*\n\s*/g, " ")}` : "";
      reject(
        pluginError(
          exec,
          e.code === "ENOENT" ? `is not installed (not found on PATH)${hint}` : `could not run: ${e.message}`,
        ),
      );
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code !== 0)
        return reject(
          pluginError(
            exec,
            `exited ${code}${err.length ? `: ${Buffer.concat(err).toString().trim().split("\n")[0]}` : ""}`,
          ),
        );
      try {
        resolve(
          checkedStatus(
            exec,
            apiVersion,
            JSON.parse(Buffer.concat(out).toString()) as { apiVersion?: string; status?: ExecStatus },
          ),
        );
      } catch (e) {
        reject(e instanceof ClusterAccessError ? e : pluginError(exec, "printed no ExecCredential"));
      }
    });
  });
}

/** The plugin's answer, held to what kubectl accepts. */
function checkedStatus(
  exec: ExecConfig,
  apiVersion: string,
  answer: { apiVersion?: string; status?: ExecStatus },
): ExecStatus {
  if (answer.apiVersion !== apiVersion)
    throw pluginError(
      exec,
      `answered with apiVersion ${answer.apiVersion ?? "(none)"}, but the kubeconfig asks for ${apiVersion}`,
    );
  const status = answer.status;
  if (!status) throw pluginError(exec, "printed an ExecCredential without a status");
  if (!status.token && !status.clientCertificateData && !status.clientKeyData)
    throw pluginError(exec, "printed neither a token nor a client certificate and key");
  if (!status.clientCertificateData !== !status.clientKeyData)
    throw pluginError(exec, "printed a client certificate without its key, or a key without its certificate");
  return status;
}
