// Loaded before every test file (bunfig.toml): real sockets and real clients need more than 5 s at times.
import { afterAll, setDefaultTimeout } from "bun:test";
import { killLeftoverTrackers } from "./helpers/tracker-process.ts";

setDefaultTimeout(20_000);

// One thread unless a test asks for more (--workers N) or the run does (BUNTRACKER_WORKERS=2 npm test): the
// default "auto" would give every tracker a thread per CPU. Trackers started as processes inherit it.
process.env.BUNTRACKER_WORKERS ??= "1";

// A tracker process a failed test left running does not outlive the run.
afterAll(killLeftoverTrackers);
