// The one place the terminal screens are imported from: the published program replaces this
// module (scripts/bundle.mjs), since its main file is CommonJS compiled by the launcher and the
// screens an ES module it imports for it.
export const loadTerminal = (): Promise<typeof import("./terminal.js")> => import("./terminal.js");
