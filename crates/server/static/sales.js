// The pipeline board (progressive enhancement: without this file every card links to its deal,
// whose page moves it, and "Show more" and "Reopen" are plain links and forms).
// - Dragging a card onto another column moves the deal: the card's version goes along as the
//   form's `version` (the UI's If-Match), so a card someone moved first answers 412, which is
//   said and the card put back where it really is. Dropping onto a lost column asks why; a
//   closed card is reopened (after asking) into an open column, or with its Reopen button.
// - "Show more" appends a column's next cards; the learned win probabilities arrive afterwards.
// - On a deal's page, its learned win probability and the factors behind it.
(function () {
  var slot = document.getElementById("deal-win");
  if (!slot) return;
  fetch(slot.dataset.win, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { return r.json(); })
    .then(function (j) {
      slot.replaceChildren();
      var p = function (cls, txt) { var e = document.createElement("p"); e.className = cls; e.textContent = txt; slot.appendChild(e); return e; };
      if (!j.ok || !j.deal) { p("muted small", j.ok ? "This deal is not in the model's pipeline view." : j.message); return; }
      var big = p("win-big", "");
      var strong = document.createElement("strong");
      strong.textContent = Math.round(j.deal.p * 100) + "%";
      big.append(strong, " learned · stage says " + Math.round(j.deal.stage_p * 100) + "%");
      var ul = document.createElement("ul");
      ul.className = "factors";
      j.deal.factors.forEach(function (f) {
        var li = document.createElement("li");
        li.className = f.contribution > 0 ? "up" : "down";
        li.textContent = f.label + " (" + (f.contribution > 0 ? "+" : "\u2212") + Math.abs(f.contribution).toFixed(1) + ")";
        ul.appendChild(li);
      });
      slot.appendChild(ul);
      p("muted small", "Learned from " + j.n_closed + " closed deals; held-out ROC AUC " + j.auc.toFixed(2) + ".");
    })
    .catch(function () { slot.textContent = ""; });
})();

(function () {
  var board = document.getElementById("board");
  if (!board) return;
  var csrf = board.dataset.csrf;
  var statusLine = document.getElementById("board-status");
  var weighted = document.getElementById("weighted");
  var wins = null;

  function say(msg, bad) {
    statusLine.textContent = msg;
    statusLine.className = "board-status " + (bad ? "error" : "notice");
  }
  function nameOf(card) { return card.querySelector(".deal-name").textContent; }
  function column(stage) { return board.querySelector('.column[data-stage="' + CSS.escape(stage) + '"]'); }
  function bump(col, by) {
    if (!col) return;
    var n = col.querySelector(".count");
    n.textContent = String(Math.max(0, parseInt(n.textContent, 10) + by));
  }

  function post(card, stage, extra) {
    var body = new URLSearchParams({ _csrf: csrf, version: card.dataset.version, stage: stage });
    Object.keys(extra).forEach(function (k) { body.set(k, extra[k]); });
    return fetch("/opportunities/" + card.dataset.id + "/move", {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": "application/x-www-form-urlencoded" },
      body: body,
    }).then(function (r) {
      return r.json().then(function (j) { return { status: r.status, body: j }; }, function () { return { status: r.status, body: {} }; });
    });
  }

  // Puts a card as the server rendered it into the column of its stage.
  function place(json) {
    var old = document.getElementById("deal-" + json.id);
    var holder = document.createElement("div");
    holder.innerHTML = json.html.trim();
    var fresh = holder.querySelector("article.deal");
    var from = old && old.closest(".column");
    var to = column(json.stage);
    if (old) old.remove();
    if (from !== to) { bump(from, -1); bump(to, 1); }
    if (to && fresh) {
      var cards = to.querySelector(".cards");
      cards.insertBefore(fresh, cards.firstChild);
      wire(fresh);
      showWin(fresh);
    }
    return fresh;
  }

  function reload(card) {
    return fetch("/opportunities/" + card.dataset.id + "/card", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(place);
  }

  function move(card, target, extra) {
    var stage = target.dataset.stage, outcome = target.dataset.outcome, name = nameOf(card);
    extra = extra || {};
    if (stage === card.dataset.stage && !extra.reopen) return;
    if (card.dataset.status !== "open" && !extra.reopen) {
      if (outcome !== "open") { say(name + " is " + card.dataset.status + ": reopen it into an open stage first.", true); return; }
      if (!confirm(name + " is " + card.dataset.status + ". Reopen it into " + target.dataset.name + "?")) return;
      extra.reopen = "1";
    } else if (outcome === "lost" && !extra.lost_reason) {
      var reason = prompt("Why was " + name + " lost?");
      if (reason === null) return;
      extra.lost_reason = reason;
    }
    card.classList.add("moving");
    post(card, stage, extra).then(function (res) {
      card.classList.remove("moving");
      if (res.status === 200) {
        place(res.body);
        say(name + " moved to " + target.dataset.name + ".");
      } else if (res.status === 412) {
        say("Someone moved " + name + " first: it now shows where it is. Move it again if you still want to.", true);
        reload(card);
      } else if (res.status === 409 && (res.body.allowed_actions || []).indexOf("reopen") >= 0 && outcome === "open"
                 && confirm((res.body.detail || "") + "\nReopen it into " + target.dataset.name + "?")) {
        extra.reopen = "1";
        reload(card).then(function (fresh) { if (fresh) move(fresh, target, extra); });
      } else {
        say((res.body && res.body.detail) || "The move was refused.", true);
      }
    });
  }

  function wire(card) {
    card.addEventListener("dragstart", function (e) {
      e.dataTransfer.setData("text/plain", card.dataset.id);
      e.dataTransfer.effectAllowed = "move";
      card.classList.add("dragging");
    });
    card.addEventListener("dragend", function () { card.classList.remove("dragging"); });
    var reopen = card.querySelector("form.reopen");
    if (reopen) {
      reopen.addEventListener("submit", function (e) {
        e.preventDefault();
        move(card, column(reopen.elements.stage.value), { reopen: "1" });
      });
    }
  }

  board.querySelectorAll(".column").forEach(function (col) {
    col.addEventListener("dragover", function (e) { e.preventDefault(); col.classList.add("over"); });
    col.addEventListener("dragleave", function () { col.classList.remove("over"); });
    col.addEventListener("drop", function (e) {
      e.preventDefault();
      col.classList.remove("over");
      var card = document.getElementById("deal-" + e.dataTransfer.getData("text/plain"));
      if (card) move(card, col);
    });
  });
  board.querySelectorAll("article.deal").forEach(wire);

  board.addEventListener("click", function (e) {
    var more = e.target.closest("a[data-more]");
    if (!more) return;
    e.preventDefault();
    fetch(more.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var cards = more.parentNode;
        Array.prototype.slice.call(holder.children).forEach(function (el) {
          cards.insertBefore(el, more);
          if (el.matches("article.deal")) { wire(el); showWin(el); }
        });
        more.remove();
      });
  });

  function showWin(card) {
    var slot = card.querySelector("[data-win-for]");
    var w = wins && wins[card.dataset.id];
    if (!slot) return;
    if (!w || card.dataset.status !== "open") { slot.textContent = ""; return; }
    slot.textContent = "Win " + Math.round(w.p * 100) + "% · stage " + Math.round(w.stage_p * 100) + "%";
    slot.title = w.top;
    slot.className = "deal-win small " + (w.p >= w.stage_p ? "up" : "down");
  }
  fetch(weighted.dataset.win, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { return r.json(); })
    .then(function (j) {
      if (!j.ok) { weighted.textContent = "Win probability: " + j.message; return; }
      wins = j.predictions;
      var parts = j.weighted.map(function (w) {
        return w.currency + ": " + w.amount + " open, weighted " + w.by_stage + " by stage, " + w.by_model + " by the model";
      });
      weighted.textContent = "Weighted pipeline — " + (parts.join("; ") || "no open deals") + ". Model learned from " + j.n_closed +
        " closed deals, held-out ROC AUC " + j.auc.toFixed(2) + ".";
      board.querySelectorAll("article.deal").forEach(showWin);
    })
    .catch(function () { weighted.textContent = ""; });
})();
