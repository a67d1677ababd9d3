/**
 * What only a person can check (seed 000 Verification, seed 001 §4-5): what to do, and where to
 * look when it does not work. A "no" shows the troubleshooting and counts as a failure. An item
 * whose automated prerequisites failed is not asked: it cannot work, and the checks above say why.
 */
export interface ManualCheck {
  readonly id: string;
  readonly title: string;
  /** The automated checks (ids) that must pass for this to work at all. */
  readonly needs: readonly string[];
  /** What to do, given the install's URL and namespace. */
  todo(url: string): string;
  /** Where to look after a "no"; `passed` says which automated checks passed, so no line blames one of them. */
  troubleshooting(namespace: string, url: string, passed: ReadonlySet<string>): readonly string[];
}

export const MANUAL_CHECKS: readonly ManualCheck[] = [
  {
    id: "login",
    title: "Login works through the Ingress URL",
    needs: ["ingress-address", "dns", "tls-served", "health", "auth-url"],
    todo: (url) => `open ${url} in a browser and sign in`,
    troubleshooting: (ns, url, passed) => [
      ...(passed.has("auth-url")
        ? []
        : [
            `a sign-in that returns to another address: AUTH_URL must be ${url} (see the AUTH_URL check); re-run install with --domain`,
          ]),
      "a sign-in page that reloads or errors: the browser's developer tools show the failing request; check that cookies for the domain are allowed",
      `kubectl -n ${ns} logs deploy/mathison-web | grep -i auth`,
    ],
  },
  {
    id: "chat-streams",
    title: "AI chat streams through the Ingress",
    needs: ["ingress-address", "dns", "tls-served", "health", "sse"],
    todo: () => "start a chat and ask something: the answer should appear word by word, not all at once",
    troubleshooting: (ns) => [
      "an answer that arrives all at once, or breaks off after a minute: the ingress controller buffers or times out server-sent events",
      "ingress-nginx: nginx.ingress.kubernetes.io/proxy-buffering=off and proxy-read-timeout=300 on the Ingress (see the SSE check)",
      `kubectl -n ${ns} get ingress mathison-web -o yaml`,
    ],
  },
  {
    id: "chat-deploys",
    title: "The worker can deploy an app via chat",
    needs: ["ingress-address", "dns", "tls-served", "health", "service-account"],
    todo: () => "ask the chat to deploy a small app, and watch it appear",
    troubleshooting: (ns, _url, passed) => [
      ...(passed.has("service-account") ? [] : ["the worker needs its RBAC: see the Permissions check"]),
      `kubectl auth can-i create deployments --as=system:serviceaccount:${ns}:mathison -n default`,
      `kubectl -n ${ns} logs deploy/mathison-worker`,
    ],
  },
];
