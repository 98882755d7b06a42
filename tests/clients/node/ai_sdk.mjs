// The Vercel AI SDK (npm `ai` + `@ai-sdk/openai`) against the gateway, through
// createOpenAI({ baseURL }).chat(model): Chat Completions. node ai_sdk.mjs <case>...
import { createOpenAI } from "@ai-sdk/openai";
import {
  APICallError,
  generateObject,
  generateText,
  stepCountIs,
  streamText,
  tool,
} from "ai";
import { z } from "zod";

import { describeError, env, PERSON_PROMPT, run, TOOL_RESULT, WEATHER_PROMPT } from "./common.mjs";

const provider = createOpenAI({ baseURL: env.baseURL, apiKey: env.apiKey });
const model = provider.chat(env.model);

function weatherTool(calls) {
  return tool({
    description: "Current weather in a city",
    inputSchema: z.object({ city: z.string().describe("The city") }),
    execute: async (input) => {
      calls.push(input);
      return TOOL_RESULT;
    },
  });
}

// Whether `promise` rejects with the AI SDK's APICallError, and its status.
async function raised(promise) {
  try {
    await promise;
    return { raised: null };
  } catch (err) {
    return { raised: describeError(err), apiCallError: APICallError.isInstance(err) };
  }
}

await run({
  async chat() {
    const result = await generateText({ model, prompt: "What is 12 + 30?", maxRetries: 0 });
    return { text: result.text, finish: result.finishReason, usage: result.usage };
  },

  async stream() {
    const errors = [];
    const result = streamText({
      model,
      prompt: "Reply with exactly: harbour juniper",
      maxRetries: 0,
      onError: ({ error }) => errors.push(describeError(error)),
    });
    let text = "";
    for await (const delta of result.textStream) text += delta;
    if (errors.length) return { error: errors[0] };
    return { text, finish: await result.finishReason, usage: await result.usage };
  },

  async tools() {
    const calls = [];
    const result = await generateText({
      model,
      prompt: WEATHER_PROMPT,
      tools: { get_weather: weatherTool(calls) },
      stopWhen: stepCountIs(3),
      maxRetries: 0,
    });
    return {
      steps: result.steps.map((s) => ({
        finish: s.finishReason,
        toolCalls: s.toolCalls.map((c) => ({ name: c.toolName, input: c.input })),
        text: s.text,
      })),
      executed: calls,
      text: result.text,
    };
  },

  async structured() {
    const result = await generateObject({
      model,
      schema: z.object({ name: z.string(), age: z.number().int() }),
      prompt: PERSON_PROMPT,
      maxRetries: 0,
    });
    return { object: result.object, finish: result.finishReason };
  },

  async toolChoiceNone() {
    const calls = [];
    const result = await generateText({
      model,
      prompt: WEATHER_PROMPT,
      tools: { get_weather: weatherTool(calls) },
      toolChoice: "none",
      maxRetries: 0,
    });
    return {
      finish: result.finishReason,
      text: result.text,
      toolCalls: result.toolCalls.map((c) => c.toolName),
      executed: calls,
    };
  },

  async errors() {
    const stranger = createOpenAI({ baseURL: env.baseURL, apiKey: "myia-not-a-key" });
    const ask = (m, extra = {}) => generateText({ model: m, prompt: "hi", maxRetries: 0, ...extra });
    return {
      badKey: await raised(ask(stranger.chat(env.model))),
      unknownModel: await raised(ask(provider.chat("no-such-model"))),
      badValue: await raised(ask(model, { temperature: 5 })),
    };
  },
});
