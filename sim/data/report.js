// fleetsim report: draws the Plotly figures inlined in #report-data, fills the sites table of
// a sweep (sortable, filterable), shows a site's details on a click, and on request lays
// OpenStreetMap tiles under a map (the only thing on the page that uses the network).
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("report-data").textContent);
  var SITES = DATA.sites || null;
  var SITES_TRACE = "sites";
  var LABELS = {
    site: "site", zone: "zone", tier: "tier", deadline_min: "deadline min",
    p_met: "P(holds)", p_met_ci95_low: "95 % interval", p50_min: "p50 min",
    p90_min: "p90 min", bottleneck_class: "bottleneck", verdict: "verdict", note: "note"
  };

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"}[c];
    });
  }
  function num(x, digits, missing) {
    if (x === null || x === undefined || x === "" || !isFinite(x)) return missing;
    return Number(x).toFixed(digits);
  }
  function label(col) {
    return LABELS[col] || col.replace(/_/g, " ");
  }

  // -- sites ------------------------------------------------------------------------------
  var col = {};
  if (SITES) SITES.columns.forEach(function (c, k) { col[c] = k; });
  function value(i, c) {
    return col[c] === undefined ? null : SITES.rows[i][col[c]];
  }
  function siteName(i) {
    var zh = SITES.zh[i], road = SITES.road[i] >= 0 ? SITES.roads[SITES.road[i]] : "";
    var name = esc(value(i, "site"));
    if (zh) name += " · " + esc(zh);
    if (road) name += " <span class=\"road\">on " + esc(road) + "</span>";
    return name;
  }
  function extras() {
    return SITES.columns.filter(function (c) {
      return !(c in LABELS) && c !== "p_met_ci95_high";
    });
  }
  function pText(i) {
    return num(value(i, "p_met"), 3, "–") + " [" + num(value(i, "p_met_ci95_low"), 3, "–") +
      ", " + num(value(i, "p_met_ci95_high"), 3, "–") + "]";
  }
  function hoverText(i) {
    var lines = [
      "<b>" + siteName(i) + "</b>",
      esc(value(i, "tier")) + " tier, deadline " + num(value(i, "deadline_min"), 0, "–") +
        " min · zone " + esc(value(i, "zone")),
      "P(holds) " + pText(i),
      "p90 " + num(value(i, "p90_min"), 0, "never") + " min · bottleneck " +
        esc(value(i, "bottleneck_class") || "–")
    ];
    extras().forEach(function (c) {
      if (/snap/.test(c)) lines.push(esc(label(c)) + " " + esc(num(value(i, c), 2, "–")));
    });
    if (value(i, "note")) lines.push(esc(value(i, "note")));
    return lines.join("<br>");
  }
  function detailHtml(i) {
    var rows = [
      ["tier", esc(value(i, "tier")) + ", deadline " + num(value(i, "deadline_min"), 0, "–") +
        " min"],
      ["zone", esc(value(i, "zone"))],
      ["P(holds)", "<b class=\"p\">" + pText(i) + "</b>"],
      ["p50 / p90", num(value(i, "p50_min"), 0, "never") + " / " +
        num(value(i, "p90_min"), 0, "never") + " min"],
      ["bottleneck", esc(value(i, "bottleneck_class") || "–")]
    ];
    extras().forEach(function (c) {
      var v = value(i, c);
      rows.push([esc(label(c)), typeof v === "number" ? num(v, 2, "–") : esc(v || "–")]);
    });
    if (value(i, "note")) rows.push(["note", esc(value(i, "note"))]);
    var v = value(i, "verdict") || "";
    return "<h3>" + siteName(i) + " <span class=\"verdict " +
      ({"holds": "holds", "at risk": "risk", "fails": "fails"}[v] || "") + "\">" +
      esc(v.toUpperCase()) + "</span></h3><table class=\"meta\">" +
      rows.map(function (r) { return "<tr><th>" + r[0] + "</th><td>" + r[1] + "</td></tr>"; })
        .join("") + "</table>";
  }

  var sitesGd = null;
  function sitesCurve() {
    if (!sitesGd) return -1;
    for (var k = 0; k < sitesGd.data.length; k++) {
      if (sitesGd.data[k].name === SITES_TRACE) return k;
    }
    return -1;
  }
  function showSite(i, fromTable) {
    var box = document.getElementById("site-detail");
    box.innerHTML = detailHtml(i);
    box.dataset.site = String(i);
    var rows = document.querySelectorAll("#sites-table tbody tr");
    rows.forEach(function (tr) { tr.classList.toggle("chosen", tr.dataset.i === String(i)); });
    if (fromTable && sitesGd) {
      sitesGd.scrollIntoView({behavior: "smooth", block: "center"});
      var k = sitesCurve();
      if (k >= 0) Plotly.Fx.hover(sitesGd, [{curveNumber: k, pointNumber: i}]);
    }
  }

  // The sortable, filterable table of sites.
  function sitesTable() {
    var table = document.getElementById("sites-table");
    if (!table || !SITES) return;
    var shown = ["site", "zone", "tier", "deadline_min", "p_met", "p_met_ci95_low", "p50_min",
      "p90_min", "bottleneck_class", "verdict"].concat(extras()).concat(["note"]);
    var order = SITES.rows.map(function (_, i) { return i; });
    var sortCol = null, sortDir = 1;
    function cell(i, c) {
      var v = value(i, c);
      if (c === "site") return siteName(i);
      if (c === "p_met") return "<b>" + num(v, 3, "–") + "</b>";
      if (c === "p_met_ci95_low") {
        return "[" + num(v, 3, "–") + ", " + num(value(i, "p_met_ci95_high"), 3, "–") + "]";
      }
      if (c === "verdict") {
        return "<span class=\"verdict " +
          ({"holds": "holds", "at risk": "risk", "fails": "fails"}[v] || "") + "\">" +
          esc((v || "").toUpperCase()) + "</span>";
      }
      if (typeof v === "number") return num(v, /_min$/.test(c) ? 0 : 2, "never");
      if (v === null && /_min$/.test(c)) return "never";
      return esc(v === null ? "" : v);
    }
    var head = "<thead><tr>" + shown.map(function (c) {
      return "<th data-col=\"" + c + "\" tabindex=\"0\" aria-sort=\"none\">" + esc(label(c)) +
        "</th>";
    }).join("") + "</tr></thead>";
    table.innerHTML = head + "<tbody></tbody>";
    var body = table.tBodies[0];
    function fill() {
      body.innerHTML = order.map(function (i) {
        return "<tr data-i=\"" + i + "\">" + shown.map(function (c) {
          return "<td>" + cell(i, c) + "</td>";
        }).join("") + "</tr>";
      }).join("");
      var chosen = document.getElementById("site-detail");
      if (chosen && chosen.dataset.site) {
        var tr = body.querySelector("tr[data-i=\"" + chosen.dataset.site + "\"]");
        if (tr) tr.classList.add("chosen");
      }
    }
    function key(i, c) {
      var v = value(i, c);
      if (v === null || v === "") return /_min$/.test(c) ? Infinity : "";
      return v;
    }
    function sortBy(c) {
      sortDir = sortCol === c ? -sortDir : 1;
      sortCol = c;
      order.sort(function (a, b) {
        var x = key(a, c), y = key(b, c);
        var d = (typeof x === "number" && typeof y === "number") ? x - y
          : String(x).localeCompare(String(y));
        return d !== 0 ? d * sortDir : a - b;
      });
      table.querySelectorAll("th").forEach(function (th) {
        th.setAttribute("aria-sort", th.dataset.col === c
          ? (sortDir > 0 ? "ascending" : "descending") : "none");
      });
      fill();
    }
    table.tHead.addEventListener("click", function (ev) {
      var th = ev.target.closest("th");
      if (th) sortBy(th.dataset.col);
    });
    table.tHead.addEventListener("keydown", function (ev) {
      var th = ev.target.closest("th");
      if (th && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); sortBy(th.dataset.col); }
    });
    body.addEventListener("click", function (ev) {
      var tr = ev.target.closest("tr");
      if (tr) showSite(Number(tr.dataset.i), true);
    });
    var filter = document.getElementById("sites-filter");
    if (filter) {
      filter.addEventListener("input", function () {
        var q = filter.value.trim().toLowerCase();
        body.querySelectorAll("tr").forEach(function (tr) {
          tr.hidden = q !== "" && tr.textContent.toLowerCase().indexOf(q) < 0;
        });
      });
    }
    fill();
  }

  // -- OpenStreetMap tiles, on request ---------------------------------------------------------
  var TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
  function tileImages(gd) {
    var xr = gd.layout.xaxis.range, yr = gd.layout.yaxis.range;
    var width = gd._fullLayout.xaxis._length || 800;
    var west = Math.max(-180, xr[0]), east = Math.min(180, xr[1]);
    var south = Math.max(-85, yr[0]), north = Math.min(85, yr[1]);
    var z = Math.round(Math.log2(width / 256 * 360 / Math.max(1e-6, east - west)));
    z = Math.max(1, Math.min(17, z));
    function tx(lon, zz) { return Math.floor((lon + 180) / 360 * Math.pow(2, zz)); }
    function ty(lat, zz) {
      var r = lat * Math.PI / 180;
      return Math.floor((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2 * Math.pow(2, zz));
    }
    function lon(x, zz) { return x / Math.pow(2, zz) * 360 - 180; }
    function lat(y, zz) {
      var n = Math.PI * (1 - 2 * y / Math.pow(2, zz));
      return Math.atan(0.5 * (Math.exp(n) - Math.exp(-n))) * 180 / Math.PI;
    }
    while (z > 1 && (tx(east, z) - tx(west, z) + 1) * (ty(south, z) - ty(north, z) + 1) > 64) z--;
    var images = [];
    for (var x = tx(west, z); x <= tx(east, z); x++) {
      for (var y = ty(north, z); y <= ty(south, z); y++) {
        images.push({
          source: TILE_URL.replace("{z}", z).replace("{x}", x).replace("{y}", y),
          xref: "x", yref: "y", x: lon(x, z), y: lat(y, z),
          sizex: lon(x + 1, z) - lon(x, z), sizey: lat(y, z) - lat(y + 1, z),
          xanchor: "left", yanchor: "top", sizing: "stretch", layer: "below", opacity: 0.85
        });
      }
    }
    return images;
  }
  function tiles(gd, box) {
    var on = false, busy = false;
    function draw() {
      busy = true;
      Plotly.relayout(gd, {images: on ? tileImages(gd) : []}).then(function () { busy = false; });
    }
    box.addEventListener("change", function () { on = box.checked; draw(); });
    gd.on("plotly_relayout", function (ev) {
      if (!on || busy) return;
      if (Object.keys(ev).some(function (k) { return /^[xy]axis\./.test(k); })) draw();
    });
  }

  // -- figures ---------------------------------------------------------------------------------
  var pending = [];
  document.querySelectorAll("[data-figure]").forEach(function (el) {
    var fig = DATA.figures[el.dataset.figure];
    fig.layout.template = DATA.template;
    if (SITES && el.dataset.figure === DATA.sitesFigure) {
      fig.data.forEach(function (t) {
        if (t.name === SITES_TRACE) t.text = SITES.rows.map(function (_, i) { return hoverText(i); });
      });
    }
    pending.push(Plotly.newPlot(el, fig.data, fig.layout, fig.config).then(function (gd) {
      var box = document.querySelector("input[data-tiles-for=\"" + el.id + "\"]");
      if (box) tiles(gd, box);
      if (SITES && el.dataset.figure === DATA.sitesFigure) {
        sitesGd = gd;
        gd.on("plotly_click", function (ev) {
          var pt = (ev.points || []).filter(function (p) { return p.data.name === SITES_TRACE; })[0];
          if (pt) showSite(pt.pointIndex, false);
        });
      }
      return gd;
    }));
  });
  sitesTable();
  Promise.all(pending).then(function () { document.body.dataset.ready = "true"; });
})();
