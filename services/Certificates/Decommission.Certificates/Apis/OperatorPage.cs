namespace Decommission.Certificates.Apis;

/// <summary>
/// The operator's dashboard: start a campaign (devices listed, or selected from the inventory), follow every campaign's
/// progress (a chart of retired and failed devices over time, failures grouped by reason with what to do about them, the
/// campaign's trail) and pause, resume, abort, approve or refuse it; one device's history, and retire, retry, cancel, hold or
/// release it, record its physical destruction or witness another person's record; the devices due for end of life soon —
/// all through the API with the operator's key (auditors see the same, and the API refuses their actions).
/// Served like the auditor page: a shell without data, its script and style from their own paths (no inline script).
/// </summary>
internal static class OperatorPage
{
    public const string Html = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>Campaigns</title>
        <link rel="stylesheet" href="/operator.css">
        </head>
        <body>
        <h1>Campaigns <a class="muted small" href="/">certificates</a></h1>
        <form id="key-form"><label>API key <input id="key" type="password" size="48" autocomplete="off" required></label><button>Use key</button>
          <span id="status" class="muted"></span></form>

        <h2>Start a campaign</h2>
        <form id="start">
          <label>Name <input id="name" size="16" required maxlength="200"></label>
          <label>Devices (one per line or comma-separated) <textarea id="devices" rows="3" cols="32"></textarea>
            <button type="button" id="use-fleet" hidden></button></label>
          <fieldset id="selection"><legend class="small">or every active device of</legend>
            <label>Site <input id="sel-site" size="10" maxlength="200"></label>
            <label>Model <input id="sel-model" size="10" maxlength="200"></label>
            <label>Owner <input id="sel-owner" size="10" maxlength="200"></label>
            <label>End of life by <input id="sel-eol" type="date"></label></fieldset>
          <label>Reason <input id="reason" size="16" required maxlength="200"></label>
          <label>Pace (devices/min) <input id="pace" type="number" min="0.1" step="any" value="60" required></label>
          <label>Abort at % failed <input id="abort-percent" type="number" min="0" max="100" step="any" value="10"></label>
          <label>over at least (finished) <input id="abort-min" type="number" min="1" step="1" value="20"></label>
          <button id="start-button">Start</button>
        </form>

        <h2>All campaigns <span id="count" class="muted small"></span></h2>
        <table id="campaigns"><thead><tr><th>Name</th><th>State</th><th>Progress</th><th>Retired</th><th>Failed</th><th>In flight</th><th>Not started</th><th></th></tr></thead>
          <tbody></tbody></table>

        <h2>All retirements by state</h2>
        <table id="all-states"><thead><tr><th>State</th><th>Retirements</th></tr></thead><tbody></tbody></table>

        <h2>One device</h2>
        <form id="history-form"><label>Device <input id="history-device" size="16" required maxlength="64"></label><button>Show</button></form>
        <p id="history-summary"></p>
        <form id="device-actions" hidden>
          <label>Reason <input id="device-reason" size="24" maxlength="200"></label>
          <button type="button" id="device-retire">Retire</button> <button type="button" id="device-retry">Retry</button>
          <button type="button" id="device-cancel">Cancel</button> <button type="button" id="device-hold">Hold</button>
          <button type="button" id="device-release">Release hold</button>
        </form>
        <form id="destruction-form" hidden>
          <label>Destroyed by (method) <input id="destruction-method" size="16" maxlength="200" required placeholder="shredded"></label>
          <label>Where <input id="destruction-location" size="16" maxlength="200" required></label>
          <button id="destruction-record">Record physical destruction</button>
        </form>
        <table id="history"><thead><tr><th>At (UTC)</th><th>From</th><th>To</th><th>Event</th><th>By</th><th>Detail</th></tr></thead><tbody></tbody></table>

        <h2>Witness a physical destruction</h2>
        <form id="witness-form"><label>Record <input id="witness-record" size="40" required maxlength="64" placeholder="DR-…"></label><button>Witness</button>
          <span id="witness-detail" class="muted"></span></form>

        <h2>Due for end of life <span class="muted small">(the scheduler retires them on their date, as a campaign; a hold keeps one out)</span></h2>
        <form id="due-form"><label>In the next (days) <input id="due-days" type="number" min="0" max="3650" value="30"></label><button>Show</button>
          <span id="due-count" class="muted"></span></form>
        <table id="due"><thead><tr><th>Device</th><th>End of life</th><th>Site</th><th>Model</th><th>Scheduler's campaign</th><th></th></tr></thead><tbody></tbody></table>

        <section id="detail" hidden>
          <h2 id="detail-title"></h2>
          <p id="detail-state"></p>
          <div id="actions"></div>
          <svg id="chart" width="640" height="220" viewBox="0 0 640 220" role="img" aria-label="retired and failed devices over time"></svg>
          <p class="legend"><span class="swatch retired"></span> retired <span class="swatch failed"></span> failed</p>
          <h3>Failures by reason</h3>
          <table id="failures"><thead><tr><th>Reason</th><th>Devices</th><th>What to do</th></tr></thead><tbody></tbody></table>
          <h3>By state</h3>
          <table id="states"><thead><tr><th>State</th><th>Devices</th></tr></thead><tbody></tbody></table>
          <h3>Trail</h3>
          <table id="events"><thead><tr><th>At (UTC)</th><th>Event</th><th>By</th><th>Detail</th></tr></thead><tbody></tbody></table>
        </section>

        <script src="/operator.js"></script>
        </body>
        </html>
        """;

    public const string Style = """
          body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d2733; }
          h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; } h3 { font-size: 1rem; }
          form { display: flex; gap: .5rem; flex-wrap: wrap; align-items: end; margin: .5rem 0; }
          label { display: flex; flex-direction: column; font-size: .8rem; }
          input, select, button, textarea { font: inherit; padding: .3rem .5rem; }
          table { border-collapse: collapse; width: 100%; margin-top: .5rem; font-size: .9rem; }
          th, td { border-bottom: 1px solid #d5dbe1; padding: .35rem .5rem; text-align: left; }
          tr.selected { background: #eef3f8; }
          .muted { color: #67727e; } .small { font-size: .8rem; font-weight: normal; } .bad { color: #a4161a; } .good { color: #1b6e3a; }
          .bar { display: flex; width: 12rem; height: .8rem; background: #e4e8ec; }
          .bar .retired, .swatch.retired { background: #1b6e3a; } .bar .failed, .swatch.failed { background: #a4161a; } .bar .flight { background: #e0a100; }
          .swatch { display: inline-block; width: .8rem; height: .8rem; }
          .w0 { width: 0 } .w1 { width: 1% }
          #chart { border: 1px solid #d5dbe1; margin-top: .5rem; }
          #actions button { margin-right: .5rem; }
          fieldset { display: flex; gap: .5rem; border: 1px solid #d5dbe1; }
        """;

    public const string Script = """
        const state = { key: sessionStorage.getItem("decommission-key") || "", selected: null };
        // A link may carry the key in the fragment (never sent to the server); it is moved to session storage and dropped from the address.
        if (location.hash.startsWith("#key=")) {
          state.key = decodeURIComponent(location.hash.slice(5)); sessionStorage.setItem("decommission-key", state.key);
          history.replaceState(null, "", location.pathname);
        }
        const $ = id => document.getElementById(id);
        const call = (path, options = {}) => fetch(path, { ...options, headers: { ...(options.headers || {}), "X-Api-Key": state.key, "Content-Type": "application/json" } });
        function say(text, cls) { $("status").textContent = text; $("status").className = cls || "muted"; }
        async function problem(response) {
          try { const p = await response.json(); return p.detail || p.title || ("Error " + response.status); } catch { return "Error " + response.status; }
        }
        const advice = {
          DeviceReportedFailure: "the device could not erase itself: decom destruction record (then another person witnesses)",
          UnregisteredKey: "the receipt was signed by an unknown key: check the device's enrollment, then decom retry",
          NoAnswer: "the device never answered: bring it online, then decom retry; or destroy it physically",
        };
        const cell = (row, text) => { row.insertCell().textContent = text; };

        function bar(c) {
          const el = document.createElement("div"); el.className = "bar";
          for (const [cls, n] of [["retired", c.succeeded], ["failed", c.failed], ["flight", c.inFlight]]) {
            const part = el.appendChild(document.createElement("span")); part.className = cls;
            part.style.width = (c.devices ? (100 * n / c.devices) : 0) + "%";
          }
          return el;
        }

        async function refresh() {
          if (!state.key) { say("Enter an API key first."); return; }
          const response = await call("/api/campaigns");
          if (!response.ok) { say(response.status === 401 ? "The API key was not accepted." : "Error " + response.status, "bad"); return; }
          const list = await response.json();
          const body = $("campaigns").tBodies[0]; body.replaceChildren();
          for (const c of list.campaigns) {
            const row = body.insertRow(); row.dataset.id = c.campaignId;
            if (c.campaignId === state.selected) row.className = "selected";
            cell(row, c.name); cell(row, c.state); row.insertCell().appendChild(bar(c));
            cell(row, c.succeeded); cell(row, c.failed); cell(row, c.inFlight); cell(row, c.notStarted);
            const open = row.insertCell().appendChild(document.createElement("button")); open.textContent = "Open";
            open.onclick = () => { state.selected = c.campaignId; detail(); refresh(); };
          }
          $("count").textContent = list.campaigns.length + " campaign(s)";
          const counts = await call("/api/retirements/counts");
          if (counts.ok) {
            const all = $("all-states").tBodies[0]; all.replaceChildren();
            for (const [s, n] of Object.entries((await counts.json()).byState)) { const row = all.insertRow(); cell(row, s); cell(row, n); }
          }
          if (state.selected) await detail();
        }

        function chart(points, total) {
          const svg = $("chart"); svg.replaceChildren();
          const ns = "http://www.w3.org/2000/svg", w = 640, h = 220, pad = 30;
          const axis = document.createElementNS(ns, "path");
          axis.setAttribute("d", `M${pad},${pad / 2} V${h - pad} H${w - pad / 2}`); axis.setAttribute("stroke", "#67727e"); axis.setAttribute("fill", "none");
          svg.appendChild(axis);
          const top = Math.max(1, total);
          const label = document.createElementNS(ns, "text"); label.setAttribute("x", 2); label.setAttribute("y", pad / 2 + 4); label.setAttribute("font-size", "10");
          label.textContent = top; svg.appendChild(label);
          if (points.length === 0) return;
          const t0 = Date.parse(points[0].at), t1 = Date.parse(points[points.length - 1].at), span = Math.max(1, t1 - t0);
          for (const [series, color] of [["retired", "#1b6e3a"], ["failed", "#a4161a"]]) {
            const line = document.createElementNS(ns, "polyline");
            line.setAttribute("points", points.map(p => {
              const x = pad + (w - pad * 1.5) * (Date.parse(p.at) - t0) / span, y = (h - pad) - (h - pad * 1.5) * p[series] / top;
              return x.toFixed(1) + "," + y.toFixed(1);
            }).join(" "));
            line.setAttribute("fill", "none"); line.setAttribute("stroke", color); line.setAttribute("stroke-width", "2");
            line.dataset.series = series; line.dataset.last = points[points.length - 1][series];
            svg.appendChild(line);
          }
        }

        async function act(action) {
          const response = await call(`/api/campaigns/${state.selected}/${action}`, { method: "POST", body: JSON.stringify({}) });
          if (!response.ok) { say(response.status === 403 ? "Only operators may " + action + " campaigns." : await problem(response), "bad"); return; }
          say(action + ": done", "good"); await refresh();
        }

        async function detail() {
          const response = await call(`/api/campaigns/${state.selected}`);
          if (!response.ok) return;
          const c = await response.json();
          $("detail").hidden = false;
          $("detail-title").textContent = c.name;
          $("detail-state").textContent = `${c.state}${c.endReason ? " — " + c.endReason : ""} · ${c.source ? "devices: " + c.source + " · " : ""}asked by ${c.requestedBy}${c.approvedBy ? ", approved by " + c.approvedBy : ""} · ` +
            `${c.succeeded} retired, ${c.failed} failed, ${c.inFlight} in flight, ${c.notStarted} not started of ${c.devices} · pace ${c.currentPacePerMinute}/min`;
          // The buttons are made again only when the campaign or its state changes: a refresh never pulls one from under a click.
          const actions = $("actions"), shownFor = c.campaignId + "/" + c.state;
          if (actions.dataset.for !== shownFor) {
            actions.replaceChildren(); actions.dataset.for = shownFor;
            const possible = { Running: ["pause", "abort"], Paused: ["resume", "abort"], AwaitingApproval: ["approve", "refuse", "abort"] }[c.state] || [];
            for (const action of possible) {
              const b = actions.appendChild(document.createElement("button")); b.textContent = action[0].toUpperCase() + action.slice(1); b.id = "action-" + action;
              b.onclick = () => act(action);
            }
          }
          chart(c.timeline, c.devices);
          const failures = $("failures").tBodies[0]; failures.replaceChildren();
          for (const [reason, n] of Object.entries(c.failuresByReason).sort((a, b) => b[1] - a[1])) {
            const row = failures.insertRow(); cell(row, reason); cell(row, n); cell(row, advice[reason] || "see decom status <device>; decom retry or decom destruction record");
          }
          const states = $("states").tBodies[0]; states.replaceChildren();
          for (const [s, n] of Object.entries(c.byState)) { const row = states.insertRow(); cell(row, s); cell(row, n); }
          const events = $("events").tBodies[0]; events.replaceChildren();
          for (const e of c.events.filter(e => e.event !== "device started")) {
            const row = events.insertRow(); cell(row, e.at.replace("T", " ").slice(0, 19)); cell(row, e.event); cell(row, e.actor); cell(row, e.detail);
          }
        }

        // serve's simulated fleet, when there is one (the services alone have no such endpoint).
        async function offerFleet() {
          if (state.fleetOffered || !state.key) return;
          state.fleetOffered = true;
          const response = await call("/api/demo-fleet");
          if (!response.ok) return;
          const fleet = await response.json();
          const button = $("use-fleet"); button.hidden = false; button.textContent = `Use the simulated fleet (${fleet.deviceIds.length})`;
          button.onclick = () => { $("devices").value = fleet.deviceIds.join("\n"); };
        }

        async function showDevice(device) {
          state.device = device; state.retirement = null;
          const response = await call("/api/retirements/devices/" + encodeURIComponent(device));
          const body = $("history").tBodies[0]; body.replaceChildren();
          $("device-actions").hidden = false; $("destruction-form").hidden = true;
          if (!response.ok) { $("history-summary").textContent = response.status === 404 ? `No retirement of ${device}.` : await problem(response); return; }
          const r = await response.json(); state.retirement = r;
          $("history-summary").textContent = `${r.deviceId}: ${r.state}${r.failureReason ? " (" + r.failureReason + ")" : ""}${r.certificateId ? ", certificate " + r.certificateId : ""}, ${r.eraseAttempts} erase attempt(s)`;
          $("destruction-form").hidden = r.state !== "Failed";
          for (const h of r.history) {
            const row = body.insertRow();
            for (const v of [h.at.replace("T", " ").slice(0, 19), h.fromState, h.toState, h.event, h.actor, h.detail]) cell(row, v);
          }
        }
        $("history-form").onsubmit = async e => { e.preventDefault(); await showDevice($("history-device").value.trim()); };

        // One device's orders: each says what the API answered, then shows the device again.
        async function deviceOrder(what, path, body) {
          const response = await call(path, { method: "POST", body: JSON.stringify(body) });
          if (!response.ok) say(response.status === 403 ? `Only operators may ${what}.` : response.status === 404 ? `${what}: not found` : await problem(response), "bad");
          else say(`${what} ${state.device}: done`, "good");
          await showDevice(state.device);
          return response;
        }
        const reason = () => $("device-reason").value.trim();
        $("device-retire").onclick = () => deviceOrder("retire", "/api/retirements", { deviceId: state.device, reason: reason() || "operator's request" });
        $("device-retry").onclick = () => state.retirement && deviceOrder("retry", `/api/retirements/${state.retirement.retirementId}/retry`, { reason: reason() });
        $("device-cancel").onclick = () => state.retirement && deviceOrder("cancel", `/api/retirements/${state.retirement.retirementId}/cancel`, { reason: reason() });
        $("device-hold").onclick = () => deviceOrder("hold", `/api/devices/${encodeURIComponent(state.device)}/hold`, { reason: reason() || "held from the operator page" });
        $("device-release").onclick = () => deviceOrder("release", `/api/devices/${encodeURIComponent(state.device)}/release`, {});
        $("destruction-form").onsubmit = async e => {
          e.preventDefault();
          const r = state.retirement;
          const response = await call("/api/destructions", { method: "POST", body: JSON.stringify({
            retirementId: r.retirementId, deviceId: r.deviceId, method: $("destruction-method").value.trim(),
            location: $("destruction-location").value.trim(), destroyedAt: new Date().toISOString() }) });
          if (!response.ok) { say(await problem(response), "bad"); return; }
          const record = await response.json();
          say(`Destruction recorded as ${record.recordId}: another person must witness it before any certificate`, "good");
        };
        $("witness-form").onsubmit = async e => {
          e.preventDefault();
          const response = await call(`/api/destructions/${encodeURIComponent($("witness-record").value.trim())}/witness`, { method: "POST", body: "{}" });
          if (!response.ok) { say(response.status === 404 ? "No such destruction record." : await problem(response), "bad"); return; }
          const record = await response.json();
          $("witness-detail").textContent = `${record.deviceId}: ${record.method} at ${record.location} by ${record.performedBy}, witnessed by ${record.witness}`;
          say(`Witnessed ${record.recordId}`, "good");
        };

        async function showDue() {
          const response = await call("/api/end-of-life?days=" + encodeURIComponent($("due-days").value || "30"));
          if (!response.ok) return;
          const due = await response.json();
          $("due-count").textContent = `${due.total} device(s) due`;
          const body = $("due").tBodies[0]; body.replaceChildren();
          for (const d of due.devices) {
            const row = body.insertRow(); row.dataset.device = d.deviceId;
            cell(row, d.deviceId); cell(row, d.endOfLife); cell(row, d.site); cell(row, d.model); cell(row, d.campaignId || "");
            const hold = row.insertCell().appendChild(document.createElement("button")); hold.textContent = "Hold";
            hold.onclick = async () => {
              const r = await call(`/api/devices/${encodeURIComponent(d.deviceId)}/hold`, { method: "POST", body: JSON.stringify({ reason: "held from the end-of-life notice" }) });
              say(r.ok ? `${d.deviceId} is on hold: the scheduler leaves it out (release it under One device)` : r.status === 403 ? "Only operators may hold devices." : await problem(r), r.ok ? "good" : "bad");
              await showDue();
            };
          }
        }
        $("due-form").onsubmit = async e => { e.preventDefault(); await showDue(); };

        $("key-form").onsubmit = e => { e.preventDefault(); state.key = $("key").value.trim(); sessionStorage.setItem("decommission-key", state.key); refresh(); offerFleet(); showDue(); };
        $("start").onsubmit = async e => {
          e.preventDefault();
          const percent = parseFloat($("abort-percent").value), min = parseInt($("abort-min").value, 10);
          const selection = { site: $("sel-site").value.trim() || null, model: $("sel-model").value.trim() || null,
            owner: $("sel-owner").value.trim() || null, endOfLifeBy: $("sel-eol").value || null };
          const listed = $("devices").value.split(/[\s,]+/).filter(Boolean);
          const body = {
            name: $("name").value.trim(), reason: $("reason").value.trim(), pacePerMinute: parseFloat($("pace").value),
            abortCriteria: percent > 0 && min > 0 ? [{ percent, minFinished: min }] : [],
          };
          // Both given: sent both, and the API says to choose.
          if (listed.length > 0 || Object.values(selection).every(v => v === null)) body.deviceIds = listed;
          if (Object.values(selection).some(v => v !== null)) body.selection = selection;
          const response = await call("/api/campaigns", { method: "POST", body: JSON.stringify(body) });
          if (!response.ok) { say(response.status === 403 ? "Only operators may start campaigns." : await problem(response), "bad"); return; }
          const c = await response.json(); state.selected = c.campaignId;
          say(`Started ${c.name}: ${c.state}`, "good"); await refresh();
        };
        if (state.key) { refresh(); offerFleet(); showDue(); }
        setInterval(() => { if (state.key) refresh(); }, 2000);
        """;
}
