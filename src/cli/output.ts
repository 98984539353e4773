/** Where a command writes: human lines on stdout/stderr, or one JSON document. */
export interface Output {
  readonly json: boolean;
  /** Progress and results for people (suppressed with --json). */
  line(text: string): void;
  /** Warnings, always on stderr. */
  warn(text: string): void;
  /** The machine-readable result (only with --json). */
  data(value: unknown): void;
}

/** The process's output. */
export function consoleOutput(json: boolean): Output {
  return {
    json,
    line: (text) => {
      if (!json) console.log(text);
    },
    warn: (text) => console.error(text),
    data: (value) => {
      if (json) console.log(JSON.stringify(value, null, 2));
    },
  };
}

/** Milliseconds for people: `12 ms`, `1.4 s`. */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
