import type { CliIO } from "../base/io.js";

type Output = CliIO["stdout"];

/**
 * The command's streams, made safe to write after the reader went away (`| head`, `| jq` that
 * failed, a closed `less`): the first write error closes that stream for the run, later writes
 * are dropped, and the run goes on to its end — an apply is never stopped half-way because
 * nobody reads its progress. `onClosed` is told once per stream.
 */
export function closableOutput(io: CliIO, onClosed: (which: "stdout" | "stderr") => void): CliIO {
  return {
    ...io,
    stdout: guard(io.stdout, () => onClosed("stdout")),
    stderr: guard(io.stderr, () => onClosed("stderr")),
  };
}

function guard(stream: Output, onClosed: () => void): Output {
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    onClosed();
  };
  // Without a listener an EPIPE is an uncaught exception; with one, it is only this stream's end.
  stream.on?.("error", close);
  return new Proxy(stream, {
    get(target, prop, receiver) {
      if (prop === "write") {
        return (chunk: unknown, ...rest: unknown[]): boolean => {
          if (closed) return true;
          try {
            return (target.write as (...a: unknown[]) => boolean).call(target, chunk, ...rest);
          } catch {
            close();
            return true;
          }
        };
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
