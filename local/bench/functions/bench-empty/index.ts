// Benchmark baseline: a function that imports nothing and answers at once (cold start floor,
// and the gateway hop every request pays).
Deno.serve(() => new Response("ok\n"));
