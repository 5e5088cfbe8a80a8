// Output for people and for scripts: `--json` prints one JSON document on stdout and nothing
// else; otherwise readable lines, with a spinner only on an interactive terminal.
import ora, { type Ora } from "ora";

export interface Output {
  readonly json: boolean;
  /** Prints the command's result: `data` as JSON with --json, `human` lines otherwise. */
  result(data: unknown, human: readonly string[]): void;
  /** A progress line (stderr), shown by the spinner when there is one. */
  progress(text: string): void;
  /** Stops the spinner, marking success or failure. */
  done(ok: boolean, text?: string): void;
}

export function createOutput(json: boolean): Output {
  const interactive = !json && process.stderr.isTTY && process.env.TERM !== "dumb" && process.env.CI === undefined;
  let spinner: Ora | undefined;
  return {
    json,
    result(data, human) {
      spinner?.stop();
      if (json) process.stdout.write(JSON.stringify(data, jsonReplacer, 2) + "\n");
      else if (human.length > 0) process.stdout.write(human.join("\n") + "\n");
    },
    progress(text) {
      if (json) return;
      if (interactive) {
        spinner ??= ora({ stream: process.stderr }).start();
        spinner.text = text;
      } else {
        process.stderr.write(`${text}\n`);
      }
    },
    done(ok, text) {
      if (spinner === undefined) return;
      if (ok) spinner.succeed(text);
      else spinner.fail(text);
      spinner = undefined;
    },
  };
}

/** bigints as decimal strings, Uint8Arrays left out (results are written to files). */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  return value;
}
