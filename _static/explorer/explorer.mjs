/*
 * The multiverse explorer (chapters/trd/explorer-multiverse.md, issue #14).
 *
 * Loads explorer/multiverse.json (computed by analysis/review/multiverse.py when the site is
 * built) and shows the combination the reader chooses: a result card, the trial table and a
 * forest plot drawn as SVG. No statistics here: every number is looked up in the JSON; this
 * file only formats and draws. Text from the data reaches the page through textContent or SVG
 * text nodes, never innerHTML. No request leaves the site.
 *
 * A classic script with an .mjs extension: Jupyter Book adds every _static/**.js to every page,
 * and this one belongs to one page only.
 */
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var MINUS = "\u2212";

  var CSS = [
    ".mv-controls{display:grid;grid-template-columns:repeat(auto-fit,minmax(15rem,1fr));",
    "gap:.75rem 1.25rem;margin:1rem 0}",
    ".mv-control label{display:block;font-weight:600;margin-bottom:.2rem}",
    ".mv-control select{width:100%;max-width:100%;font:inherit;padding:.3rem;",
    "border:1px solid #767676;border-radius:4px;background:#fff;color:#111}",
    ".mv-control select:focus{outline:3px solid #0072B2;outline-offset:1px}",
    ".mv-help{font-size:.85rem;margin:.25rem 0 0;color:#333}",
    ".mv-card{border:1px solid #c8c8c8;border-left:6px solid #0072B2;border-radius:4px;",
    "padding:.75rem 1rem;margin:1rem 0;background:#f7f9fb}",
    ".mv-card.mv-empty{border-left-color:#767676}",
    ".mv-card h3{margin:0 0 .3rem;font-size:1.05rem}",
    ".mv-estimate{font-size:1.5rem;font-weight:700;margin:.2rem 0}",
    ".mv-card p{margin:.2rem 0}",
    ".mv-forest{margin:1rem 0;max-width:100%}",
    ".mv-forest svg{display:block;max-width:100%;height:auto}",
    ".mv-tablewrap{overflow-x:auto;max-width:100%}",
    ".mv-table{border-collapse:collapse;font-size:.9rem;min-width:100%}",
    ".mv-table th,.mv-table td{padding:.25rem .5rem;border-bottom:1px solid #ddd;",
    "text-align:left;vertical-align:top}",
    ".mv-table td.mv-num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}",
    ".mv-table caption{text-align:left;font-weight:600;padding:.3rem 0}",
    ".mv-status{font-style:italic}"
  ].join("");

  /* ------------------------------------------------------------------ formatting only */
  function num(x, digits) {
    if (x === null || x === undefined || !isFinite(x)) return "NA";
    var d = digits === undefined ? 2 : digits;
    var text = Math.abs(x).toFixed(d);
    if (x < 0 && Number(text) !== 0) text = MINUS + text;
    return text;
  }
  function interval(pair) {
    return num(pair[0]) + " to " + num(pair[1]);
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function svgEl(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /* ------------------------------------------------------------------ the explorer */
  function Explorer(root, data) {
    this.root = root;
    this.data = data;
    this.sep = data.separator;
    this.selects = {};
    this.build();
  }

  Explorer.prototype.build = function () {
    var self = this;
    var data = this.data;
    this.root.textContent = "";
    var form = el("form", { "class": "mv-controls", "aria-label": "Analytic choices" });
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    var initial = this.initialKey().split(this.sep);
    data.choices.forEach(function (choice, i) {
      var box = el("div", { "class": "mv-control" });
      var id = "mv-choice-" + choice.key;
      box.appendChild(el("label", { "for": id }, choice.label));
      var select = el("select", { id: id, name: choice.key });
      choice.options.forEach(function (opt) {
        var option = el("option", { value: opt.key }, opt.label);
        if (opt.key === initial[i]) option.selected = true;
        select.appendChild(option);
      });
      select.addEventListener("change", function () { self.update(true); });
      box.appendChild(select);
      if (choice.key === "definition") {
        var help = el("p", { "class": "mv-help", id: "mv-definition-help" });
        select.setAttribute("aria-describedby", "mv-definition-help");
        box.appendChild(help);
        self.definitionHelp = help;
      }
      self.selects[choice.key] = select;
      form.appendChild(box);
    });
    this.root.appendChild(form);
    this.card = el("section", { "class": "mv-card", "aria-live": "polite",
                                "aria-atomic": "true", id: "mv-result" });
    this.root.appendChild(this.card);
    this.forest = el("figure", { "class": "mv-forest", id: "mv-forest" });
    this.root.appendChild(this.forest);
    this.tableWrap = el("div", { "class": "mv-tablewrap", id: "mv-trials", tabindex: "0",
                                 role: "region", "aria-label": "Trials in this analysis" });
    this.root.appendChild(this.tableWrap);
    var width = this.root.clientWidth;
    window.addEventListener("resize", function () {
      if (Math.abs(self.root.clientWidth - width) > 20) {
        width = self.root.clientWidth;
        self.drawForest(self.current());
      }
    });
    this.update(false);
  };

  Explorer.prototype.initialKey = function () {
    var hash = decodeURIComponent(window.location.hash.replace(/^#/, ""));
    return Object.prototype.hasOwnProperty.call(this.data.results, hash) ? hash
      : this.data["default"];
  };

  Explorer.prototype.key = function () {
    var self = this;
    return this.data.choices.map(function (c) { return self.selects[c.key].value; })
      .join(this.sep);
  };

  Explorer.prototype.current = function () {
    return this.data.results[this.key()];
  };

  Explorer.prototype.optionOf = function (choiceKey, optionKey) {
    var choice = this.data.choices.filter(function (c) { return c.key === choiceKey; })[0];
    return choice.options.filter(function (o) { return o.key === optionKey; })[0];
  };

  Explorer.prototype.update = function (fromUser) {
    var key = this.key();
    var entry = this.data.results[key];
    var def = this.optionOf("definition", this.selects.definition.value);
    this.definitionHelp.textContent = "";
    this.definitionHelp.appendChild(document.createTextNode("Means: " + def.description + ". "));
    this.definitionHelp.appendChild(el("a", { href: def.href }, "About the definitions"));
    this.root.setAttribute("data-key", key);
    this.showCard(entry, key);
    this.drawForest(entry);
    this.showTable(entry);
    if (fromUser && window.history && window.history.replaceState) {
      window.history.replaceState(null, "", "#" + encodeURIComponent(key));
    }
  };

  Explorer.prototype.showCard = function (entry, key) {
    var card = this.card;
    card.textContent = "";
    card.setAttribute("data-key", key);
    var isDefault = key === this.data["default"];
    card.appendChild(el("h3", {}, isDefault ? "Result: the protocol's primary analysis"
                                            : "Result of this combination"));
    if (!entry || entry.empty) {
      card.className = "mv-card mv-empty";
      card.appendChild(el("p", { "class": "mv-estimate", id: "mv-estimate", "data-value": "" },
                          "No trial has usable data for this combination."));
      if (entry && entry.awaiting && entry.awaiting.length) {
        card.appendChild(el("p", {}, "Trials that meet these choices but await usable data: " +
                            entry.awaiting.join(", ") + "."));
      }
      return;
    }
    card.className = "mv-card";
    var est = el("p", { "class": "mv-estimate", id: "mv-estimate",
                        "data-value": String(entry.estimate) },
                 "SMD " + num(entry.estimate));
    card.appendChild(est);
    card.appendChild(el("p", { id: "mv-ci", "data-low": String(entry.ci[0]),
                               "data-high": String(entry.ci[1]) },
                        "95% confidence interval " + interval(entry.ci)));
    var pi = entry.pi[0] === null ? "not estimable (fewer than three comparisons)"
      : interval(entry.pi);
    card.appendChild(el("p", { id: "mv-pi" }, "95% prediction interval " + pi));
    var who = entry.k === 1 ? "1 comparison (a single trial's effect, not a pooled estimate)"
      : entry.k + " comparisons";
    var people = entry.participants + " participants" + (entry.participants_unknown
      ? " (" + entry.participants_unknown + " comparisons with an unknown number)" : "");
    card.appendChild(el("p", { id: "mv-k", "data-k": String(entry.k) }, who + ", " + people));
    if (entry.k > 1) {
      card.appendChild(el("p", { id: "mv-het" }, "Heterogeneity: I\u00b2 " + num(entry.i2, 0) +
                          "%, \u03c4\u00b2 " + num(entry.tau2, 3)));
    }
    var direction = entry.ci[1] < 0 ? "The interval excludes no effect and favours psychotherapy."
      : entry.ci[0] > 0 ? "The interval excludes no effect and favours the control."
        : "The interval includes no effect.";
    card.appendChild(el("p", {}, direction + " Negative values favour psychotherapy."));
    if (entry.awaiting && entry.awaiting.length) {
      card.appendChild(el("p", {}, "Awaiting usable data: " + entry.awaiting.join(", ") + "."));
    }
  };

  Explorer.prototype.rows = function (entry) {
    var trials = this.data.trials;
    return entry.trials.map(function (i, j) {
      var t = trials[i];
      return { label: t[0], instrument: t[1], population: t[2], yi: t[3], lo: t[4], hi: t[5],
               n: t[6], weight: entry.weights[j] };
    });
  };

  Explorer.prototype.showTable = function (entry) {
    var wrap = this.tableWrap;
    wrap.textContent = "";
    if (!entry || entry.empty) return;
    var table = el("table", { "class": "mv-table", id: "mv-trial-table" });
    table.appendChild(el("caption", {}, "Trials in this analysis (the forest plot's numbers)"));
    var head = el("tr");
    ["Trial", "Instrument", "Data", "SMD", "95% CI", "Weight (%)", "Participants"]
      .forEach(function (h) { head.appendChild(el("th", { scope: "col" }, h)); });
    var thead = el("thead");
    thead.appendChild(head);
    table.appendChild(thead);
    var body = el("tbody");
    this.rows(entry).forEach(function (r) {
      var tr = el("tr");
      tr.appendChild(el("th", { scope: "row" }, r.label));
      tr.appendChild(el("td", {}, r.instrument || "not stated"));
      tr.appendChild(el("td", {}, r.population === "itt" ? "intention to treat"
                                   : r.population || "not stated"));
      tr.appendChild(el("td", { "class": "mv-num" }, num(r.yi)));
      tr.appendChild(el("td", { "class": "mv-num" }, num(r.lo) + " to " + num(r.hi)));
      tr.appendChild(el("td", { "class": "mv-num" }, num(r.weight, 1)));
      tr.appendChild(el("td", { "class": "mv-num" }, r.n === null ? "not stated"
                                                                    : String(r.n)));
      body.appendChild(tr);
    });
    table.appendChild(body);
    wrap.appendChild(table);
  };

  /* ------------------------------------------------------------------ the forest plot */
  Explorer.prototype.drawForest = function (entry) {
    var fig = this.forest;
    fig.textContent = "";
    if (!entry || entry.empty) return;
    var rows = this.rows(entry);
    var width = Math.max(300, Math.min(760, this.root.clientWidth || 640));
    var narrow = width < 520;
    var fs = 12;
    var labelW = Math.round(width * (narrow ? 0.36 : 0.3));
    var right = 12;
    var plotL = labelW + 8;
    var plotW = width - plotL - right;
    var rowH = 22;
    var top = 10;
    var height = top + rowH * (rows.length + 1.5) + 44;
    // Axis range: the intervals shown, with no effect, cut at -3 and +2 (arrows mark a cut).
    var lo = Math.min(0, entry.ci[0]);
    var hi = Math.max(0, entry.ci[1]);
    rows.forEach(function (r) { lo = Math.min(lo, r.lo); hi = Math.max(hi, r.hi); });
    lo = Math.max(-3, Math.floor(lo * 2) / 2);
    hi = Math.min(2, Math.ceil(hi * 2) / 2);
    function x(v) { return plotL + (Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo) * plotW; }

    var titleId = "mv-forest-title";
    var svg = svgEl("svg", { width: width, height: height, viewBox: "0 0 " + width + " " + height,
                             role: "img", "aria-labelledby": titleId,
                             "font-family": "sans-serif", "font-size": fs });
    svg.appendChild(svgEl("title", { id: titleId },
      "Forest plot of " + rows.length + (rows.length === 1 ? " comparison" : " comparisons") +
      ", pooled SMD " + num(entry.estimate) + " (95% CI " + interval(entry.ci) +
      "). The table below lists every comparison's numbers."));
    var maxW = Math.max.apply(null, rows.map(function (r) { return r.weight; }));
    var bottomY = top + rowH * (rows.length + 1.5);
    svg.appendChild(svgEl("line", { x1: x(0), x2: x(0), y1: top, y2: bottomY, stroke: "#000",
                                    "stroke-width": 1 }));
    var maxChars = Math.floor(labelW / (fs * 0.55));
    rows.forEach(function (r, i) {
      var y = top + rowH * (i + 0.5);
      var g = svgEl("g", { "class": "mv-row" });
      var label = r.label.length > maxChars ? r.label.slice(0, maxChars - 1) + "\u2026" : r.label;
      var t = svgEl("text", { x: 0, y: y + fs * 0.35 }, label);
      g.appendChild(t);
      g.appendChild(svgEl("title", {}, r.label + ": SMD " + num(r.yi) + " (" + num(r.lo) +
                                      " to " + num(r.hi) + ")"));
      g.appendChild(svgEl("line", { x1: x(r.lo), x2: x(r.hi), y1: y, y2: y, stroke: "#333",
                                    "stroke-width": 1.2 }));
      if (r.lo < lo) g.appendChild(svgEl("path", { d: "M" + x(lo) + " " + y + " l6 -4 v8 z",
                                                   fill: "#333" }));
      if (r.hi > hi) g.appendChild(svgEl("path", { d: "M" + x(hi) + " " + y + " l-6 -4 v8 z",
                                                   fill: "#333" }));
      var side = 4 + 8 * Math.sqrt(r.weight / maxW);
      g.appendChild(svgEl("rect", { x: x(r.yi) - side / 2, y: y - side / 2, width: side,
                                    height: side, fill: "#0072B2" }));
      svg.appendChild(g);
    });
    var yd = top + rowH * (rows.length + 0.75);
    var d = "M" + x(entry.ci[0]) + " " + yd + " L" + x(entry.estimate) + " " + (yd - 7) +
      " L" + x(entry.ci[1]) + " " + yd + " L" + x(entry.estimate) + " " + (yd + 7) + " Z";
    svg.appendChild(svgEl("text", { x: 0, y: yd + fs * 0.35, "font-weight": "bold" },
                          entry.k === 1 ? "Single trial" : "Pooled"));
    svg.appendChild(svgEl("path", { d: d, fill: "#D55E00", stroke: "#000", "stroke-width": 0.8 }));
    // Axis.
    svg.appendChild(svgEl("line", { x1: plotL, x2: plotL + plotW, y1: bottomY, y2: bottomY,
                                    stroke: "#000" }));
    for (var v = lo; v <= hi + 1e-9; v += 0.5) {
      var tx = x(v);
      svg.appendChild(svgEl("line", { x1: tx, x2: tx, y1: bottomY, y2: bottomY + 4,
                                      stroke: "#000" }));
      svg.appendChild(svgEl("text", { x: tx, y: bottomY + 16, "text-anchor": "middle" },
                            v === 0 ? "0" : num(v, 1)));
    }
    svg.appendChild(svgEl("text", { x: x(0) - 4, y: bottomY + 34, "text-anchor": "end" },
                          narrow ? "\u2190 psychotherapy" : "\u2190 favours psychotherapy"));
    svg.appendChild(svgEl("text", { x: x(0) + 4, y: bottomY + 34, "text-anchor": "start" },
                          narrow ? "control \u2192" : "favours control \u2192"));
    fig.appendChild(svg);
    fig.appendChild(el("figcaption", {}, "Forest plot: SMD and 95% confidence interval of " +
      "each comparison (squares sized by weight) and the " +
      (entry.k === 1 ? "single trial's effect" : "pooled estimate (diamond)") +
      ". The table below gives the same numbers."));
  };

  /* ------------------------------------------------------------------ start */
  function start() {
    var root = document.getElementById("mv-explorer");
    if (!root) return;
    var style = document.createElement("style");
    style.textContent = CSS;
    document.head.appendChild(style);
    var src = new URL(root.getAttribute("data-src"), document.baseURI).href;
    fetch(src, { credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (data) { root.explorer = new Explorer(root, data); })
      .catch(function (err) {
        root.textContent = "";
        root.appendChild(el("p", { "class": "mv-status", role: "alert" },
          "The analyses could not be loaded (" + err.message + "). Open the site through a " +
          "web server (for example make serve), or use the static pages listed below."));
      });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
