// Progressive enhancement only: every page works without this file.
// 1. Live search: typing in a list's filter form refreshes the results without a full reload.
// 2. Forms with data-confirm ask before submitting (deletes).
// 3. Reference fields are a type-ahead: typing offers the matching records of the referenced
//    list (/lookup/…), and picking one fills the hidden id the form submits.
// 4. Forms marked data-inplace (a task's "Done") are sent without leaving the page, and their
//    row goes once the server took the change; if it did not, the page reloads to show why.
// 5. A timeline's "Show more" appends the next page's events in place (the link opens that
//    page without this file).
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
  document.querySelectorAll("input.lookup[data-lookup]").forEach(function (input) {
    var hidden = input.form.querySelector('input[type="hidden"][name="' + input.dataset.for + '"]');
    var list = document.createElement("datalist");
    list.id = "lookup-" + input.dataset.for;
    input.after(list);
    input.setAttribute("list", list.id);
    var found = [], timer = null, seq = 0;
    function label(r) {
      var same = found.filter(function (f) { return f.title === r.title; }).length;
      return same > 1 ? r.title + " (#" + r.id + ")" : r.title;
    }
    function pick() {
      var hit = found.find(function (r) { return label(r) === input.value; });
      if (hit) hidden.value = hit.id;
      else if (input.value.trim() === "") hidden.value = "";
    }
    input.addEventListener("input", function () {
      pick();
      clearTimeout(timer);
      timer = setTimeout(function () {
        var mine = ++seq;
        fetch(input.dataset.lookup + "?q=" + encodeURIComponent(input.value), { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (r) { return r.json(); })
          .then(function (rows) {
            if (mine !== seq) return;
            found = rows;
            list.replaceChildren.apply(list, rows.map(function (r) { var o = document.createElement("option"); o.value = label(r); return o; }));
            pick();
          });
      }, 150);
    });
    input.addEventListener("change", pick);
  });
  document.querySelectorAll("form[data-inplace]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin" })
        .then(function (r) {
          if (!r.ok) { location.reload(); return; }
          var row = form.closest("tr");
          var body = row && row.parentNode;
          if (row) row.remove();
          if (body && !body.querySelector("tr")) {
            var empty = document.createElement("tr");
            empty.innerHTML = '<td colspan="4" class="muted">Nothing here.</td>';
            body.appendChild(empty);
          }
        })
        .catch(function () { form.submit(); });
    });
  });
  document.addEventListener("click", function (e) {
    var more = e.target.closest && e.target.closest("a[data-timeline-more]");
    if (!more) return;
    e.preventDefault();
    fetch(more.href, { headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var list = more.closest("section").querySelector("#timeline-events");
        doc.querySelectorAll("#timeline-events > li.event").forEach(function (li) { list.appendChild(document.importNode(li, true)); });
        var next = doc.querySelector("a[data-timeline-more]");
        if (next) more.href = next.getAttribute("href"); else more.parentNode.remove();
      })
      .catch(function () { location.href = more.href; });
  });
})();
