// Progressive enhancement only: every page works without this file.
// 1. Live search: typing in a list's filter form refreshes the results without a full reload.
// 2. Forms with data-confirm ask before submitting (deletes).
(function () {
  document.querySelectorAll("form[data-live]").forEach(function (form) {
    var target = document.getElementById(form.dataset.live);
    var timer = null, seq = 0;
    function refresh() {
      var params = new URLSearchParams(new FormData(form));
      var url = form.action + "?" + params.toString();
      var mine = ++seq;
      fetch(url, { headers: { "Accept": "text/html" }, credentials: "same-origin" })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          if (mine !== seq) return; // a newer keystroke already asked again
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.getElementById(form.dataset.live);
          if (fresh && target) { target.replaceWith(fresh); target = fresh; }
          history.replaceState(null, "", url);
        });
    }
    form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 200); });
    form.addEventListener("change", function () { clearTimeout(timer); refresh(); });
  });
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (e) { if (!confirm(form.dataset.confirm)) e.preventDefault(); });
  });
})();
