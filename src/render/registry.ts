import { parseImageReference, splitRegistry } from "../config/validate.js";
import type { InstallConfig } from "../config/types.js";
import { REGISTRY_SECRET_NAME } from "../facts/names.js";
import { type KubeObject, typed } from "../facts/objects.js";

/** Docker Hub goes by several names in a docker config; the API server's kubelet takes this one. */
const DOCKER_HUB_KEY = "https://index.docker.io/v1/";
const DOCKER_HUB = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

/** The registry an image is pulled from: its first path segment when that is a host, else Docker Hub. */
export function registryHost(image: string): string {
  return splitRegistry(parseImageReference(image)?.name ?? image).registry;
}

/** A docker config key (`https://index.docker.io/v1/`, `ghcr.io`, `https://r.example:5000/v2/`) as a host. */
export function authHost(key: string): string {
  const host = key.replace(/^https?:\/\//, "").split("/")[0]!;
  return DOCKER_HUB.has(host) ? "docker.io" : host;
}

/**
 * The `kubernetes.io/dockerconfigjson` Secret the pods pull with: the given credentials for each
 * registry the images come from, or the given docker config's entries for those registries only.
 * Undefined when the install names an existing Secret or uses public images.
 */
export function registrySecret(config: InstallConfig, images: readonly string[]): KubeObject | undefined {
  const auth = config.registryAuth;
  if (!auth || auth.kind === "existing") return undefined;
  const hosts = [...new Set(images.map(registryHost))];
  const auths: Record<string, unknown> =
    auth.kind === "credentials"
      ? Object.fromEntries(
          hosts.map((h) => [
            h === "docker.io" ? DOCKER_HUB_KEY : h,
            {
              username: auth.username,
              password: config.secrets.registryPassword,
              auth: Buffer.from(`${auth.username}:${config.secrets.registryPassword}`).toString("base64"),
            },
          ]),
        )
      : usedEntries(config.secrets.dockerConfig, hosts);
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: REGISTRY_SECRET_NAME,
      namespace: config.namespace,
      labels: {
        "app.kubernetes.io/name": "mathison",
        "app.kubernetes.io/component": "registry",
        "app.kubernetes.io/part-of": "mathison",
        "app.kubernetes.io/managed-by": "mathison",
      },
    },
    type: "kubernetes.io/dockerconfigjson",
    data: { ".dockerconfigjson": Buffer.from(JSON.stringify({ auths })).toString("base64") },
  };
}

/** A docker config's `auths` entries for these registries only: what the install keeps of the file. */
export function usedEntries(dockerConfig: string, hosts: readonly string[]): Record<string, unknown> {
  const auths = (JSON.parse(dockerConfig) as { auths: Record<string, unknown> }).auths;
  return Object.fromEntries(Object.entries(auths).filter(([key]) => hosts.includes(authHost(key))));
}

/** Which registries a pull secret's docker config has entries for. */
export function coveredHosts(secret: KubeObject): string[] {
  try {
    const json = Buffer.from(typed(secret, "Secret").data?.[".dockerconfigjson"] ?? "", "base64").toString("utf8");
    return Object.keys((JSON.parse(json) as { auths?: Record<string, unknown> }).auths ?? {}).map(authHost);
  } catch {
    return [];
  }
}
