// Loaded before every test file (bunfig.toml): real sockets and real clients need more than 5 s at times.
import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(20_000);
