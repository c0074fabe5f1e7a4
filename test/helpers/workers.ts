// Real Bun Workers for the shared-memory tests: start one on a fixture script, post it its set-up, and await
// its messages in order (a worker that throws fails the awaiting test instead of hanging it).

export interface TestWorker {
  /** The next message the worker posts. */
  next(): Promise<unknown>;
  post(message: unknown): void;
  terminate(): void;
}

export function startWorker(script: URL): TestWorker {
  const worker = new Worker(script.href);
  const queue: unknown[] = [];
  const waiting: { resolve: (m: unknown) => void; reject: (e: Error) => void }[] = [];
  let failure: Error | null = null;
  worker.onmessage = (e) => {
    const w = waiting.shift();
    if (w) w.resolve(e.data);
    else queue.push(e.data);
  };
  worker.onerror = (e) => {
    failure = new Error(`worker failed: ${e.message}`);
    for (const w of waiting.splice(0)) w.reject(failure);
  };
  return {
    next: () => {
      if (queue.length > 0) return Promise.resolve(queue.shift());
      if (failure !== null) return Promise.reject(failure);
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    post: (m) => worker.postMessage(m),
    terminate: () => worker.terminate(),
  };
}
