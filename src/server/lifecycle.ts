// The one place components register how they stop. startTracker adds each component's stop right after the
// component started, and a graceful shutdown (or a start that fails half way) runs them in reverse order: the
// last thing started stops first, so nothing stops while something started after it still uses it. Each step
// is bounded in time and a failing or slow step is logged and skipped, never blocking the steps after it
// (the state file's final save comes last).

import { errorText, type Logger } from "./logger.ts";

/** A step that takes longer than this is abandoned (logged) so the steps after it still run. */
export const STEP_TIMEOUT_MS = 10_000;

interface Step {
  name: string;
  stop: () => unknown;
  timeoutMs: number;
}

export class Lifecycle {
  readonly #log: Logger;
  readonly #steps: Step[] = [];
  #stopping: Promise<void> | null = null;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Registers a started component's stop. */
  add(name: string, stop: () => unknown, timeoutMs = STEP_TIMEOUT_MS): void {
    if (this.#stopping !== null) throw new Error(`cannot add "${name}": already stopping`);
    this.#steps.push({ name, stop, timeoutMs });
  }

  /** Runs every registered stop, last registered first; a second call waits for the first. */
  stop(): Promise<void> {
    this.#stopping ??= this.#run();
    return this.#stopping;
  }

  async #run(): Promise<void> {
    for (let i = this.#steps.length - 1; i >= 0; i--) {
      const { name, stop, timeoutMs } = this.#steps[i];
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), timeoutMs);
      });
      try {
        const outcome = await Promise.race([Promise.resolve().then(stop), timedOut]);
        if (outcome === "timeout")
          this.#log.warn("stop: a step took too long; going on without it", { step: name, ms: timeoutMs });
      } catch (err) {
        this.#log.error("stop: a step failed; going on", { step: name, err: errorText(err) });
      } finally {
        clearTimeout(timer);
      }
    }
  }
}
