namespace Decommission.Certificates.Apis;

/// <summary>
/// The auditor page: list, search, download and verify certificates through the API, with the auditor's key. Its script and
/// style are served from their own paths, so the Content-Security-Policy allows no inline script (<see cref="SecurityHeaders"/>).
/// </summary>
internal static class AuditorPage
{
    public const string Html = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>Disposal certificates</title>
        <link rel="stylesheet" href="/auditor.css">
        </head>
        <body>
        <h1>Disposal certificates <a class="muted small" href="/operator">campaigns</a></h1>
        <form id="key-form"><label>API key <input id="key" type="password" size="48" autocomplete="off" required></label><button>Use key</button>
          <span id="who" class="muted"></span></form>

        <h2>Search</h2>
        <form id="search">
          <label>Device <input id="device" size="16"></label>
          <label>Method <select id="method"><option value="">any</option><option>Purge</option><option>Destroy</option></select></label>
          <label>Issued from <input id="from" type="date"></label>
          <label>to <input id="to" type="date"></label>
          <button>Search</button>
        </form>
        <table id="certificates"><thead><tr><th>Certificate</th><th>Device</th><th>Method</th><th>Issued (UTC)</th><th>PDF SHA-256</th><th></th></tr></thead>
          <tbody></tbody></table>
        <p><button id="more" hidden>More</button> <span id="status" class="muted"></span></p>

        <h2>Verify a certificate</h2>
        <form id="verify"><label>PDF <input id="file" type="file" accept="application/pdf" required></label><button>Verify</button></form>
        <p id="verdict"></p>

        <script src="/auditor.js"></script>
        </body>
        </html>
        """;

    public const string Style = """
          body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d2733; }
          h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
          form { display: flex; gap: .5rem; flex-wrap: wrap; align-items: end; margin: .5rem 0; }
          label { display: flex; flex-direction: column; font-size: .8rem; }
          input, select, button { font: inherit; padding: .3rem .5rem; }
          table { border-collapse: collapse; width: 100%; margin-top: .5rem; font-size: .9rem; }
          th, td { border-bottom: 1px solid #d5dbe1; padding: .35rem .5rem; text-align: left; }
          .muted { color: #67727e; } .bad { color: #a4161a; } .good { color: #1b6e3a; }
          code { font-size: .8rem; } .small { font-size: .8rem; font-weight: normal; }
        """;

    public const string Script = """
        const state = { key: sessionStorage.getItem("decommission-key") || "", cursor: null };
        // A link may carry the key in the fragment (never sent to the server); it is moved to session storage and dropped from the address.
        if (location.hash.startsWith("#key=")) {
          state.key = decodeURIComponent(location.hash.slice(5)); sessionStorage.setItem("decommission-key", state.key);
          history.replaceState(null, "", location.pathname);
        }
        const $ = id => document.getElementById(id);
        const call = (path, options = {}) => fetch(path, { ...options, headers: { ...(options.headers || {}), "X-Api-Key": state.key } });
        function say(text, cls) { $("status").textContent = text; $("status").className = cls || "muted"; }

        async function search(append) {
          if (!state.key) { say("Enter an API key first."); return; }
          const q = new URLSearchParams({ limit: "50" });
          if ($("device").value) q.set("deviceId", $("device").value);
          if ($("method").value) q.set("method", $("method").value);
          if ($("from").value) q.set("from", $("from").value + "T00:00:00Z");
          if ($("to").value) q.set("to", $("to").value + "T23:59:59Z");
          if (append && state.cursor) q.set("cursor", state.cursor);
          const response = await call("/api/certificates?" + q);
          if (!response.ok) { say(response.status === 401 ? "The API key was not accepted." : "Error " + response.status, "bad"); return; }
          const page = await response.json();
          const body = $("certificates").tBodies[0];
          if (!append) body.replaceChildren();
          for (const c of page.items) {
            const row = body.insertRow();
            for (const value of [c.certificateId, c.deviceId, c.sanitizationType, c.issuedAt.replace("T", " ").slice(0, 19)])
              row.insertCell().textContent = value;
            const hash = row.insertCell().appendChild(document.createElement("code")); hash.textContent = c.pdfSha256.slice(0, 16) + "…";
            const actions = row.insertCell();
            for (const [label, suffix, type] of [["PDF", "/pdf", ".pdf"], ["JSON", "", ".json"]]) {
              const button = actions.appendChild(document.createElement("button"));
              button.textContent = label;
              button.onclick = () => download("/api/certificates/" + encodeURIComponent(c.certificateId) + suffix, c.certificateId + type);
            }
          }
          state.cursor = page.nextCursor; $("more").hidden = !page.nextCursor;
          say(body.rows.length + " certificate(s)" + (page.nextCursor ? ", more available" : ""));
        }

        async function download(path, name) {
          const response = await call(path);
          if (!response.ok) { say("Download failed: " + response.status, "bad"); return; }
          const link = document.createElement("a");
          link.href = URL.createObjectURL(await response.blob()); link.download = name; link.click();
          URL.revokeObjectURL(link.href);
        }

        $("key-form").onsubmit = e => { e.preventDefault(); state.key = $("key").value.trim(); sessionStorage.setItem("decommission-key", state.key); search(false); };
        $("search").onsubmit = e => { e.preventDefault(); search(false); };
        $("more").onclick = () => search(true);
        $("verify").onsubmit = async e => {
          e.preventDefault();
          const form = new FormData(); form.append("file", $("file").files[0]);
          const response = await call("/api/certificates/verify", { method: "POST", body: form });
          if (!response.ok) { $("verdict").textContent = response.status === 403 ? "Only auditors may verify." : "Error " + response.status; $("verdict").className = "bad"; return; }
          const result = await response.json();
          $("verdict").textContent = result.verdict + ": " + result.detail;
          $("verdict").className = result.verdict === "valid" ? "good" : "bad";
        };
        if (state.key) search(false);
        """;
}
