// Drives the gateway with the official npm `openai` package, unchanged, and prints one JSON line of findings.
import OpenAI from "openai";

const { BASE_URL, API_KEY, QUOTA_KEY } = process.env;
const client = new OpenAI({ baseURL: BASE_URL, apiKey: API_KEY, maxRetries: 0 });
const out = {};

const chat = await client.chat.completions.create({ model: "daprllm-demo", messages: [{ role: "user", content: "hi" }], max_tokens: 16 });
out.chat = chat.choices[0].message.content;
out.usage = chat.usage.total_tokens;

let streamed = "";
let finish = null;
const stream = await client.chat.completions.create({
  model: "daprllm-demo", messages: [{ role: "user", content: "hi" }], stream: true, stream_options: { include_usage: true },
});
for await (const chunk of stream) {
  if (chunk.choices.length > 0) {
    streamed += chunk.choices[0].delta.content ?? "";
    finish = chunk.choices[0].finish_reason ?? finish;
  } else if (chunk.usage) {
    out.streamUsage = chunk.usage.completion_tokens;
  }
}
out.stream = streamed;
out.finish = finish;

const emb = await client.embeddings.create({ model: "daprllm-embed", input: ["abcd"] });
out.embedding = emb.data[0].embedding[0];

const mod = await client.moderations.create({ model: "omni-moderation-latest", input: "forbidden" });
out.flagged = mod.results[0].flagged;

async function errorOf(fn) {
  try { await fn(); return "none"; } catch (e) { return `${e.constructor.name}:${e.status}`; }
}
out.unauthorized = await errorOf(() => new OpenAI({ baseURL: BASE_URL, apiKey: "dl-bad", maxRetries: 0 }).models.list());
out.notFound = await errorOf(() => client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "hi" }] }));
out.rateLimited = await errorOf(() => new OpenAI({ baseURL: BASE_URL, apiKey: QUOTA_KEY, maxRetries: 0 })
  .chat.completions.create({ model: "daprllm-demo", messages: [{ role: "user", content: "hi" }] }));

console.log(JSON.stringify(out));
