/**
 * Reading what a caller asks for: a `user_id` (and, for connect, a `login_hint` and an
 * `expected_google_email`) from the query string or a small JSON body. Repeated parameters,
 * also repeated JSON keys, are refused. Strict on purpose: every oddity is a 4xx before any work
 * is done.
 */

import { AppError } from "./errors.ts";
import type { Caller, CallerVerifier } from "./caller_auth.ts";
import { normalizeUserId } from "./ids.ts";

export const MAX_BODY_BYTES = 4096;
// A plain email-like address; anything with spaces, controls or markup is refused, not cleaned.
const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,190}$/;

/** Reads the parameters named in `allowed` from the query and (for POST) the JSON body. */
export async function readParams(
  req: Request,
  allowed: readonly string[],
): Promise<Map<string, string>> {
  const url = new URL(req.url);
  const params = new Map<string, string>();
  for (const key of new Set(url.searchParams.keys())) {
    if (!allowed.includes(key)) {
      throw new AppError("invalid_request", `Unknown parameter; expected ${allowed.join(", ")}.`);
    }
    const values = url.searchParams.getAll(key);
    if (values.length > 1) {
      throw new AppError("invalid_request", `${key} was given more than once.`);
    }
    params.set(key, values[0]!);
  }
  if (req.method === "POST") {
    for (const [key, value] of Object.entries(await readJsonObject(req))) {
      if (!allowed.includes(key)) {
        throw new AppError("invalid_request", `Unknown field; expected ${allowed.join(", ")}.`);
      }
      if (typeof value !== "string") {
        throw new AppError("invalid_request", `${key} must be a string.`);
      }
      if (params.has(key)) {
        throw new AppError("invalid_request", `${key} was given in both the query and the body.`);
      }
      params.set(key, value);
    }
  }
  return params;
}

/** An empty body is `{}`; otherwise a JSON object of at most `maxBytes` (MAX_BODY_BYTES). */
export async function readJsonObject(
  req: Request,
  maxBytes = MAX_BODY_BYTES,
): Promise<Record<string, unknown>> {
  const parsed = await readJsonBody(req, maxBytes);
  if (parsed === undefined) return {};
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new AppError("invalid_request", "The body must be a JSON object.");
  }
  return parsed as Record<string, unknown>;
}

/**
 * A JSON body of at most `maxBytes` (undefined when empty): application/json, valid UTF-8, no
 * key repeated in any object. The size is enforced while reading, whatever Content-Length says.
 */
export async function readJsonBody(req: Request, maxBytes: number): Promise<unknown> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const bytes = await readLimited(req, maxBytes);
  if (bytes.length === 0) return undefined;
  const type = (req.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/json") {
    throw new AppError("unsupported_media_type", "Send the body as application/json.");
  }
  let parsed: unknown;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    parsed = JSON.parse(text);
  } catch {
    throw new AppError("invalid_request", "The body is not valid JSON.");
  }
  const repeated = repeatedJsonKey(text);
  if (repeated !== null) {
    // JSON.parse keeps the last of two equal keys, other parsers the first: refuse either way.
    throw new AppError("invalid_request", "A field was given more than once.");
  }
  return parsed;
}

/**
 * The first key that appears twice in one object of `text` (valid JSON), compared after
 * unescaping (`"a"` and `"\u0061"` are the same key); null when there is none. A small scanner,
 * since JSON.parse (and its reviver) sees only the last of equal keys.
 */
export function repeatedJsonKey(text: string): string | null {
  // One frame per open object (its keys) or array (null).
  const frames: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      const frame = frames.at(-1);
      if (expectKey && frame) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (frame.has(key)) return key;
        frame.add(key);
      }
      expectKey = false;
      i = end;
    } else if (c === "{") {
      frames.push(new Set());
      expectKey = true;
    } else if (c === "[") {
      frames.push(null);
      expectKey = false;
    } else if (c === "}" || c === "]") {
      frames.pop();
      expectKey = false;
    } else if (c === ",") {
      expectKey = frames.at(-1) instanceof Set;
    }
  }
  return null;
}

async function readLimited(req: Request, limit: number): Promise<Uint8Array> {
  if (!req.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

function tooLarge(limit: number): AppError {
  return new AppError("payload_too_large", `The body must be at most ${limit} bytes.`);
}

/**
 * The user a request is about. The bot (bot key or service credentials) must name one; a
 * signed-in user may only name themself (or nobody, meaning themself).
 */
export function resolveUserId(caller: Caller, requested: string | undefined): string {
  const userId = requested === undefined ? undefined : normalizeUserId(requested);
  if (caller.kind === "service" || caller.kind === "bot") {
    if (!userId) throw new AppError("invalid_request", "user_id is required.");
    return userId;
  }
  if (userId && userId !== caller.userId) {
    throw new AppError("forbidden", "You can only act for your own account.");
  }
  return caller.userId;
}

/**
 * An optional email parameter (`login_hint`, `expected_google_email`): a plain address or
 * nothing. Anything with spaces, controls or markup is refused, not cleaned.
 */
export function checkEmailParam(name: string, value: string | undefined): string | undefined {
  if (value === undefined || value === "") return undefined;
  if (value.length > 254 || !EMAIL.test(value)) {
    throw new AppError("invalid_request", `${name} must be an email address.`);
  }
  return value;
}

/**
 * The common front of every per-user function: method check, caller authentication, then the
 * parameters and the user they are about. Nothing is read before the caller is known.
 */
export async function readUserRequest(
  req: Request,
  callers: CallerVerifier,
  options: { methods: readonly string[]; params: readonly string[] },
): Promise<{ userId: string; params: Map<string, string> }> {
  if (!options.methods.includes(req.method)) {
    throw new AppError("method_not_allowed", `Use ${options.methods.join(" or ")}.`);
  }
  const caller = await callers.authenticate(req);
  const params = await readParams(req, ["user_id", ...options.params]);
  return { userId: resolveUserId(caller, params.get("user_id")), params };
}
