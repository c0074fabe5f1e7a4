// Runs a task now and then every `everyMs` after it settles (never overlapping), sooner after a failure,
// paused while the tab is hidden and run at once when it becomes visible again.

const RETRY_MS = 3000;

/** `every` is in ms, or a function asked after each run (for a pace that depends on what the task found). */
export function poll(task: (signal: AbortSignal) => Promise<void>, every: number | (() => number)): () => void {
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;

  const run = async () => {
    clearTimeout(timer);
    if (running || abort.signal.aborted) return;
    if (document.hidden) return; // resumed by the visibilitychange handler
    running = true;
    let ok = true;
    try {
      await task(abort.signal);
    } catch {
      ok = false; // the connection state shows the failure; keep the last data on screen
    }
    running = false;
    const everyMs = typeof every === "number" ? every : every();
    if (!abort.signal.aborted) timer = setTimeout(run, ok ? everyMs : Math.min(everyMs, RETRY_MS));
  };
  const onVisible = () => {
    if (!document.hidden) void run();
  };
  document.addEventListener("visibilitychange", onVisible);
  void run();

  return () => {
    abort.abort();
    clearTimeout(timer);
    document.removeEventListener("visibilitychange", onVisible);
  };
}
