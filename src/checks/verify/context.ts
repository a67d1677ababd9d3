import type { Kube } from "../../kube/types.js";
import type { InstallState } from "../../record/store.js";

/** What the verification reads: the cluster and the install as its record describes it. */
export interface VerifyContext {
  readonly kube: Kube;
  readonly state: InstallState;
  readonly answers: Readonly<Record<string, string>>;
  /** The images the last successful run installed. */
  readonly webImage: string;
  readonly workerImage: string;
  readonly network: NetworkOptions;
}

/** How the checks beyond the cluster reach the domain when DNS or the CA is not public yet. */
export interface NetworkOptions {
  /** --resolve DOMAIN:ADDRESS, as curl's: connect there instead of asking DNS. */
  readonly resolve: ReadonlyMap<string, string>;
  /** --resolve DOMAIN:PORT:ADDRESS: the port the controller serves the domain on (a NodePort, a port-forward), for HTTP and HTTPS alike. */
  readonly ports?: ReadonlyMap<string, number>;
  /** --ca-file: a PEM CA trusted besides Node's (which honours NODE_EXTRA_CA_CERTS). */
  readonly extraCa?: string | undefined;
}
