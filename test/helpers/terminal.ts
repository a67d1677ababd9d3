import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";

/** Whether tmux is here to drive a real terminal; the reason it is not, otherwise. */
export function tmuxMissing(): string | false {
  try {
    execFileSync("tmux", ["-V"], { stdio: "ignore" });
    return false;
  } catch {
    return "tmux is not installed (apt-get install tmux)";
  }
}

/**
 * A program in a real terminal (a tmux pane, 80×24 by default): keys are typed with send-keys and
 * the screen is read with capture-pane, as a person would see it.
 */
export class Terminal {
  private readonly socket = `mathison-test-${randomBytes(4).toString("hex")}`;
  private readonly session = "t";

  private tmux(...args: string[]): string {
    // The tmux server, and so the program, starts from a clean environment: a CI=true or a
    // KUBECONFIG of the test runner must not leak into what a person's terminal would have.
    const env = {
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      HOME: process.env["HOME"] ?? "/root",
      TERM: "xterm-256color",
    };
    return execFileSync("tmux", ["-L", this.socket, ...args], { env }).toString();
  }

  constructor(command: string, env: Record<string, string>, size = { cols: 80, rows: 24 }) {
    const envArgs = Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
    // The shell stays after the program so its exit code and last screen can be read.
    this.tmux(
      "new-session",
      "-d",
      "-s",
      this.session,
      "-x",
      String(size.cols),
      "-y",
      String(size.rows),
      ...envArgs,
      `${command}; echo "[exit $?]"; sleep 3600`,
    );
  }

  /** Keys as tmux names them: text, "Enter", "Down", "C-c", "C-u". */
  send(...keys: string[]): void {
    this.tmux("send-keys", "-t", this.session, ...keys);
  }

  type(text: string): void {
    this.tmux("send-keys", "-t", this.session, "-l", text);
  }

  /** The visible screen. */
  screen(): string {
    return this.tmux("capture-pane", "-p", "-t", this.session);
  }

  /** The visible screen with its escape sequences (colours, bold), as the terminal got them. */
  screenWithEscapes(): string {
    return this.tmux("capture-pane", "-p", "-e", "-t", this.session);
  }

  /** Everything printed, scrollback included. */
  history(): string {
    return this.tmux("capture-pane", "-p", "-S", "-", "-t", this.session);
  }

  /** Reads the screen until it shows `pattern`; fails with the screen after `timeoutMs`. */
  async waitFor(
    pattern: RegExp,
    timeoutMs = 20_000,
    where: () => string = () => this.screen(),
    pollMs = 100,
  ): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = where();
      if (pattern.test(text)) return text;
      if (Date.now() > deadline) throw new Error(`terminal never showed ${pattern}; it shows:\n${text}`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  async exitCode(timeoutMs = 60_000): Promise<number> {
    const text = await this.waitFor(/\[exit (\d+)\]/, timeoutMs, () => this.history());
    return Number(/\[exit (\d+)\]/.exec(text)![1]);
  }

  close(): void {
    try {
      this.tmux("kill-server");
    } catch {
      // already gone
    }
  }
}
