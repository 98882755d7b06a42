// openai-node (npm `openai`) against the gateway: node openai_node.mjs <case>...
import OpenAI from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import { z } from "zod";

import {
  describeError,
  env,
  PERSON_PROMPT,
  run,
  TOOL_RESULT,
  WEATHER_PROMPT,
  WEATHER_TOOL,
} from "./common.mjs";

const client = new OpenAI({ baseURL: env.baseURL, apiKey: env.apiKey, maxRetries: 0 });
const model = env.model;

// Which of openai-node's error classes `promise` rejects with.
async function raised(promise) {
  try {
    await promise;
    return { raised: null };
  } catch (err) {
    const classes = ["AuthenticationError", "NotFoundError", "BadRequestError", "APIError"];
    return {
      raised: describeError(err),
      instanceOf: classes.filter((c) => err instanceof OpenAI[c]),
    };
  }
}

await run({
  async chat() {
    const completion = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "What is 12 + 30?" }],
    });
    const choice = completion.choices[0];
    return { content: choice.message.content, finish: choice.finish_reason, usage: completion.usage };
  },

  async stream() {
    const stream = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "Reply with exactly: harbour juniper" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    const finishes = [];
    let last = null;
    for await (const chunk of stream) {
      for (const choice of chunk.choices) {
        text += choice.delta?.content ?? "";
        if (choice.finish_reason) finishes.push(choice.finish_reason);
      }
      last = chunk;
    }
    return { text, finishes, lastChoices: last.choices.length, usage: last.usage ?? null };
  },

  async tools() {
    const messages = [{ role: "user", content: WEATHER_PROMPT }];
    const first = await client.chat.completions.create({ model, messages, tools: [WEATHER_TOOL] });
    const message = first.choices[0].message;
    const call = message.tool_calls?.[0];
    if (!call) return { first: { finish: first.choices[0].finish_reason, message } };
    messages.push(message, {
      role: "tool",
      tool_call_id: call.id,
      content: JSON.stringify(TOOL_RESULT),
    });
    const final = await client.chat.completions.create({ model, messages, tools: [WEATHER_TOOL] });
    return {
      first: {
        finish: first.choices[0].finish_reason,
        name: call.function.name,
        arguments: JSON.parse(call.function.arguments),
      },
      final: {
        finish: final.choices[0].finish_reason,
        content: final.choices[0].message.content,
        toolCalls: final.choices[0].message.tool_calls ?? [],
      },
    };
  },

  async structured() {
    const Person = z.object({ name: z.string(), age: z.number().int() });
    const completion = await client.chat.completions.parse({
      model,
      messages: [{ role: "user", content: PERSON_PROMPT }],
      response_format: zodResponseFormat(Person, "person"),
    });
    const message = completion.choices[0].message;
    return { parsed: message.parsed, content: message.content };
  },

  async toolChoiceNone() {
    const completion = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: WEATHER_PROMPT }],
      tools: [WEATHER_TOOL],
      tool_choice: "none",
    });
    const choice = completion.choices[0];
    return {
      finish: choice.finish_reason,
      content: choice.message.content,
      toolCalls: choice.message.tool_calls ?? [],
    };
  },

  async models() {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    let retrieved;
    try {
      const found = await client.models.retrieve(model);
      retrieved = { id: found.id, object: found.object };
    } catch (err) {
      retrieved = { error: describeError(err) };
    }
    return { ids, retrieved, missing: await raised(client.models.retrieve("no-such-model")) };
  },

  async errors() {
    const hi = [{ role: "user", content: "hi" }];
    const stranger = new OpenAI({ baseURL: env.baseURL, apiKey: "myia-not-a-key", maxRetries: 0 });
    return {
      badKey: await raised(stranger.chat.completions.create({ model, messages: hi })),
      unknownModel: await raised(
        client.chat.completions.create({ model: "no-such-model", messages: hi }),
      ),
      badValue: await raised(
        client.chat.completions.create({ model, messages: hi, temperature: 5 }),
      ),
    };
  },
});
