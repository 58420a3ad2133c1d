/* Relevo operations dashboard: fetches /dashboard/api/summary every 10 s and draws it.
   Every text from the server goes through textContent; nothing is parsed as HTML. */
(function () {
  "use strict";

  var REFRESH_MS = 10000;
  var PERIODS = ["24h", "7d", "30d"];
  var SLA_ORDER = ["overdue", "due_soon", "on_time", "answered"];
  var SLA_LABELS = {
    overdue: "Overdue",
    due_soon: "Due soon",
    on_time: "On time",
    answered: "Answered",
  };
  var STATE_LABELS = { queued: "Waiting", agent: "With an agent" };
  var PRIORITY_LABELS = { urgent: "Urgent", high: "High", normal: "Normal", low: "Low" };
  var REASON_LABELS = {
    asked_for_person: "Asked for a person",
    low_confidence: "Bot unsure",
    negative_feedback: "Negative feedback",
    complaint: "Complaint",
    repeated_failure: "Repeated failure",
    sensitive_topic: "Sensitive topic",
    personal_case: "Own booking or payment",
    unknown: "Unknown",
  };
  var CHANNEL_LABELS = {
    webchat: "Web chat",
    telegram: "Telegram",
    social: "Social",
    twitter: "X / Twitter",
    instagram: "Instagram",
    facebook: "Facebook",
    whatsapp: "WhatsApp",
  };
  var LANGUAGE_LABELS = { es: "Spanish", en: "English" };

  var state = readQuery();
  var charts = {};
  var timer = null;
  var sequence = 0;
  var last = null;

  function $(id) {
    return document.getElementById(id);
  }

  /* --- small helpers ------------------------------------------------------------------------ */

  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      if (key === "text") node.textContent = props[key];
      else if (key === "className") node.className = props[key];
      else if (key.indexOf("data-") === 0 || key === "title" || key === "role" || key === "href")
        node.setAttribute(key, props[key]);
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function humanize(key) {
    var text = String(key || "").replace(/[_-]+/g, " ").trim();
    return text ? text.charAt(0).toUpperCase() + text.slice(1) : "—";
  }

  function label(map, key) {
    return map[key] || humanize(key);
  }

  function isNum(x) {
    return typeof x === "number" && isFinite(x);
  }

  function percent(x) {
    return isNum(x) ? Math.round(x * 100) + "%" : "—";
  }

  function count(x) {
    return isNum(x) ? x.toLocaleString("en") : "—";
  }

  function duration(seconds) {
    if (!isNum(seconds)) return "—";
    var s = Math.max(0, seconds);
    if (Math.round(s * 1000) < 1000) return Math.round(s * 1000) + " ms"; // the bot: not "0 s"
    if (s < 10) return (Math.round(s * 10) / 10).toLocaleString("en") + " s";
    if (s < 60) return Math.round(s) + " s";
    var m = Math.floor(s / 60);
    if (m < 10) {
      var rest = Math.round(s - m * 60);
      return rest ? m + " min " + rest + " s" : m + " min";
    }
    if (s < 3600) return Math.round(s / 60) + " min";
    var h = Math.floor(s / 3600);
    if (h < 48) {
      var mins = Math.round((s - h * 3600) / 60);
      return mins ? h + " h " + mins + " min" : h + " h";
    }
    return Math.round(s / 86400) + " d";
  }

  function money(x) {
    if (!isNum(x)) return "—";
    return x < 0.1 ? x.toFixed(3) : x.toFixed(2);
  }

  function clock(iso) {
    var when = new Date(iso);
    if (isNaN(when.getTime())) return "";
    return when.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function bucketLabel(iso, bucket) {
    var when = new Date(iso);
    if (bucket === "hour")
      return when.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
    return when.toLocaleDateString("en-GB", { weekday: "short", day: "numeric" });
  }

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  /* --- the query: period and filters, kept in the address ----------------------------------- */

  function readQuery() {
    var params = new URLSearchParams(location.search);
    var since = params.get("since");
    return {
      since: since || "7d", // as asked: the API refuses what is not a period, and says why
      channel: params.get("channel") || "",
      language: params.get("language") || "",
      department: params.get("department") || "",
    };
  }

  function query() {
    var params = new URLSearchParams();
    params.set("since", state.since);
    ["channel", "language", "department"].forEach(function (name) {
      if (state[name]) params.set(name, state[name]);
    });
    return params.toString();
  }

  function changed() {
    history.replaceState(null, "", "/dashboard?" + query());
    syncControls();
    refresh();
  }

  /* The period's chip; one the address asked for that has none (?since=3d) gets its own. */
  function syncControls() {
    var other = document.querySelector('[data-testid="period-other"]');
    var known = false;
    document.querySelectorAll(".db-seg[data-period]").forEach(function (button) {
      var pressed = button.dataset.period === state.since;
      known = known || pressed;
      button.setAttribute("aria-pressed", String(pressed));
    });
    other.hidden = known;
    other.textContent = known ? "" : state.since;
  }

  function fillSelect(select, values, allLabel, name) {
    var current = state[name];
    var wanted = values.slice();
    if (current && wanted.indexOf(current) < 0) wanted.push(current);
    var signature = wanted.join("\u0000") + "|" + current;
    if (select.dataset.signature === signature) return;
    select.dataset.signature = signature;
    clear(select);
    select.appendChild(el("option", { text: allLabel }));
    select.lastChild.value = "";
    wanted.forEach(function (value) {
      var option = el("option", { text: value });
      option.value = value;
      select.appendChild(option);
    });
    select.value = current;
  }

  /* --- drawing ------------------------------------------------------------------------------ */

  function tile(name, value, sub, tone) {
    var node = document.querySelector('[data-testid="tile-' + name + '"]');
    node.querySelector('[data-testid="tile-value"]').textContent = value;
    node.querySelector('[data-testid="tile-sub"]').textContent = sub || "";
    if (tone) node.setAttribute("data-tone", tone);
    else node.removeAttribute("data-tone");
  }

  function drawOpenTile(open) {
    var late = open.by_sla.overdue || 0;
    var soon = open.by_sla.due_soon || 0;
    tile(
      "open",
      count(open.total),
      open.total ? count(late) + " overdue · " + count(soon) + " due soon" : "No one is waiting",
      late ? "bad" : ""
    );
  }

  /* First response and resolution, over the handoffs with a verdict; the rest are not yet due.
     A public handoff closed into the customer's private one is not judged: said apart. */
  function slaSub(sla) {
    var merged = sla.merged ? count(sla.merged) + " closed into another" : "";
    if (!sla.handoffs) return merged || "No handoffs";
    var waiting = sla.first_response_not_yet_due;
    var late = sla.first_response_breaches + sla.resolution_breaches;
    return "First response · resolution · " + count(late) + " late" +
      (waiting ? " · " + count(waiting) + " not yet due" : "") + (merged ? " · " + merged : "");
  }

  function slaTone(sla) {
    var rates = [sla.first_response_compliance, sla.resolution_compliance].filter(isNum);
    if (!rates.length) return "";
    var worst = Math.min.apply(null, rates);
    return worst >= 0.9 ? "good" : worst < 0.75 ? "bad" : "";
  }

  function drawTiles(k) {
    var v = k.volume;
    var d = k.deflection;
    var r = k.response_times;
    var sla = k.sla;
    var sat = k.satisfaction;
    var cost = k.cost;
    tile(
      "messages",
      count(v.messages_in),
      count(v.conversations) + " conversations · " + count(v.customers) + " customers"
    );
    tile(
      "deflection",
      percent(d.deflection_rate),
      d.bot_conversations
        ? count(d.deflected) + " of " + count(d.bot_conversations) + " settled by the bot" +
            (d.not_settled ? " · " + count(d.not_settled) + " left without an answer" : "")
        : "No bot conversations"
    );
    tile(
      "bot-first-response",
      duration(r.bot_first_response.median_seconds),
      r.bot_first_response.count ? "p90 " + duration(r.bot_first_response.p90_seconds) : ""
    );
    tile(
      "human-first-response",
      duration(r.human_first_response.median_seconds),
      r.human_first_response.count
        ? "p90 " + duration(r.human_first_response.p90_seconds) + " · " +
            count(r.human_first_response.count) + " answered"
        : "No handoff answered yet"
    );
    tile(
      "resolution",
      duration(r.human_resolution.median_seconds),
      r.human_resolution.count ? count(r.human_resolution.count) + " resolved" : "None resolved yet"
    );
    tile(
      "sla",
      percent(sla.first_response_compliance) + " · " + percent(sla.resolution_compliance),
      slaSub(sla),
      slaTone(sla)
    );
    tile(
      "csat",
      percent(sat.csat),
      sat.ratings
        ? "Average " + sat.average.toFixed(1) + " / 5 · " + count(sat.ratings) + " ratings"
        : "No ratings yet"
    );
    tile(
      "cost",
      money(cost.bot_cost_per_conversation) + " vs " + money(cost.human_cost_per_conversation) +
        " " + cost.currency,
      isNum(cost.human_to_bot_ratio)
        ? "A person costs " + Math.round(cost.human_to_bot_ratio).toLocaleString("en") +
            "× the bot · saved " + money(cost.estimated_savings) + " " + cost.currency
        : "Per conversation, in " + cost.currency
    );
  }

  function baseOptions(yAxes) {
    var ink = cssVar("--db-muted");
    var grid = cssVar("--db-grid");
    var scales = {
      x: { ticks: { color: ink, maxRotation: 0, autoSkipPadding: 12 }, grid: { display: false } },
    };
    Object.keys(yAxes).forEach(function (id) {
      scales[id] = Object.assign(
        { beginAtZero: true, ticks: { color: ink, precision: 0 }, grid: { color: grid } },
        yAxes[id]
      );
    });
    return {
      locale: "en", // the page is in English: no decimal commas on a Spanish browser
      responsive: true,
      maintainAspectRatio: false,
      animation: { duration: 300 },
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: {
          labels: {
            color: ink,
            boxWidth: 12,
            boxHeight: 12,
            sort: function (a, b) { return a.datasetIndex - b.datasetIndex; },
          },
        },
        tooltip: {},
      },
      scales: scales,
    };
  }

  function makeCharts() {
    if (typeof Chart === "undefined") return false;
    var c1 = cssVar("--db-series-1");
    var c2 = cssVar("--db-series-2");
    var c3 = cssVar("--db-series-3");
    var c4 = cssVar("--db-series-4");
    var line = {
      type: "line",
      cubicInterpolationMode: "monotone",
      pointRadius: 2,
      borderWidth: 2,
      spanGaps: true,
    };

    var volume = baseOptions({ y: {} });
    charts.volume = new Chart($("chart-volume"), {
      type: "bar",
      data: {
        labels: [],
        datasets: [
          { label: "Messages", data: [], backgroundColor: c1, borderRadius: 4, order: 2 },
          Object.assign({ label: "Handoffs", data: [], borderColor: c2, backgroundColor: c2, order: 1 }, line),
        ],
      },
      options: volume,
    });

    var response = baseOptions({
      y: { title: { display: true, text: "bot · seconds", color: cssVar("--db-muted") }, ticks: { color: cssVar("--db-muted") } },
      y2: {
        position: "right",
        title: { display: true, text: "people · minutes", color: cssVar("--db-muted") },
        ticks: { color: cssVar("--db-muted") },
        grid: { display: false },
      },
    });
    response.plugins.tooltip.callbacks = {
      label: function (item) {
        var seconds = item.datasetIndex === 0 ? item.parsed.y : item.parsed.y * 60;
        return item.dataset.label + ": " + duration(seconds);
      },
    };
    charts.response = new Chart($("chart-response"), {
      type: "line",
      data: {
        labels: [],
        datasets: [
          Object.assign({ label: "Bot", data: [], borderColor: c1, backgroundColor: c1, yAxisID: "y" }, line),
          Object.assign({ label: "People", data: [], borderColor: c2, backgroundColor: c2, yAxisID: "y2" }, line),
        ],
      },
      options: response,
    });

    var quality = baseOptions({
      y: { max: 100, ticks: { color: cssVar("--db-muted"), callback: function (v) { return v + "%"; } } },
    });
    quality.plugins.tooltip.callbacks = {
      label: function (item) {
        return item.dataset.label + ": " + Math.round(item.parsed.y) + "%";
      },
    };
    charts.quality = new Chart($("chart-quality"), {
      type: "line",
      data: {
        labels: [],
        datasets: [
          Object.assign({ label: "Deflection", data: [], borderColor: c3, backgroundColor: c3 }, line),
          Object.assign({ label: "CSAT", data: [], borderColor: c4, backgroundColor: c4 }, line),
        ],
      },
      options: quality,
    });
    return true;
  }

  function scaled(x, factor) {
    return isNum(x) ? Math.round(x * factor * 10) / 10 : null;
  }

  function drawCharts(summary) {
    if (!charts.volume && !makeCharts()) return;
    var series = summary.series || [];
    var labels = series.map(function (row) {
      return bucketLabel(row.start, summary.bucket);
    });
    function set(chart, columns) {
      chart.data.labels = labels;
      columns.forEach(function (column, i) {
        chart.data.datasets[i].data = series.map(column);
      });
      chart.update();
      chart.canvas.setAttribute("data-points", String(series.length));
    }
    set(charts.volume, [
      function (row) { return row.messages_in; },
      function (row) { return row.handoffs; },
    ]);
    set(charts.response, [
      function (row) { return scaled(row.bot_first_response_median, 1); },
      function (row) { return scaled(row.human_first_response_median, 1 / 60); },
    ]);
    set(charts.quality, [
      function (row) { return scaled(row.deflection_rate, 100); },
      function (row) { return scaled(row.csat, 100); },
    ]);
  }

  /* Who waits and who has it: "@ana · 250k followers · Laura" (the handle of a public post). */
  function who(item) {
    var followers = Number(item.followers);
    var said = [
      item.handle ? (item.handle.charAt(0) === "@" ? item.handle : "@" + item.handle) : "",
      followers > 0 ? compact(followers) + " followers" : "",
      item.owner_name ? "with " + item.owner_name : "unclaimed",
    ].filter(Boolean).join(" · ");
    return said.charAt(0).toUpperCase() + said.slice(1);
  }

  function compact(n) {
    return n >= 1e6 ? (n / 1e6).toFixed(n >= 1e7 ? 0 : 1) + "M" : n >= 1e3 ? Math.round(n / 1e3) + "k" : String(n);
  }

  function waited(iso, now) {
    var since = new Date(iso).getTime();
    return isNaN(since) ? null : (now - since) / 1000;
  }

  function slaText(item, now) {
    var due = new Date(item.sla_due_at).getTime();
    if (item.sla === "answered") return "Answered";
    if (isNaN(due)) return label(SLA_LABELS, item.sla);
    var left = (due - now) / 1000;
    return left <= 0 ? "Overdue " + duration(-left) : "Due in " + duration(left);
  }

  function drawOpen(open, departments, now) {
    $("db-open-total").textContent = String(open.total);
    var chips = $("db-open-chips");
    clear(chips);
    ["queued", "agent"].forEach(function (key) {
      chips.appendChild(
        el("span", { className: "db-chip", "data-testid": "open-state", "data-state": key }, [
          label(STATE_LABELS, key),
          el("b", { text: String(open.by_state[key] || 0) }),
        ])
      );
    });
    SLA_ORDER.forEach(function (key) {
      chips.appendChild(
        el("span", { className: "db-chip", "data-testid": "open-sla", "data-sla": key }, [
          el("span", { className: "db-badge", "data-sla": key, text: SLA_LABELS[key] }),
          el("b", { text: String(open.by_sla[key] || 0) }),
        ])
      );
    });

    var body = $("db-open-table");
    clear(body);
    open.table.forEach(function (row) {
      var tr = el("tr", { "data-testid": "open-row", "data-priority": row.priority }, [
        el("td", {}, [
          el("span", { className: "db-badge", "data-priority": row.priority, text: label(PRIORITY_LABELS, row.priority) }),
        ]),
      ]);
      SLA_ORDER.forEach(function (key) {
        var n = row[key] || 0;
        tr.appendChild(el("td", { "data-sla": key, "data-zero": String(n === 0), text: String(n) }));
      });
      body.appendChild(tr);
    });

    var list = $("db-urgent");
    clear(list);
    open.handoffs.slice(0, 8).forEach(function (item) {
      var where = [
        departments[item.department] || humanize(item.department || "—"),
        label(CHANNEL_LABELS, item.channel),
        (item.language || "").toUpperCase(),
      ].filter(Boolean).join(" · ");
      var wait = item.sla === "answered" ? null : waited(item.waiting_since || item.created_at, now);
      var row = el("a", { className: "db-urgent-link", href: "/console#h=" + encodeURIComponent(item.id) }, [
        el("span", { className: "db-badge", "data-priority": item.priority, text: label(PRIORITY_LABELS, item.priority) }),
        el("span", { className: "db-urgent-what" }, [
          el("span", { className: "db-urgent-who", "data-testid": "urgent-who", text: who(item) }),
          el("span", { text: label(REASON_LABELS, item.reason) }),
          " ",
          el("span", { className: "db-urgent-meta", text: where }),
        ]),
        el("span", { className: "db-urgent-wait", text: wait === null ? "" : "waiting " + duration(wait) }),
        el("span", { className: "db-badge", "data-sla": item.sla, text: slaText(item, now) }),
      ]);
      list.appendChild(
        el("li", { "data-testid": "urgent-item", "data-priority": item.priority, "data-sla": item.sla }, [row])
      );
    });
    $("db-urgent-empty").hidden = open.handoffs.length > 0;
  }

  function drawReasons(byReason) {
    var list = $("db-reasons");
    clear(list);
    var keys = Object.keys(byReason || {});
    var top = keys.reduce(function (m, k) { return Math.max(m, byReason[k]); }, 0);
    keys.forEach(function (key) {
      var fill = el("div", { className: "db-bar-fill" });
      fill.style.width = (top ? (byReason[key] / top) * 100 : 0) + "%";
      list.appendChild(
        el("li", { "data-testid": "reason", "data-reason": key }, [
          el("div", { className: "db-bar-head" }, [
            el("span", { text: label(REASON_LABELS, key) }),
            el("b", { text: count(byReason[key]) }),
          ]),
          el("div", { className: "db-bar-track" }, [fill]),
        ])
      );
    });
    $("db-reasons-empty").hidden = keys.length > 0;
  }

  function drawTerms(listId, rising, top) {
    var terms = rising && rising.length ? rising : top || [];
    var list = $(listId);
    clear(list);
    terms.slice(0, 8).forEach(function (term) {
      var change = term.previous === 0 ? "new" : (term.change > 0 ? "+" : "") + term.change;
      list.appendChild(
        el("li", { "data-testid": "term", "data-term": term.term }, [
          el("span", { className: "db-term", text: term.term, title: term.term }),
          el("span", { className: "db-term-count", text: count(term.count) }),
          el("span", { className: "db-term-change", "data-trend": term.change > 0 ? "up" : "down", text: change }),
        ])
      );
    });
    $(listId + "-empty").hidden = terms.length > 0;
  }

  function draw(summary) {
    var now = new Date(summary.generated_at).getTime() || Date.now();
    var options = summary.options || {};
    fillSelect($("db-channel"), options.channels || [], "All channels", "channel");
    fillSelect($("db-language"), options.languages || [], "All languages", "language");
    fillSelect($("db-department"), options.departments || [], "All departments", "department");
    relabel($("db-channel"), function (v) { return label(CHANNEL_LABELS, v); });
    relabel($("db-language"), function (v) { return LANGUAGE_LABELS[v] ? LANGUAGE_LABELS[v] + " (" + v + ")" : v.toUpperCase(); });
    relabel($("db-department"), function (v) { return (summary.departments || {})[v] || humanize(v); });
    drawTiles(summary.kpis);
    drawCharts(summary);
    drawOpen(summary.open, summary.departments || {}, now);
    drawOpenTile(summary.open);
    drawReasons(summary.kpis.escalations.by_reason);
    drawTerms("db-hashtags", summary.kpis.trends.trending_hashtags, summary.kpis.trends.hashtags);
    drawTerms("db-keywords", summary.kpis.trends.trending_keywords, summary.kpis.trends.keywords);
  }

  function relabel(select, name) {
    Array.prototype.forEach.call(select.options, function (option) {
      if (option.value) option.textContent = name(option.value);
    });
  }

  /* --- knowledge gaps: shown only when /dashboard/api/gaps answers 200 ------------------------ */

  function gapMeta(gap) {
    return [
      gap.language ? String(gap.language).toUpperCase() : "",
      (gap.departments || []).map(function (d) { return humanize(d); }).join(", "),
      gap.draft_written && gap.draft ? "draft " + gap.draft : "",
    ].filter(Boolean).join(" · ");
  }

  function drawGaps(items) {
    var panel = $("gaps-panel");
    var list = $("db-gaps");
    clear(list);
    items.slice(0, 12).forEach(function (gap) {
      list.appendChild(
        el("li", { "data-testid": "gap" }, [
          el("span", { className: "db-gap-text" }, [
            el("span", { className: "db-gap-label", text: String(gap.label == null ? "" : gap.label) }),
            el("span", { className: "db-gap-meta", text: gapMeta(gap) }),
          ]),
          el("span", { className: "db-term-count", text: count(gap.count) }),
        ])
      );
    });
    $("db-gaps-empty").hidden = items.length > 0;
    panel.hidden = false;
  }

  function loadGaps(mine) {
    fetch("/dashboard/api/gaps?" + query(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status !== 200) throw new Error("no gaps");
        return response.json();
      })
      .then(function (body) {
        if (mine !== sequence) return;
        var items = Array.isArray(body) ? body : body && Array.isArray(body.gaps) ? body.gaps : null;
        if (!items) throw new Error("no gaps");
        drawGaps(items);
      })
      .catch(function () {
        if (mine === sequence) $("gaps-panel").hidden = true;
      });
  }

  /* --- the live loop ------------------------------------------------------------------------ */

  function status(kind, text) {
    $("db-dot").setAttribute("data-state", kind);
    $("db-updated").textContent = text;
  }

  function refresh() {
    clearTimeout(timer);
    var mine = ++sequence;
    var refusedForGood = false; // a 4xx: asking again would get the same answer
    document.body.setAttribute("data-loading", "true");
    fetch("/dashboard/api/summary?" + query(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401) {
          location.href = "/console/dashboard";
          throw new Error("log in first");
        }
        if (!response.ok) {
          var refused = function (text) {
            var error = new Error(text);
            error.final = response.status >= 400 && response.status < 500; // the same again
            throw error;
          };
          return response.json().then(
            function (body) { refused((body && body.error) || "HTTP " + response.status); },
            function () { refused("HTTP " + response.status); }
          );
        }
        return response.json();
      })
      .then(function (summary) {
        if (mine !== sequence) return;
        last = summary;
        draw(summary);
        $("db-error").hidden = true;
        status("live", "Updated " + clock(summary.generated_at));
        document.body.setAttribute("data-query", query());
        document.body.removeAttribute("data-loading");
      })
      .catch(function (error) {
        if (mine !== sequence) return;
        refusedForGood = Boolean(error.final);
        var next = refusedForGood ? "change the filters" : "retrying";
        status("error", (last ? "Update failed · " : "Not loaded · ") + next);
        $("db-error").textContent = "The figures could not be loaded: " + error.message;
        $("db-error").hidden = false;
      })
      .then(function () {
        if (mine !== sequence) return;
        loadGaps(mine);
        if (!refusedForGood) timer = setTimeout(refresh, REFRESH_MS);
      });
  }

  function start() {
    history.replaceState(null, "", "/dashboard?" + query()); // drops ?from=console
    syncControls();
    document.querySelectorAll(".db-seg").forEach(function (button) {
      button.addEventListener("click", function () {
        if (state.since === button.dataset.period) return;
        state.since = button.dataset.period;
        changed();
      });
    });
    ["channel", "language", "department"].forEach(function (name) {
      $("db-" + name).addEventListener("change", function (event) {
        state[name] = event.target.value;
        changed();
      });
    });
    $("db-filters").addEventListener("submit", function (event) {
      event.preventDefault();
    });
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) refresh();
    });
    refresh();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
