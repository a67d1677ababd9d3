import { useStdout } from "ink";

/**
 * The columns text may take on this terminal: one fewer than it has, so a full line never makes
 * the terminal wrap it (which would throw off how many lines Ink erases on a redraw).
 */
export function useColumns(): number {
  const { stdout } = useStdout();
  return Math.max(20, ((stdout as { columns?: number }).columns || 80) - 1);
}
