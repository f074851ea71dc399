// wt5 report: renders the examples of each task from the embedded JSON, one
// page at a time. Text from the data is only ever set with textContent.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("wt5-data").textContent);
  var HIGHLIGHT = ["", "hl hl-1", "hl hl-2", "hl hl-3"];

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function number(value) {
    return value === null || value === undefined ? "n/a" : value.toFixed(1);
  }

  // "Worst first": wrong labels first, then the lowest span F1 (token F1
  // breaking ties) or sentence BLEU, then file order.
  function worstFirst(kind) {
    var keys = kind === "extractive" ? ["span_f1", "token_f1"]
        : kind === "abstractive" ? ["bleu"] : [];
    return function (a, b) {
      if (a.correct !== b.correct) return a.correct ? 1 : -1;
      for (var i = 0; i < keys.length; i++) {
        var d = (a[keys[i]] || 0) - (b[keys[i]] || 0);
        if (d) return d;
      }
      return a.index - b.index;
    };
  }

  function haystack(ex) {
    if (ex._text === undefined) {
      var parts = [ex.input || "", ex.gold_label, ex.predicted_label,
                   ex.predicted_explanation || ""];
      (ex.segments || []).forEach(function (s) { parts.push(s[0]); });
      parts = parts.concat(ex.references || [], ex.gold_explanations || [],
                           ex.predicted_explanations || []);
      ex._text = parts.join("\n").toLowerCase();
    }
    return ex._text;
  }

  function field(name, value, className) {
    var row = el("div", "field");
    row.appendChild(el("span", "name", name));
    var v = el("span", "value" + (className ? " " + className : ""));
    if (value instanceof Node) v.appendChild(value); else v.textContent = String(value);
    row.appendChild(v);
    return row;
  }

  function list(items) {
    var ul = el("ul", "texts");
    items.forEach(function (t) { ul.appendChild(el("li", null, t)); });
    if (!items.length) ul.appendChild(el("li", "none", "(none)"));
    return ul;
  }

  function renderInput(ex) {
    var box = el("div", "input");
    if (ex.segments) {
      ex.segments.forEach(function (s) {
        box.appendChild(s[1] ? el("mark", HIGHLIGHT[s[1]], s[0])
                             : document.createTextNode(s[0]));
      });
    } else if (ex.input !== null && ex.input !== undefined) {
      box.textContent = ex.input;
    } else {
      box.appendChild(el("span", "none", "(input not available)"));
    }
    return box;
  }

  function renderFlips(cf) {
    var ul = el("ul", "texts flips");
    cf.flips.forEach(function (f) {
      var li = el("li", f.mentioned ? "flip mentioned" : "flip unmentioned");
      li.appendChild(el("span", "word", "+" + f.word));
      li.appendChild(document.createTextNode(" (" + f.field + ") \u2192 " +
          f.label + ": " + (f.explanations.join(" ") || "(no explanation)") +
          (f.mentioned ? " [names the word]" : " [does not name the word]")));
      ul.appendChild(li);
    });
    if (!cf.flips.length) ul.appendChild(el("li", "none", "(no flip)"));
    return field("insertions: " + cf.insertions + ", flips: " +
                 cf.flips.length, ul, "counterfactual");
  }

  function renderExample(kind, ex) {
    var card = el("article", "example " + (ex.correct ? "right" : "wrong"));
    card.setAttribute("data-index", String(ex.index));
    var head = el("div", "head");
    head.appendChild(el("span", "index", "#" + ex.index));
    head.appendChild(el("span", "verdict", ex.correct ? "label right" : "label wrong"));
    if (kind === "extractive") {
      head.appendChild(el("span", "score span-f1", "span F1 " + number(ex.span_f1)));
      head.appendChild(el("span", "score token-f1", "token F1 " + number(ex.token_f1)));
    } else if (kind === "abstractive") {
      head.appendChild(el("span", "score bleu", "sentence BLEU " + number(ex.bleu)));
    }
    card.appendChild(head);
    card.appendChild(renderInput(ex));
    card.appendChild(field("gold label", ex.gold_label, "gold-label"));
    card.appendChild(field("predicted label", ex.predicted_label, "predicted-label"));
    if (kind === "extractive") {
      card.appendChild(field("annotated", list(ex.gold_explanations)));
      card.appendChild(field("predicted", list(ex.predicted_explanations)));
      if (ex.faithfulness) {
        var f = ex.faithfulness;
        card.appendChild(field("p(" + f.label + ")",
            f.full.toFixed(3) + " full input; " + f.without.toFixed(3) +
            " without its rationale; " + f.only.toFixed(3) + " rationale only",
            "faithfulness"));
      }
    } else if (kind === "abstractive") {
      var pair = el("div", "pair");
      var left = el("div", "col");
      left.appendChild(el("div", "name", "predicted explanation"));
      left.appendChild(el("div", "predicted-explanation", ex.predicted_explanation));
      var right = el("div", "col");
      right.appendChild(el("div", "name", "references"));
      right.appendChild(list(ex.references));
      pair.appendChild(left);
      pair.appendChild(right);
      card.appendChild(pair);
      if (ex.counterfactual) card.appendChild(renderFlips(ex.counterfactual));
      if (ex.simulatability) {
        var s = ex.simulatability;
        card.appendChild(field("simulators", "X " + s.X + "; XE " + s.XE +
            "; E " + s.E + (s.leaked ? " (leaked)" : " (not leaked)"),
            "simulatability"));
      }
    }
    return card;
  }

  function setUp(section) {
    var id = section.id;
    var task = data.tasks[id];
    if (!task) return;
    var controls = section.querySelector(".controls");
    var box = section.querySelector(".examples");
    var pager = section.querySelector(".pager");
    var state = {page: 0, rows: task.examples};
    var labelSelect = controls.querySelector(".label-filter");
    var labels = {};
    task.examples.forEach(function (ex) { labels[ex.gold_label] = true; });
    Object.keys(labels).sort().forEach(function (label) {
      var option = el("option", null, label);
      option.value = label;
      labelSelect.appendChild(option);
    });

    function apply() {
      var errorsOnly = controls.querySelector(".errors-only").checked;
      var label = labelSelect.value;
      var needle = controls.querySelector(".text-filter").value.toLowerCase();
      var rows = task.examples.filter(function (ex) {
        if (errorsOnly && ex.correct) return false;
        if (label && ex.gold_label !== label) return false;
        if (needle && haystack(ex).indexOf(needle) < 0) return false;
        return true;
      });
      if (controls.querySelector(".sort").value === "worst") {
        rows = rows.slice().sort(worstFirst(task.kind));
      }
      state.rows = rows;
      state.page = 0;
      draw();
    }

    function draw() {
      var pages = Math.max(1, Math.ceil(state.rows.length / data.pageSize));
      state.page = Math.min(Math.max(0, state.page), pages - 1);
      var start = state.page * data.pageSize;
      var shown = state.rows.slice(start, start + data.pageSize);
      box.textContent = "";
      var fragment = document.createDocumentFragment();
      shown.forEach(function (ex) { fragment.appendChild(renderExample(task.kind, ex)); });
      box.appendChild(fragment);
      controls.querySelector(".count").textContent =
          state.rows.length + " of " + task.examples.length + " examples";
      pager.querySelector(".page").textContent = "page " + (state.page + 1) + " of " + pages;
      pager.querySelector(".prev").disabled = state.page === 0;
      pager.querySelector(".next").disabled = state.page >= pages - 1;
    }

    var timer = null;
    controls.querySelector(".errors-only").addEventListener("change", apply);
    labelSelect.addEventListener("change", apply);
    controls.querySelector(".sort").addEventListener("change", apply);
    controls.querySelector(".text-filter").addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(apply, 150);
    });
    pager.querySelector(".prev").addEventListener("click", function () { state.page -= 1; draw(); });
    pager.querySelector(".next").addEventListener("click", function () { state.page += 1; draw(); });
    draw();
  }

  Array.prototype.forEach.call(document.querySelectorAll("section.task"), setUp);
  document.body.setAttribute("data-ready", "1");
})();
