// The certificate and key for the HTTPS (and WSS) listener: read from their files and checked before use,
// then watched, so that a renewed pair (an ACME client replacing the files) is picked up without a restart.
//
// Checked before use: both files readable, PEM, every certificate in the chain parses, and the key belongs to
// the first (leaf) certificate. Every failure is one line naming the flag, the file and the problem, fit to
// end a start or to explain a refused reload. Expiry is not an error here: notAfter is returned for the caller
// to log (an expired certificate is better served with a warning than refused with an outage).
//
// Why check at all: Bun.serve does refuse a bad pair at start, but with a bare BoringSSL code
// ("KEY_VALUES_MISMATCH"), and server.reload({ tls }) in Bun 1.4.4 ignores `tls` altogether, without an error
// (oven-sh/bun#43815). A running listener gets a new certificate only as a new Bun.serve on the same port (with
// reusePort on both; the new one first, then stop() the old one, which finishes its requests and keeps its
// open WebSockets), so the pair must be known good before that second listener is made.
//
// Watching: the directories, not the files. ACME clients and Kubernetes replace files by renaming over them
// (or by swapping a symlinked directory), which a watch on the old file never sees. Any event in a watched
// directory starts a quiet-period timer (debounce); when it runs out both files are read and compared with the
// pair in use, so a cert and key written one after the other are read once, after both are in place, and
// unrelated changes cost two small reads. A pair that is new but bad is reported and not used: the caller
// keeps serving the old one. reload() does the same at once, for SIGHUP.

import { readFileSync } from "node:fs";
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { dirname, resolve } from "node:path";
import { DirWatch } from "./dir-watch.ts";
import { errorText } from "./logger.ts";

/** A checked certificate chain and its key, as PEM text ready for Bun.serve's `tls`. */
export interface TlsPair {
  readonly cert: string;
  readonly key: string;
  readonly certPath: string;
  readonly keyPath: string;
  /** The leaf certificate's subject, on one line ("CN=tracker.example.org"). */
  readonly subject: string;
  /** The leaf certificate's expiry. Not checked: log it. */
  readonly notAfter: Date;
  /** SHA-256 fingerprint of the leaf certificate, to tell certificates apart in logs. */
  readonly fingerprint256: string;
}

/** A refused certificate or key file. The message is one line, meant for the operator as it is. */
export class TlsFileError extends Error {
  override name = "TlsFileError";
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** Reads and checks the pair; throws TlsFileError. Synchronous: two small files, read back to back. */
export function loadTlsPair(certPath: string, keyPath: string): TlsPair {
  const certText = readText("--tls-cert", certPath);
  const keyText = readText("--tls-key", keyPath);
  const blocks = certText.match(CERT_BLOCK);
  if (blocks === null) {
    const hint = /PRIVATE KEY-----/.test(certText)
      ? " (it holds a private key: are --tls-cert and --tls-key swapped?)"
      : "";
    throw new TlsFileError(`--tls-cert ${certPath} holds no PEM certificate${hint}`);
  }
  const chain = blocks.map((pem, i) => {
    try {
      return new X509Certificate(pem);
    } catch (err) {
      const which = blocks.length > 1 ? `certificate ${i + 1} of ${blocks.length}` : "the certificate";
      throw new TlsFileError(`--tls-cert ${certPath}: ${which} does not parse (${reason(err)})`);
    }
  });
  const key = parseKey(keyText, keyPath);
  const leaf = chain[0];
  if (!leaf.checkPrivateKey(key))
    throw new TlsFileError(`--tls-key ${keyPath} does not match the certificate in ${certPath}`);
  return {
    cert: certText,
    key: keyText,
    certPath,
    keyPath,
    subject: leaf.subject.split("\n").join(", "),
    notAfter: leaf.validToDate,
    fingerprint256: leaf.fingerprint256,
  };
}

function readText(flag: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "does not exist"
        : code === "EACCES" || code === "EPERM"
          ? "cannot be read (permission denied)"
          : code === "EISDIR"
            ? "is a directory, not a file"
            : `cannot be read (${code ?? reason(err)})`;
    throw new TlsFileError(`${flag} ${path} ${why}`);
  }
}

function parseKey(text: string, path: string): KeyObject {
  try {
    return createPrivateKey(text);
  } catch (err) {
    if ((err as { code?: string }).code === "ERR_MISSING_PASSPHRASE") {
      throw new TlsFileError(`--tls-key ${path} is encrypted; give the key without a passphrase`);
    }
    const hint =
      /BEGIN CERTIFICATE-----/.test(text) && !/PRIVATE KEY-----/.test(text)
        ? " (it holds a certificate: are --tls-cert and --tls-key swapped?)"
        : "";
    throw new TlsFileError(`--tls-key ${path} holds no usable PEM private key${hint}`);
  }
}

/** The first line of an error's text: messages here are one line. */
function reason(err: unknown): string {
  return errorText(err).split("\n")[0];
}

/** True if both hold the same certificate and key text. */
export function sameTlsPair(a: TlsPair, b: TlsPair): boolean {
  return a.cert === b.cert && a.key === b.key;
}

/** What started a check: a change in a watched directory, or reload() (SIGHUP). */
export type TlsReloadCause = "file" | "signal";
/** How a check ended: a new pair taken, the files still hold the pair in use, or refused (see onError). */
export type TlsReloadOutcome = "loaded" | "unchanged" | "failed";

export interface TlsWatcherOptions {
  certPath: string;
  keyPath: string;
  /** The pair being served now (from loadTlsPair at start). */
  current: TlsPair;
  /**
   * A new, checked pair: put it into service. Throwing refuses it (say Bun.serve would not take it): the
   * watcher then keeps `current` as it was and reports the error through onError.
   */
  onLoad: (pair: TlsPair, cause: TlsReloadCause) => void;
  /** The files changed but are not usable (yet); keep serving the current pair. */
  onError: (err: TlsFileError, cause: TlsReloadCause) => void;
  /** Quiet time after the last change before the files are read, ms. Default 1000. */
  debounceMs?: number;
}

export class TlsFileWatcher {
  readonly #o: TlsWatcherOptions;
  readonly #watch: DirWatch;
  #current: TlsPair;
  /** The last error reported for a file change, so a directory that keeps changing does not repeat it. */
  #lastError: string | null = null;
  #closed = false;

  constructor(o: TlsWatcherOptions) {
    this.#o = o;
    this.#current = o.current;
    const dirs = new Set([dirname(resolve(o.certPath)), dirname(resolve(o.keyPath))]);
    const debounceMs = o.debounceMs ?? 1000;
    try {
      // Any change in the folders counts: Kubernetes swaps a symlinked folder, not the files' own names.
      this.#watch = new DirWatch({
        dirs,
        quietMs: debounceMs,
        maxWaitMs: 5 * debounceMs, // a folder that never stops changing still gets checked
        onChange: () => this.#check("file"),
        onError: (err, dir) =>
          this.#report(
            new TlsFileError(`watching ${dir} for certificate renewals failed (${reason(err)}); SIGHUP still reloads`),
            "file",
          ),
      });
    } catch (err) {
      throw new TlsFileError(`cannot watch ${[...dirs].join(" and ")} for certificate renewals (${reason(err)})`);
    }
  }

  /** The pair in service: the last one onLoad accepted. */
  get current(): TlsPair {
    return this.#current;
  }

  /** Reads and checks the files now (SIGHUP). Always reports a failure, even one reported before. */
  reload(): TlsReloadOutcome {
    return this.#check("signal");
  }

  close(): void {
    this.#closed = true;
    this.#watch.close();
  }

  #check(cause: TlsReloadCause): TlsReloadOutcome {
    this.#watch.cancel();
    if (this.#closed) return "unchanged";
    let pair: TlsPair;
    try {
      pair = loadTlsPair(this.#o.certPath, this.#o.keyPath);
    } catch (err) {
      if (!(err instanceof TlsFileError)) throw err;
      this.#report(err, cause);
      return "failed";
    }
    if (sameTlsPair(pair, this.#current)) {
      this.#lastError = null;
      return "unchanged";
    }
    try {
      this.#o.onLoad(pair, cause);
    } catch (err) {
      this.#report(
        new TlsFileError(`the new certificate in ${this.#o.certPath} was not taken into use: ${reason(err)}`),
        cause,
      );
      return "failed";
    }
    this.#current = pair;
    this.#lastError = null;
    return "loaded";
  }

  #report(err: TlsFileError, cause: TlsReloadCause): void {
    if (cause === "file" && err.message === this.#lastError) return;
    this.#lastError = err.message;
    this.#o.onError(err, cause);
  }
}
