// MyIA pages: the CSRF header on every htmx request. No inline scripts anywhere, so a strict
// Content-Security-Policy (script-src 'self') keeps working.
"use strict";
(function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  document.addEventListener("htmx:configRequest", function (event) {
    if (meta) event.detail.headers["X-CSRF-Token"] = meta.content;
  });
})();
