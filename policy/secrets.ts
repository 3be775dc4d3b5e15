/**
 * Recognises key-shaped strings: provider API keys, tokens, private keys and long random-looking runs. Used by the
 * policy rule that keeps secrets out of plain_text and json bindings. It names the shape it found, never the value.
 */

interface Shape {
  readonly what: string;
  readonly re: RegExp;
}

const SHAPES: readonly Shape[] = [
  { what: "an Anthropic API key (sk-ant-…)", re: /sk-ant-[A-Za-z0-9_-]{8,}/ },
  { what: "an OpenAI-style API key (sk-…)", re: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{16,}/ },
  { what: "a private key (PEM)", re: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
  { what: "an AWS access key id", re: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { what: "a GitHub token", re: /\bgh[pousr]_[A-Za-z0-9]{30,}/ },
  { what: "a Slack token", re: /\bxox[abprs]-[A-Za-z0-9-]{10,}/ },
  { what: "a JSON Web Token", re: /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./ },
  { what: "a bearer credential", re: /\bBearer\s+[A-Za-z0-9._~+/=-]{16,}/i },
  { what: "a long hex token", re: /(?<![0-9a-fA-F])[0-9a-fA-F]{32,}(?![0-9a-fA-F])/ },
];

/** Runs of base64 / base64url characters at least this long, mixing cases and digits, read as random tokens. */
const LONG_TOKEN = /[A-Za-z0-9+/_-]{32,}={0,2}/g;

function looksRandom(run: string): boolean {
  return /[a-z]/.test(run) && /[A-Z]/.test(run) && /[0-9]/.test(run);
}

function shapeOf(s: string, allowed: readonly string[]): string | undefined {
  if (allowed.includes(s)) return undefined;
  for (const { what, re } of SHAPES) {
    const m = re.exec(s);
    if (m && !allowed.includes(m[0])) return what;
  }
  for (const m of s.matchAll(LONG_TOKEN)) {
    if (looksRandom(m[0]) && !allowed.includes(m[0])) return "a long random token";
  }
  return undefined;
}

function strings(v: unknown, out: string[]): string[] {
  if (typeof v === "string") out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (typeof v === "object" && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      out.push(k);
      strings(x, out);
    }
  }
  return out;
}

/**
 * Describes the first key-shaped string in `value` (a string, a JSON document in a string, or any JSON value),
 * or undefined when there is none. Strings in `allowed` (e.g. the account id) are identifiers, not secrets.
 */
export function findKeyShapedValue(value: unknown, allowed: readonly string[] = []): string | undefined {
  let v = value;
  if (typeof v === "string") {
    try {
      v = JSON.parse(v);
    } catch {
      // Not JSON: scan the text as it is.
    }
  }
  const texts = strings(v, []);
  for (const t of texts) {
    const found = shapeOf(t, allowed);
    if (found) return found;
  }
  return undefined;
}
