import assert from "node:assert/strict";
import { readServiceAccountKey } from "./risc_register.ts";

Deno.test("risc:register: an unreadable key file's error quotes none of its contents", async () => {
  const secret = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7";
  const dir = await Deno.makeTempDir();
  try {
    for (const text of [secret, `{"private_key": ${secret}}`, `{"private_key":"${secret}"`]) {
      await Deno.writeTextFile(`${dir}/key.json`, text);
      await assert.rejects(readServiceAccountKey(`${dir}/key.json`), (e: unknown) => {
        assert.ok(e instanceof Error);
        assert.ok(!e.message.includes(secret.slice(0, 8)), e.message);
        assert.match(e.message, /not a service-account key file/);
        return true;
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
