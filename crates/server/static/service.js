// The ticket page's "X is replying" notice (progressive enhancement: without this file the
// page works, it just does not say who else is writing).
// While this agent's reply box has focus or text, the page tells the server every 10 seconds
// (the server forgets after 30); every 5 seconds it asks who else is replying and shows it.
(function () {
  var box = document.getElementById("replying");
  var reply = document.querySelector("#reply textarea[name=body]");
  if (!box) return;
  var url = box.dataset.url;
  var csrf = box.dataset.csrf;
  function show(data) {
    if (!data) return;
    box.textContent = data.text || "";
    box.hidden = !data.text;
  }
  function tell(on) {
    var body = new URLSearchParams({ _csrf: csrf, replying: on ? "1" : "0" });
    return fetch(url, { method: "POST", body: body, credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(show)
      .catch(function () {});
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(show)
      .catch(function () {});
  }
  var active = false;
  function busy() {
    return reply && (document.activeElement === reply || reply.value.trim() !== "");
  }
  if (reply) {
    reply.addEventListener("focus", function () { if (!active) { active = true; tell(true); } });
    reply.addEventListener("blur", function () { if (active && !busy()) { active = false; tell(false); } });
    if (reply.form) reply.form.addEventListener("submit", function () { active = false; });
  }
  setInterval(function () { if (active && busy()) tell(true); }, 10000);
  setInterval(poll, 5000);
  window.addEventListener("pagehide", function () {
    if (active && navigator.sendBeacon) {
      navigator.sendBeacon(url, new URLSearchParams({ _csrf: csrf, replying: "0" }));
    }
  });
})();
