import type { Duplex } from "node:stream";
import { type ExecStreamResult, type ExecStreams, KubeApiError } from "./types.js";
import { readMessages, WS_LIMITS, type WsLimits } from "./websocket.js";
import { clientFrame, WsProtocolError } from "./ws-frames.js";

/** v5.channel.k8s.io: the first byte of a message names its stream. */
const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
/** v5's close signal: `[255, stream]` closes one stream (stdin), as kubectl does at its input's end. */
const CLOSE = 255;
const STDERR_KEPT = 64 * 1024;

export interface ExecStatus {
  status?: string;
  message?: string;
  details?: { causes?: { reason?: string; message?: string }[] };
}

/** The command's exit code as the status says it; undefined when it says none (the exec itself failed). */
export function exitCodeOf(status: ExecStatus | undefined): number | undefined {
  if (status?.status === "Success") return 0;
  // A kubelet names the exit code in a cause; some runtimes only in the message ("exit status 1").
  const code =
    status?.details?.causes?.find((c) => c.reason === "ExitCode")?.message ??
    /exit (?:status|code) (\d+)/.exec(status?.message ?? "")?.[1];
  return code === undefined ? undefined : Number(code);
}

/** The status channel's message: a Status object, or a fault that fails the stream (never the process). */
export function parseExecStatus(payload: Buffer): ExecStatus {
  let status: unknown;
  try {
    status = JSON.parse(payload.toString("utf8"));
  } catch {
    throw new WsProtocolError(
      `the exec status is not JSON (${JSON.stringify(payload.subarray(0, 60).toString("utf8"))})`,
    );
  }
  if (typeof status !== "object" || status === null || Array.isArray(status))
    throw new WsProtocolError("the exec status is not a Status object");
  return status as ExecStatus;
}

/**
 * Runs a command over an upgraded `pods/exec` WebSocket with its streams: stdout into the sink
 * (pausing the connection while the sink is full), stdin from the source in frames of at most
 * 64 KiB (pausing the source while the socket is full) and closed at its end. `protocol` is what
 * the server chose: closing stdin needs v5.
 */
export function streamExec(
  socket: Duplex,
  protocol: string,
  streams: ExecStreams,
  what: string,
  limits: WsLimits = WS_LIMITS,
): Promise<ExecStreamResult> {
  if (streams.stdin && protocol !== "v5.channel.k8s.io") {
    socket.destroy();
    return Promise.reject(
      new KubeApiError(
        `${what}: the API server cannot close stdin (it speaks ${protocol || "an older protocol"}, not v5.channel.k8s.io: Kubernetes 1.30 or newer)`,
        500,
        "ExecFailed",
      ),
    );
  }
  if (streams.signal?.aborted) {
    socket.destroy();
    return Promise.reject(streams.signal.reason ?? new Error(`${what}: stopped`));
  }
  let stderr = Buffer.alloc(0);
  let status: ExecStatus | undefined;
  let paused = false;
  return new Promise<ExecStreamResult>((resolve, reject) => {
    const ws = readMessages(
      socket,
      ({ data }) => {
        const channel = data[0];
        const payload = data.subarray(1);
        if (channel === STDOUT && streams.stdout && payload.length > 0) {
          // The frames of a chunk already read still arrive: one pause, one resume on the sink's drain.
          if (!streams.stdout.write(payload) && !paused) {
            paused = true;
            ws.pause();
            streams.stdout.once("drain", () => {
              paused = false;
              ws.resume();
            });
          }
        } else if (channel === STDERR) stderr = Buffer.concat([stderr, payload]).subarray(-STDERR_KEPT);
        else if (channel === STATUS && payload.length > 0) status = parseExecStatus(payload);
      },
      (err) => {
        streams.signal?.removeEventListener("abort", abort);
        const exitCode = exitCodeOf(status);
        if (streams.signal?.aborted) return reject(streams.signal.reason ?? new Error(`${what}: stopped`));
        if (exitCode !== undefined) return resolve({ exitCode, stderr: stderr.toString("utf8") });
        reject(
          new KubeApiError(
            `${what}: ${status?.message ?? err?.message ?? "the connection closed without an exit status"}`,
            500,
            "ExecFailed",
          ),
        );
      },
      limits,
    );
    const abort = (): void => ws.close();
    streams.signal?.addEventListener("abort", abort, { once: true });
    if (streams.stdin) sendStdin(socket, streams.stdin);
  });
}

function sendStdin(socket: Duplex, stdin: NodeJS.ReadableStream): void {
  stdin.on("data", (chunk: Buffer | string) => {
    const data = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    let room = true;
    for (let at = 0; at < data.length; at += 64 * 1024) {
      room = socket.write(clientFrame(2, Buffer.concat([Buffer.from([STDIN]), data.subarray(at, at + 64 * 1024)])));
    }
    if (!room) {
      stdin.pause();
      socket.once("drain", () => stdin.resume());
    }
  });
  stdin.once("end", () => socket.write(clientFrame(2, Buffer.from([CLOSE, STDIN]))));
}
