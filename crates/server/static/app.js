// Progressive enhancement only: every page works without this file.
// 1. Live search: typing in a list's filter form refreshes the results without a full reload.
// 2. Forms with data-confirm ask before submitting (deletes).
// 3. Reference fields are a type-ahead: typing offers the matching records of the referenced
//    list (/lookup/…), and picking one fills the hidden id the form submits.
// 4. Forms marked data-inplace (a task's "Done") are sent without leaving the page, and their
//    row goes once the server took the change; if it did not, the page reloads to show why.
// 5. The order form's lines: the JSON field becomes rows of product (a type-ahead over
//    /lookup/products), quantity and discount, kept written back into the field; each change
//    asks /orders/preview to price the order and shows the unit prices, nets and totals.
// 6. A timeline's "Show more" appends the next page's events in place (the link opens that
//    page without this file).
// 7. The header's Notifications link shows the unread count (/notifications/badge).
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
  var linesField = document.querySelector("form#order-form textarea[name=lines]");
  if (linesField) orderLines(linesField);

  function orderLines(field) {
    var form = field.form;
    var stored = [];
    try { stored = JSON.parse(field.value || "[]"); } catch (e) { stored = []; }
    // The rows replace the field's label (the field stays in the form, hidden, and is sent).
    var label = field.closest("label") || field;
    label.hidden = true;
    var box = document.createElement("div");
    box.className = "order-lines";
    box.innerHTML = '<table class="list compact"><thead><tr><th>Product</th><th class="num">Quantity</th><th class="num">Discount %</th>' +
      '<th class="num">Unit price</th><th class="num">Net</th><th></th></tr></thead><tbody></tbody></table>' +
      '<button type="button" class="add-line">Add line</button><p class="field-error" role="alert" hidden></p>' +
      '<table class="list compact totals"><tbody></tbody></table>';
    label.after(box);
    var body = box.querySelector("tbody"), problem = box.querySelector(".field-error"), totals = box.querySelector(".totals tbody");
    var timer = null, seq = 0;

    function money(minor, currency) {
      if (minor === undefined || minor === null) return "";
      var sign = minor < 0 ? "-" : "", a = Math.abs(minor);
      return sign + Math.floor(a / 100).toLocaleString("en") + "." + String(a % 100).padStart(2, "0") + " " + (currency || "");
    }
    function addRow(line) {
      var tr = document.createElement("tr");
      tr.dataset.product = line.product_id || "";
      tr.dataset.price = line.unit_price_minor === undefined ? "" : line.unit_price_minor;
      tr.dataset.discountMinor = line.discount_minor || 0;
      tr.innerHTML = '<td><input type="search" class="line-product" placeholder="Type a product…" autocomplete="off" aria-label="Product"><datalist></datalist></td>' +
        '<td class="num"><input type="text" inputmode="numeric" class="line-quantity" aria-label="Quantity" size="4"></td>' +
        '<td class="num"><input type="text" inputmode="decimal" class="line-discount" aria-label="Discount %" size="5"></td>' +
        '<td class="num line-price"></td><td class="num line-net"></td><td><button type="button" class="link remove-line">Remove</button></td>';
      var product = tr.querySelector(".line-product"), list = tr.querySelector("datalist");
      list.id = "products-" + Math.random().toString(36).slice(2);
      product.setAttribute("list", list.id);
      product.value = line.name || "";
      tr.querySelector(".line-quantity").value = line.quantity || 1;
      tr.querySelector(".line-discount").value = line.discount_bp ? line.discount_bp / 100 : "";
      var found = [];
      function pick() {
        var hit = found.find(function (r) { return r.title === product.value; });
        if (hit && String(hit.id) !== tr.dataset.product) { tr.dataset.product = hit.id; tr.dataset.price = ""; tr.dataset.discountMinor = 0; changed(); }
      }
      product.addEventListener("input", function () {
        pick();
        fetch("/lookup/products?q=" + encodeURIComponent(product.value), { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (r) { return r.json(); })
          .then(function (rows) {
            found = rows;
            list.replaceChildren.apply(list, rows.map(function (r) { var o = document.createElement("option"); o.value = r.title; return o; }));
            pick();
          });
      });
      product.addEventListener("change", pick);
      tr.querySelector(".remove-line").addEventListener("click", function () { tr.remove(); changed(); });
      body.appendChild(tr);
      return tr;
    }
    function lines() {
      return Array.prototype.filter.call(body.children, function (tr) { return tr.dataset.product; }).map(function (tr) {
        var line = { product_id: Number(tr.dataset.product) };
        var q = tr.querySelector(".line-quantity").value.trim();
        line.quantity = q === "" ? 1 : (Number(q) || q);
        var d = tr.querySelector(".line-discount").value.trim();
        if (d !== "") line.discount_bp = Math.round(Number(d) * 100);
        if (tr.dataset.price !== "") line.unit_price_minor = Number(tr.dataset.price);
        if (Number(tr.dataset.discountMinor)) line.discount_minor = Number(tr.dataset.discountMinor);
        return line;
      });
    }
    function changed() {
      field.value = JSON.stringify(lines());
      clearTimeout(timer);
      timer = setTimeout(price, 150);
    }
    function price() {
      var mine = ++seq;
      var rows = Array.prototype.filter.call(body.children, function (tr) { return tr.dataset.product; });
      if (!rows.length) { totals.innerHTML = ""; problem.hidden = true; return; }
      fetch("/orders/preview", { method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
        .then(function (res) {
          if (mine !== seq) return;
          if (!res.ok) {
            var errs = (res.body.errors || []).map(function (e) { return e.field + ": " + e.message; });
            problem.textContent = errs.length ? errs.join("; ") : res.body.detail;
            problem.hidden = false;
            return;
          }
          problem.hidden = true;
          var p = res.body, c = p.currency;
          rows.forEach(function (tr, i) {
            tr.querySelector(".line-price").textContent = p.lines[i] ? money(p.lines[i].unit_price_minor, c) : "";
            tr.querySelector(".line-net").textContent = p.totals.lines[i] ? money(p.totals.lines[i].net_minor, c) : "";
            var name = tr.querySelector(".line-product");
            if (!name.value && p.lines[i]) name.value = p.lines[i].name;
          });
          var t = p.totals;
          totals.innerHTML = "";
          [["Subtotal", t.subtotal_minor], ["Discounts", t.discount_minor], ["Tax", t.tax_minor], ["Total", t.total_minor]].forEach(function (x) {
            var tr = document.createElement("tr");
            tr.innerHTML = "<td></td><td class=\"num\"></td>";
            tr.firstChild.textContent = x[0];
            tr.lastChild.textContent = money(x[1], c);
            if (x[0] === "Total") tr.id = "order-total";
            totals.appendChild(tr);
          });
        });
    }
    stored.forEach(addRow);
    if (!stored.length) addRow({});
    box.querySelector(".add-line").addEventListener("click", function () { addRow({}).querySelector(".line-product").focus(); });
    box.addEventListener("input", function (e) { if (!e.target.classList.contains("line-product")) changed(); });
    form.addEventListener("change", function (e) { if (e.target.name === "tax_rate_bp" || e.target.name === "currency") changed(); });
    form.addEventListener("submit", function () { field.value = JSON.stringify(lines()); });
    if (stored.length) price();
  }
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
  var bell = document.getElementById("notifications-link");
  if (bell) {
    fetch("/notifications/badge", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (n) {
        if (!n) return;
        var b = document.createElement("span");
        b.className = "badge";
        b.textContent = n;
        bell.appendChild(document.createTextNode(" "));
        bell.appendChild(b);
      });
  }
})();

// The import page (/data/import): the file goes up as the request body, with the form's
// CSRF token in a header, and the browser follows to the job's page.
(function () {
  var form = document.getElementById("import-form");
  if (!form) return;
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var file = document.getElementById("import-file").files[0];
    var error = document.getElementById("import-error");
    if (!file) return;
    var q = new URLSearchParams();
    q.set("kind", form.elements.kind.value);
    q.set("mode", form.querySelector("input[name=mode]:checked").value);
    if (document.getElementById("import-dry-run").checked) q.set("dry_run", "true");
    if (form.elements.mapping_id.value) q.set("mapping_id", form.elements.mapping_id.value);
    q.set("file_name", file.name);
    fetch("/data/import/upload?" + q.toString(), {
      method: "POST", body: file, credentials: "same-origin",
      headers: { "x-csrf-token": form.getAttribute("data-csrf"), "content-type": "text/csv" }
    }).then(function (r) {
      if (r.ok) return r.json().then(function (j) { location.href = j.location; });
      return r.text().then(function (t) { error.textContent = t; error.hidden = false; });
    });
  });
})();
