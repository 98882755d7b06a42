// MyIA pages: the CSRF header on every htmx request, and the chat's streamed answers. No
// inline scripts anywhere, so a strict Content-Security-Policy (script-src 'self') holds.
"use strict";
(function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.content : "";
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrf;
  });

  function usd(value) {
    if (value === null || value === undefined) return "cost unknown";
    if (value === 0) return "$0";
    return "$" + value.toFixed(6).replace(/0+$/, "").replace(/\.$/, "");
  }
  function ms(value) {
    return value === null || value === undefined ? "—" : Math.round(value).toLocaleString("en") + " ms";
  }
  function telemetry(m) {
    if (m.status !== "complete") return m.status + (m.error ? " — " + m.error : "");
    let text = (m.cost === null ? (m.cost_note || "cost unknown") : usd(m.cost)) +
      " · " + (m.tokens_in || 0) + " in / " + (m.tokens_out || 0) + " out tokens · " + ms(m.latency_ms);
    if (m.time_to_first_token_ms) text += " (first token " + ms(m.time_to_first_token_ms) + ")";
    if (m.region) text += " · " + m.region;
    return text;
  }
  function bubble(role, text) {
    const article = document.createElement("article");
    article.className = "msg msg-" + role;
    article.dataset.role = role;
    const p = document.createElement("p");
    p.textContent = text;
    article.appendChild(p);
    document.getElementById("messages").appendChild(article);
    return article;
  }
  function showErrors(form, errors) {
    for (const name of ["model", "content"]) {
      const slot = form.querySelector("#f-" + name + "-error");
      if (!slot) continue;
      const message = errors[name] || (name === "content" ? errors.form : "");
      slot.textContent = message || "";
      slot.hidden = !message;
    }
  }

  const form = document.getElementById("composer");
  if (!form) return;
  const box = form.querySelector("textarea");
  box.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const content = box.value.trim();
    if (!content) { showErrors(form, { content: "Type a message first." }); return; }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    showErrors(form, {});
    const body = new FormData(form);
    try {
      const response = await fetch(form.action, {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "Accept": "text/event-stream", "X-CSRF-Token": csrf },
      });
      if (!response.ok) {
        let errors = { form: "The message was refused (" + response.status + ")." };
        try { errors = (await response.json()).errors || errors; } catch (e) { /* not JSON */ }
        showErrors(form, errors);
        return;
      }
      bubble("user", content);
      box.value = "";
      const answer = bubble("assistant", "");
      answer.setAttribute("aria-busy", "true");
      const text = answer.querySelector("p");
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let name = "message", data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) name = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
          }
          const payload = data ? JSON.parse(data) : {};
          if (name === "delta") text.textContent += payload.text;
          else if (name === "done") {
            const info = document.createElement("div");
            info.className = "telemetry";
            info.textContent = telemetry(payload);
            answer.appendChild(info);
            answer.removeAttribute("aria-busy");
          }
        }
      }
    } finally {
      button.disabled = false;
      box.focus();
    }
  });
})();
