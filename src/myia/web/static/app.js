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

  function sentContext(m) {
    if (!m.sent_context) return null;
    const details = document.createElement("details");
    details.className = "sent-context";
    const summary = document.createElement("summary");
    summary.textContent = "What was sent to the model";
    const pre = document.createElement("pre");
    pre.textContent = JSON.stringify(m.sent_context, null, 2);  // text, never HTML
    details.append(summary, pre);
    return details;
  }

  function initComposer() {
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
            const sent = sentContext(payload);
            if (sent) answer.appendChild(sent);
            answer.removeAttribute("aria-busy");
          }
        }
      }
    } finally {
      button.disabled = false;
      box.focus();
    }
  });
  }

  // "Load earlier": a plain link without script; with it, the page before is fetched and its
  // messages go above the ones shown, the reader's place on the page kept.
  document.addEventListener("click", async function (event) {
    const link = event.target.closest ? event.target.closest("a[data-earlier]") : null;
    if (!link) return;
    event.preventDefault();
    if (link.dataset.loading) return;
    link.dataset.loading = "1";
    try {
      const response = await fetch(link.href, { credentials: "same-origin" });
      if (!response.ok) { window.location.href = link.href; return; }
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = doc.getElementById("messages");
      const box = document.getElementById("messages");
      const slot = document.getElementById("load-earlier");
      if (!fresh || !box || !slot) { window.location.href = link.href; return; }
      const scroller = document.scrollingElement || document.documentElement;
      const height = scroller.scrollHeight, top = scroller.scrollTop;
      const anchor = slot.nextSibling;
      for (const article of fresh.querySelectorAll("article.msg")) {
        box.insertBefore(document.importNode(article, true), anchor);
      }
      const next = fresh.querySelector("#load-earlier");
      if (next) slot.replaceWith(document.importNode(next, true)); else slot.remove();
      scroller.scrollTop = top + (scroller.scrollHeight - height);
    } finally {
      delete link.dataset.loading;
    }
  });

  // A destructive form asks first.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  }, true);

  // While no model can answer (the demo's first certification), follow the job: every few
  // seconds (slower when no job runs, and not forever), update the figures; once a model has
  // passed, the conversation is fetched again and swapped in — no reload.
  function followReadiness() {
    const notice = document.getElementById("readiness");
    if (!notice) return;
    const url = notice.dataset.progressUrl, then = notice.dataset.then;
    const started = Date.now();
    const FAST_MS = 2000, SLOW_MS = 10000, GIVE_UP_MS = 30 * 60 * 1000;
    async function swap() {
      const response = await fetch(window.location.href, { credentials: "same-origin" });
      if (!response.ok) return false;
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = doc.getElementById("conversation");
      const here = document.getElementById("conversation");
      if (!fresh || !here) return false;
      here.replaceWith(document.importNode(fresh, true));
      initComposer();
      followReadiness();
      return true;
    }
    function show(data) {
      const job = data.certifying;
      if (job) {
        for (const name of ["processed", "total", "success"]) {
          const slot = notice.querySelector('[data-field="' + name + '"]');
          if (slot) slot.textContent = String(job[name]);
        }
        const bar = notice.querySelector("progress");
        if (bar) { bar.max = job.total || 1; bar.value = job.processed; }
        if (!notice.querySelector("[data-field]")) {
          notice.textContent = "Models are being certified: " + job.processed + " of " +
            job.total + " checked, " + job.success + " passed.";
        }
      } else if (then === "swap") {
        // The job ended and no model passed: say so rather than show stale figures.
        if (notice.querySelector("[data-field]")) {
          notice.textContent = "No model is certified for chat yet.";
        }
      } else {
        notice.textContent = "Certification finished. ";
        const again = document.createElement("a");
        again.href = window.location.href;
        again.textContent = "Reload to see every badge";
        notice.appendChild(again);
      }
    }
    async function poll() {
      let delay = FAST_MS;
      try {
        const response = await fetch(url, {
          credentials: "same-origin", headers: { "Accept": "application/json" },
        });
        if (response.ok) {
          const data = await response.json();
          if (then === "swap" && data.models > 0 && await swap()) return;
          show(data);
          if (!data.certifying) {
            if (then !== "swap") return;
            delay = SLOW_MS;
          }
        } else {
          delay = SLOW_MS;
        }
      } catch (e) {
        delay = SLOW_MS;  // the server restarting: try again later
      }
      if (Date.now() - started < GIVE_UP_MS) window.setTimeout(poll, delay);
    }
    window.setTimeout(poll, FAST_MS);
  }

  // A chat opens on its newest messages: show the last one.
  const newest = document.querySelector("#messages[data-newest] article.msg:last-of-type");
  if (newest && !window.location.hash) newest.scrollIntoView({ block: "end" });
  initComposer();
  followReadiness();
})();
