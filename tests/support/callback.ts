/** What a browser sees from google-callback, read without following the 303 to the result page. */

export interface CallbackAnswer {
  status: number;
  /** The result page's `result`, when redirected there. */
  result: string | null;
  /** The result page's `reason`, or the `x-error-code` of a refused request. */
  reason: string | null;
  location: string | null;
}

export async function followCallback(
  url: URL | string,
  init: RequestInit = {},
): Promise<CallbackAnswer> {
  const res = await fetch(url, { redirect: "manual", ...init });
  await res.body?.cancel();
  const location = res.headers.get("location");
  const target = location ? new URL(location) : null;
  return {
    status: res.status,
    location,
    result: target?.searchParams.get("result") ?? null,
    reason: target?.searchParams.get("reason") ?? res.headers.get("x-error-code"),
  };
}
