// What the Node client scripts share: the gateway's address, key and model from the
// environment (set by tests/clients/test_node_clients.py), the tool and prompts the Python
// tests use too, and one JSON line on stdout with the results (errors included, as data).
export const env = {
  baseURL: process.env.MYIA_BASE_URL,
  apiKey: process.env.MYIA_API_KEY,
  model: process.env.MYIA_MODEL,
};
for (const [name, value] of Object.entries(env)) {
  if (!value) throw new Error(`${name} is not set`);
}

export const WEATHER_PROMPT = "What is the weather in Lisbon?";
export const TOOL_RESULT = { temp_c: 21, sky: "clear" };
export const PERSON_PROMPT = "Give the name and age of a person as JSON.";
export const WEATHER_TOOL = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather in a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string", description: "The city" } },
      required: ["city"],
    },
  },
};

// An error as the test reads it: the class the library raised, and what it carries.
export function describeError(err) {
  return {
    class: err?.constructor?.name,
    name: err?.name,
    status: err?.status ?? err?.statusCode ?? null,
    code: err?.code ?? null,
    param: err?.param ?? null,
    message: String(err?.message ?? err).slice(0, 500),
  };
}

// Runs the cases named on the command line, one after the other, and prints one JSON object:
// each case's result (or the error it raised) under its name.
export async function run(cases) {
  const names = process.argv.slice(2);
  const unknown = names.filter((name) => !cases[name]);
  if (!names.length || unknown.length) {
    throw new Error(`unknown case(s) ${unknown}; known: ${Object.keys(cases).join(", ")}`);
  }
  const results = {};
  for (const name of names) {
    try {
      results[name] = await cases[name]();
    } catch (err) {
      results[name] = { error: describeError(err) };
    }
  }
  process.stdout.write(JSON.stringify(results) + "\n");
}
