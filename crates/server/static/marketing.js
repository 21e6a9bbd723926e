// The segment builder (progressive enhancement of the rules' JSON text area, which works
// without this file): nested all/any groups of conditions, each with "not"; a condition is a
// field from the catalogue the page carries, an operator its type takes and a value input of
// that type (the cluster field offers the clusters' names). Every change writes the JSON back
// into the text area and, debounced, asks /segments/preview_count (the session's form, with
// its CSRF token) for the live count; a 422 names each wrong rule's path (rules.all[1].op),
// and the error is shown beside that rule.
(function () {
  var root = document.getElementById("rule-builder");
  if (!root) return;
  var form = root.closest("form");
  var text = document.getElementById("segment-rules");
  var countEl = document.getElementById("live-count");
  var section = document.getElementById("rules-section");
  var kind = document.getElementById("segment-kind");
  var fields = JSON.parse(root.dataset.fields || "[]");
  var clusters = JSON.parse(root.dataset.clusters || "[]");
  var byName = {};
  fields.forEach(function (f) { byName[f.field] = f; });
  var OP_LABELS = { eq: "is", ne: "is not", "in": "is one of", not_in: "is none of", contains: "contains", starts_with: "starts with",
    is_set: "is set", is_empty: "is empty", gt: ">", gte: "≥", lt: "<", lte: "≤", within_last_days: "within the last … days",
    not_within_last_days: "not within the last … days", has: "has", has_not: "has not" };
  var tree;

  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k]; else if (k === "class") e.className = attrs[k]; else e.setAttribute(k, attrs[k]);
    });
    (kids || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }

  function parse() {
    var v;
    try { v = JSON.parse(text.value || "{}"); } catch (e) { return null; }
    if (!v || typeof v !== "object" || Array.isArray(v)) return null;
    if (!v.all && !v.any) v = Object.keys(v).length ? { all: [v] } : { all: [] };
    return v;
  }

  function isGroup(n) { return n && (Array.isArray(n.all) || Array.isArray(n.any)); }

  function newCondition() {
    var f = fields[0] || { field: "", ops: ["eq"] };
    return { field: f.field, op: f.ops[0], value: "" };
  }

  // The value a condition's input holds, typed for its field and operator.
  function typed(f, op, raw) {
    var num = f && (f.type === "number" || f.type === "campaign");
    function one(s) { s = String(s).trim(); if (num && s !== "" && isFinite(Number(s))) return Number(s); if (f && f.type === "bool") return s === "true"; return s; }
    if (op === "in" || op === "not_in") return String(raw).split(",").map(function (s) { return s.trim(); }).filter(Boolean).map(one);
    if (op === "within_last_days" || op === "not_within_last_days") return isFinite(Number(raw)) && String(raw).trim() !== "" ? Number(raw) : raw;
    return one(raw);
  }

  function valueInput(cond, f, onChange) {
    var op = cond.op;
    if (op === "is_set" || op === "is_empty") return null;
    var shown = Array.isArray(cond.value) ? cond.value.join(", ") : (cond.value === undefined || cond.value === null ? "" : String(cond.value));
    var input;
    if (f && f.field === "cluster" && clusters.length && (op === "eq" || op === "ne")) {
      input = el("select", { "aria-label": "Cluster" }, clusters.map(function (c) {
        var o = el("option", { value: String(c.cluster), text: c.name });
        if (String(c.cluster) === shown) o.selected = true;
        return o;
      }));
      if (shown === "") { cond.value = clusters[0].cluster; }
    } else if (f && f.type === "bool") {
      input = el("select", { "aria-label": "Value" }, ["true", "false"].map(function (b) { var o = el("option", { value: b, text: b === "true" ? "yes" : "no" }); if (shown === b) o.selected = true; return o; }));
      if (shown === "") cond.value = true;
    } else {
      var type = "text";
      if (f && f.type === "date" && op !== "within_last_days" && op !== "not_within_last_days") type = "date";
      input = el("input", { type: type, value: shown, "aria-label": "Value", placeholder: f && f.type === "campaign" ? "campaign id" : (op === "in" || op === "not_in" ? "a, b, c" : "") });
    }
    input.className = "rule-value";
    input.addEventListener(input.tagName === "SELECT" ? "change" : "input", function () { cond.value = typed(f, cond.op, input.value); onChange(); });
    return input;
  }

  // Draws node `n` at `path`; `replace(newNode)` swaps it in its parent, `remove()` takes it out.
  function draw(n, path, replace, remove) {
    var negated = n && n.not !== undefined;
    var inner = negated ? n.not : n;
    var innerPath = negated ? path + ".not" : path;
    var box = el("div", { class: isGroup(inner) ? "rule-group" : "rule", "data-path": innerPath });
    var wrap = function (x) { return negated ? { not: x } : x; };
    var bar = el("div", { class: "rule-bar" });
    if (remove) {
      var not = el("input", { type: "checkbox", "aria-label": "not" });
      not.checked = negated;
      not.addEventListener("change", function () { replace(not.checked ? { not: inner } : inner); redraw(); });
      bar.appendChild(el("label", { class: "small" }, [not, document.createTextNode(" not ")]));
    }
    if (isGroup(inner)) {
      var key = inner.all ? "all" : "any";
      var sel = el("select", { "aria-label": "Match" }, [el("option", { value: "all", text: "all of (AND)" }), el("option", { value: "any", text: "any of (OR)" })]);
      sel.value = key;
      sel.addEventListener("change", function () { var g = {}; g[sel.value] = inner[key]; replace(wrap(g)); redraw(); });
      bar.appendChild(sel);
      var addC = el("button", { type: "button", class: "small", text: "+ condition" });
      addC.addEventListener("click", function () { inner[key].push(newCondition()); redraw(); });
      var addG = el("button", { type: "button", class: "small", text: "+ group" });
      addG.addEventListener("click", function () { inner[key].push({ any: [newCondition()] }); redraw(); });
      bar.appendChild(addC); bar.appendChild(addG);
      if (remove) { var rm = el("button", { type: "button", class: "small danger", text: "remove group" }); rm.addEventListener("click", function () { remove(); redraw(); }); bar.appendChild(rm); }
      bar.appendChild(el("span", { class: "field-error rule-error", hidden: "" }));
      box.appendChild(bar);
      var list = el("div", { class: "rule-children" });
      inner[key].forEach(function (child, i) {
        list.appendChild(draw(child, innerPath + "." + key + "[" + i + "]",
          function (x) { inner[key][i] = x; },
          function () { inner[key].splice(i, 1); }));
      });
      box.appendChild(list);
      return box;
    }
    var f = byName[inner.field];
    var fieldSel = el("select", { "aria-label": "Field", class: "rule-field" }, fields.map(function (x) { return el("option", { value: x.field, text: x.label }); }));
    if (!f) fieldSel.appendChild(el("option", { value: inner.field || "", text: inner.field || "(choose)" }));
    fieldSel.value = inner.field || "";
    fieldSel.addEventListener("change", function () {
      var nf = byName[fieldSel.value];
      inner.field = fieldSel.value;
      if (nf && nf.ops.indexOf(inner.op) < 0) inner.op = nf.ops[0];
      inner.value = "";
      redraw();
    });
    var ops = f ? f.ops : [inner.op];
    var opSel = el("select", { "aria-label": "Operator", class: "rule-op" }, ops.map(function (o) { return el("option", { value: o, text: OP_LABELS[o] || o }); }));
    if (ops.indexOf(inner.op) < 0) opSel.appendChild(el("option", { value: inner.op || "", text: inner.op || "" }));
    opSel.value = inner.op || "";
    opSel.addEventListener("change", function () {
      inner.op = opSel.value;
      if (inner.op === "is_set" || inner.op === "is_empty") delete inner.value; else if (inner.value === undefined) inner.value = "";
      redraw();
    });
    bar.appendChild(fieldSel); bar.appendChild(opSel);
    var v = valueInput(inner, f, changed);
    if (v) bar.appendChild(v);
    var rm2 = el("button", { type: "button", class: "small danger", text: "×", "aria-label": "Remove condition" });
    rm2.addEventListener("click", function () { remove(); redraw(); });
    bar.appendChild(rm2);
    bar.appendChild(el("span", { class: "field-error rule-error", hidden: "" }));
    box.appendChild(bar);
    return box;
  }

  function redraw() {
    root.replaceChildren(draw(tree, "rules", function (x) { tree = x; }, null));
    changed();
  }

  // Shows each error beside the rule whose path is the longest prefix of the error's field.
  function showErrors(errors) {
    root.querySelectorAll(".rule-error").forEach(function (s) { s.hidden = true; s.textContent = ""; });
    (errors || []).forEach(function (e) {
      if (!e.field || e.field.indexOf("rules") !== 0) return;
      var best = null;
      root.querySelectorAll("[data-path]").forEach(function (n) {
        var p = n.dataset.path, rest = e.field.slice(p.length);
        if (e.field.indexOf(p) === 0 && (rest === "" || rest[0] === "." || rest[0] === "[") && (!best || p.length > best.dataset.path.length)) best = n;
      });
      var slot = best && best.querySelector(".rule-error");
      if (slot) { slot.hidden = false; slot.textContent = (slot.textContent ? slot.textContent + "; " : "") + e.field.slice(best.dataset.path.length).replace(/^\./, "") + " " + e.message; slot.dataset.field = e.field; }
    });
  }

  var timer = null, seq = 0;
  function count() {
    var mine = ++seq;
    var body = new URLSearchParams();
    body.set("_csrf", form.querySelector('input[name="_csrf"]').value);
    body.set("rules", text.value);
    var left = Array.prototype.map.call(form.querySelectorAll("input[data-exclude]:checked"), function (b) { return b.dataset.exclude; });
    body.set("exclude", left.join(","));
    fetch(root.dataset.countUrl, { method: "POST", body: body, credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
      .then(function (res) {
        if (mine !== seq) return;
        if (res.ok) { countEl.textContent = String(res.body.count); countEl.dataset.state = "ok"; showErrors([]); }
        else { countEl.textContent = "—"; countEl.dataset.state = "error"; showErrors(res.body.errors || [{ field: "rules", message: res.body.detail }]); }
      })
      .catch(function () { if (mine === seq) countEl.textContent = "?"; });
  }

  function changed() {
    if (section && section.hidden) return; // a static list has no rules
    text.value = JSON.stringify(tree, null, 2);
    countEl.dataset.state = "counting";
    clearTimeout(timer);
    timer = setTimeout(count, 300);
  }

  tree = parse() || { all: [] };
  if (!text.value.trim()) tree = { all: [newCondition()] };
  root.replaceChildren(draw(tree, "rules", function (x) { tree = x; }, null));
  if (!(section && section.hidden)) text.value = JSON.stringify(tree, null, 2);
  showErrors(JSON.parse(root.dataset.errors || "[]"));
  if (countEl.textContent.trim() === "…") changed();
  // The JSON stays editable: a valid edit redraws the builder.
  text.addEventListener("change", function () { var t = parse(); if (t) { tree = t; redraw(); } });
  if (kind && section) kind.addEventListener("change", function () { section.hidden = kind.value === "static"; if (kind.value === "static") text.value = ""; else changed(); });
  form.querySelectorAll("input[data-exclude]").forEach(function (b) {
    b.addEventListener("change", function () { clearTimeout(timer); timer = setTimeout(count, 300); });
  });
})();
