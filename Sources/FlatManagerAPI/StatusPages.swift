import Mustache

/// The status pages' templates, stylesheet and script (served from our own routes, so a `Content-Security-Policy`
/// of `'self'` holds: no inline script or style, nothing external).
///
/// Every value reaches the HTML through `{{ }}`, which escapes it; the templates never use `{{{ }}}`. Without
/// JavaScript everything but the live log and the action buttons works (the buttons and the token field are
/// `hidden` until the script shows them).
enum StatusPages {
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        let templates = [
            ("head", head), ("foot", foot), ("list", list), ("job", job), ("build", build), ("queue", queue),
            ("repo", repo), ("tokenForm", tokenForm),
        ]
        // Templates are constants, so a parse failure is a programming error caught by tests.
        for (name, text) in templates {
            if let template = try? MustacheTemplate(string: text) { library.register(template, named: name) }
        }
        return library
    }()

    /// The start of every page: `title`, optional `refresh` (seconds, a meta refresh) or `noscriptRefresh` (the
    /// same, only without script), the navigation with `repos`, and `viewer` on `<main>`: `jobs` when the request
    /// carried a verified `jobs` token, else `public` (the script then fetches the page again with the tab's token).
    static let head = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        {{#refresh}}<meta http-equiv="refresh" content="5">{{/refresh}}{{#noscriptRefresh}}<noscript><meta http-equiv="refresh" content="5"></noscript>{{/noscriptRefresh}}
        <title>{{title}} - flat-manager status</title>
        <link rel="stylesheet" href="/status/dashboard.css"><script src="/status/dashboard.js" defer></script></head>
        <body><header><nav aria-label="Status pages"><ul><li class="site">flat-manager {{version}}</li>
        <li><a href="/status">Builds</a></li><li><a href="/status/queue">Queue</a></li>
        {{#repos}}<li><a href="/status/repo/{{name}}">Repo {{name}}</a></li>{{/repos}}</ul></nav></header>
        <main id="main" data-viewer="{{viewer}}">
        """

    static let foot = """
        </main></body></html>
        """

    /// The reviewer's token: kept in the tab's sessionStorage by the script, sent only in an `Authorization` header
    /// (to the API for actions, to the status pages to show private builds), never in a URL or a cookie.
    static let tokenForm = """
        <section class="js-only" aria-labelledby="token-heading" hidden><h2 id="token-heading">Token</h2>
        <form id="token-form"><label for="token">API token (kept in this tab only)</label>
        <input id="token" name="token" type="password" autocomplete="off" spellcheck="false">
        <button type="submit" id="token-set">Use token</button> <button type="button" id="token-forget">Forget token</button>
        </form><p id="token-state"></p></section>
        <p id="action-result" role="status" aria-live="polite"></p>
        """

    static let list = """
        {{> head}}
        <h1>Builds</h1>
        {{> tokenForm}}
        <form class="filters" method="get" action="/status" aria-label="Filter builds">
        <label for="f-app">App id prefix <input id="f-app" name="app" value="{{filter.app}}" placeholder="org.example"></label>
        <label for="f-repo">Repo <input id="f-repo" name="repo" value="{{filter.repo}}"></label>
        <label for="f-state">State <select id="f-state" name="state"><option value="">any</option>
        {{#states}}<option value="{{name}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/states}}</select></label>
        <label for="f-since">Created from <input id="f-since" name="since" type="date" value="{{filter.since}}"></label>
        <label for="f-until">Created until <input id="f-until" name="until" type="date" value="{{filter.until}}"></label>
        <button type="submit">Filter</button> <a href="/status">Clear</a>
        </form>
        {{#hasBuilds}}<div class="table-wrap"><table id="builds"><caption>Builds, newest first (page {{page}})</caption>
        <thead><tr><th scope="col">Build</th><th scope="col">Repo</th><th scope="col">App</th><th scope="col">Created</th><th scope="col">Repo state</th><th scope="col">Published state</th><th scope="col">Commit job</th><th scope="col">Publish job</th><th scope="col">Duration</th></tr></thead>
        <tbody>{{#builds}}<tr><th scope="row"><a href="/status/build/{{id}}">{{id}}</a></th><td>{{repo}}</td><td>{{app}}</td><td>{{created}}</td><td class="{{repoState}}">{{repoState}}</td><td class="{{publishedState}}">{{publishedState}}</td><td>{{#commitJob}}<a href="/status/{{commitJob}}">{{commitJob}}</a>{{/commitJob}}</td><td>{{#publishJob}}<a href="/status/{{publishJob}}">{{publishJob}}</a>{{/publishJob}}</td><td>{{duration}}</td></tr>
        {{/builds}}</tbody></table></div>{{/hasBuilds}}{{^hasBuilds}}<p id="no-builds">No builds.</p>{{/hasBuilds}}
        <nav aria-label="Pages" class="pages">{{#previous}}<a rel="prev" id="previous-page" href="{{previous}}">Previous page</a>{{/previous}} {{#next}}<a rel="next" id="next-page" href="{{next}}">Next page</a>{{/next}}</nav>
        <h2>Active jobs</h2>
        {{#hasJobs}}<div class="table-wrap"><table id="jobs"><thead><tr><th scope="col">Job</th><th scope="col">Kind</th><th scope="col">Status</th><th scope="col">Repo</th></tr></thead>
        <tbody>{{#jobs}}<tr><th scope="row"><a href="/status/{{id}}">{{id}}</a></th><td>{{kind}}</td><td class="{{status}}">{{status}}</td><td>{{repo}}</td></tr>
        {{/jobs}}</tbody></table></div>{{/hasJobs}}{{^hasJobs}}<p>No active jobs.</p>{{/hasJobs}}
        {{> foot}}
        """

    static let timesRows = """
        {{#times}}<tr><th scope="row">Queued</th><td>{{queued}}</td></tr><tr><th scope="row">Started</th><td>{{started}}</td></tr>
        <tr><th scope="row">Ended</th><td>{{ended}}</td></tr><tr><th scope="row">Waited</th><td>{{waited}}</td></tr>
        <tr><th scope="row">Ran</th><td>{{ran}}</td></tr>{{/times}}
        """

    /// The log follows live (the script polls `/status/{id}/log?offset=N`) while the job runs; without script the
    /// page reloads itself.
    static let job = """
        {{> head}}
        <p>{{#build}}<a id="build-link" href="/status/build/{{build}}">Build {{build}}</a>{{/build}}</p>
        <h1>Job {{id}} - {{kind}}: <span id="status" class="{{status}}">{{status}}</span></h1>
        {{#details}}<table id="job">{{#repo}}<tr><th scope="row">Repo</th><td>{{repo}}</td></tr>{{/repo}}
        \(timesRows)</table>
        <h2>Contents</h2><pre>{{contents}}</pre><h2>Log</h2><pre id="log" data-offset="{{offset}}" data-job="{{id}}"{{#follow}} data-follow="1"{{/follow}}>{{log}}</pre>
        {{#results}}<h2>Results</h2><pre id="results">{{results}}</pre>{{/results}}{{/details}}
        {{^details}}<p id="private">This job belongs to a private build; its details need a token.</p>{{/details}}
        {{> foot}}
        """

    static let build = """
        {{> head}}
        <h1>Build {{id}}</h1>
        <table id="build">{{#details}}<tr><th scope="row">Repo</th><td>{{repo}}</td></tr><tr><th scope="row">App</th><td>{{app}}</td></tr>
        <tr><th scope="row">Created</th><td>{{created}}</td></tr>{{/details}}
        <tr><th scope="row">Repo state</th><td class="{{repoState}}">{{repoState}}{{#repoReason}}: {{repoReason}}{{/repoReason}}</td></tr>
        <tr><th scope="row">Published state</th><td class="{{publishedState}}">{{publishedState}}{{#publishedReason}}: {{publishedReason}}{{/publishedReason}}</td></tr>
        {{#details}}<tr><th scope="row">Commit job</th><td>{{#commitJob}}<a href="/status/{{commitJob}}">{{commitJob}}</a>{{/commitJob}}</td></tr>
        <tr><th scope="row">Publish job</th><td>{{#publishJob}}<a href="/status/{{publishJob}}">{{publishJob}}</a>{{/publishJob}}</td></tr>
        <tr><th scope="row">Duration</th><td id="duration">{{duration}}</td></tr>{{/details}}
        </table>
        {{^details}}<p id="private">This build is private; its details need a token.</p>{{/details}}
        {{> tokenForm}}{{#details}}
        {{#purgeable}}<p class="js-only" hidden><button type="button" id="purge" data-action="purge" data-build="{{id}}" data-confirm="Really purge build {{id}}?">Purge build</button></p>{{/purgeable}}
        {{#republishable}}<p class="js-only" hidden><button type="button" id="republish" data-action="republish" data-repo="{{repo}}" data-app="{{republishApp}}" data-confirm="Really republish {{republishApp}}?">Republish {{republishApp}}</button></p>{{/republishable}}
        <h2>Refs</h2><div class="table-wrap"><table id="refs"><thead><tr><th scope="col">Ref</th><th scope="col">Commit</th></tr></thead>
        <tbody>{{#refs}}<tr><td>{{name}}</td><td><code>{{commit}}</code></td></tr>{{/refs}}</tbody></table></div>
        <h2>Checks</h2><div class="table-wrap"><table id="checks"><thead><tr><th scope="col">Check</th><th scope="col">Status</th><th scope="col">Job</th><th scope="col">Review</th></tr></thead>
        <tbody>{{#checks}}<tr><th scope="row">{{name}}</th><td id="check-status-{{job}}">{{status}}</td><td><a href="/status/{{job}}">{{job}}</a></td><td>{{#reviewable}}<span class="js-only review" hidden><label for="reason-{{job}}">Reason</label> <input id="reason-{{job}}" name="reason">
        <button type="button" id="pass-{{job}}" data-action="review" data-job="{{job}}" data-check="{{name}}" data-status="Passed">Pass</button>
        <button type="button" id="fail-{{job}}" data-action="review" data-job="{{job}}" data-check="{{name}}" data-status="Failed">Fail</button></span>{{/reviewable}}</td></tr>{{/checks}}</tbody></table></div>
        {{^checks}}<p>No checks.</p>{{/checks}}
        <h2>Jobs</h2><div class="table-wrap"><table id="build-jobs"><thead><tr><th scope="col">Job</th><th scope="col">Kind</th><th scope="col">Status</th><th scope="col">Queued</th><th scope="col">Started</th><th scope="col">Ended</th><th scope="col">Waited</th><th scope="col">Ran</th></tr></thead>
        <tbody>{{#jobs}}<tr><th scope="row"><a href="/status/{{id}}">{{id}}</a></th><td>{{kind}}</td><td class="{{status}}">{{status}}</td><td>{{queued}}</td><td>{{started}}</td><td>{{ended}}</td><td>{{waited}}</td><td>{{ran}}</td></tr>{{/jobs}}</tbody></table></div>{{/details}}
        {{> foot}}
        """

    static let queue = """
        {{> head}}
        <h1>Queue</h1>
        {{#hasJobs}}<div class="table-wrap"><table id="queue"><caption>Jobs not yet finished, oldest first</caption>
        <thead><tr><th scope="col">Job</th><th scope="col">Kind</th><th scope="col">Status</th><th scope="col">Repo</th><th scope="col">Age</th><th scope="col">Waiting for</th></tr></thead>
        <tbody>{{#jobs}}<tr><th scope="row"><a href="/status/{{id}}">{{id}}</a></th><td>{{kind}}</td><td class="{{status}}">{{status}}</td><td>{{repo}}</td><td>{{age}}</td><td class="waits">{{#waits}}{{#job}}<a href="/status/{{job}}">job {{job}}</a> {{/job}}{{text}}<br>{{/waits}}</td></tr>
        {{/jobs}}</tbody></table></div>{{/hasJobs}}{{^hasJobs}}<p id="empty-queue">Nothing is queued.</p>{{/hasJobs}}
        {{> foot}}
        """

    static let repo = """
        {{> head}}
        <h1>Repo {{name}}</h1>
        {{#summary}}<p>Summary updated {{summary}}</p>{{/summary}}
        {{#error}}<p class="error" id="repo-error">{{error}}</p>{{/error}}
        {{#hasRefs}}<div class="table-wrap"><table id="repo-refs"><thead><tr><th scope="col">Ref</th><th scope="col">Commit</th><th scope="col">Updated</th><th scope="col">Installed size</th><th scope="col">Download size</th><th scope="col">Deltas to it</th></tr></thead>
        <tbody>{{#refs}}<tr><th scope="row">{{name}}</th><td><code title="{{commit}}">{{shortCommit}}</code></td><td>{{updated}}</td><td>{{installedSize}}</td><td>{{downloadSize}}</td><td>{{#deltas}}<code>{{.}}</code><br>{{/deltas}}</td></tr>
        {{/refs}}</tbody></table></div>{{/hasRefs}}{{^hasRefs}}<p id="no-refs">No refs.</p>{{/hasRefs}}
        {{> foot}}
        """

    static let stylesheet = """
        body{font-family:system-ui,sans-serif;margin:0;line-height:1.45;color:#111;background:#fff}
        header nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:.25em 1.25em;margin:0;padding:.6em 1em;background:#1d3557}
        header nav a,header nav .site{color:#fff}header nav .site{font-weight:bold}
        main{padding:.5em 1em 2em;max-width:90em}
        h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.5em}
        .table-wrap{overflow-x:auto;max-width:100%}
        table{border-collapse:collapse;margin:.5em 0}caption{text-align:left;font-weight:bold;padding:.2em 0}
        td,th{border:1px solid #bbb;padding:.25em .5em;text-align:left;vertical-align:top}
        thead th{background:#eef1f5}th[scope=row]{font-weight:normal}
        pre{background:#f4f4f4;padding:8px;overflow:auto;white-space:pre-wrap;overflow-wrap:anywhere}
        code{overflow-wrap:anywhere}
        .Broken,.failed,.error{color:#a00}.Ended,.published,.ready,.passed,.ok{color:#065f06}
        form.filters{display:flex;flex-wrap:wrap;gap:.5em 1em;align-items:flex-end;margin:.5em 0}
        form.filters label{display:flex;flex-direction:column;font-size:.9em}
        input,select,button{font:inherit;padding:.3em .5em;max-width:100%}
        button{cursor:pointer;border:1px solid #1d3557;background:#e8eef7;border-radius:3px}
        button[disabled]{opacity:.5;cursor:default}
        a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible{outline:3px solid #2a6fdb;outline-offset:2px}
        .pages a{display:inline-block;padding:.4em .2em}
        #action-result:empty{display:none}#action-result{font-weight:bold}
        @media (max-width:40em){main{padding:.5em}td,th{padding:.2em .3em}form.filters label{width:100%}}

        """

    /// The dashboard's script: the live log of a job page and the actions of a build page (check review, purge,
    /// republish), which call the API with the token kept in the tab's sessionStorage (never a cookie, never in a
    /// URL). Purge and republish need a second click to confirm. A page rendered without a `jobs` token
    /// (`data-viewer="public"` on `<main>`) is fetched again with the tab's token, on load and when the token is set,
    /// and its `<main>` replaced by the answer's when that one was rendered for a `jobs` token (private builds shown);
    /// a refused token (401/403) leaves the public view and shows the API's error.
    static let script = """
        (function () {
          "use strict";
          var KEY = "flat-manager-token";
          function token() { try { return sessionStorage.getItem(KEY) || ""; } catch (e) { return ""; } }
          function setToken(value) {
            try { if (value) { sessionStorage.setItem(KEY, value); } else { sessionStorage.removeItem(KEY); } } catch (e) {}
          }
          function say(text, ok) {
            var result = document.getElementById("action-result");
            if (!result) { return; }
            result.textContent = text;
            result.className = ok ? "ok" : "error";
          }
          function showTokenState() {
            var state = document.getElementById("token-state");
            if (state) { state.textContent = token() ? "A token is set for this tab." : "No token is set."; }
          }
          function call(method, path, body) {
            var init = { method: method, headers: { "Authorization": "Bearer " + token() }, credentials: "omit",
                         cache: "no-store" };
            if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
            return fetch(path, init).then(function (response) {
              return response.text().then(function (text) {
                var data = null;
                try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
                if (!response.ok) { throw new Error((data && data.message) || text || ("HTTP " + response.status)); }
                return data;
              });
            });
          }
          function errorOf(response) {
            return response.text().then(function (text) {
              var data = null;
              try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
              return (data && data.message) || ("HTTP " + response.status);
            });
          }
          function refresh(then) {
            var headers = {};
            if (token()) { headers.Authorization = "Bearer " + token(); }
            return fetch(location.href, { headers: headers, credentials: "omit", cache: "no-store" })
              .then(function (response) {
                if (!response.ok) { return errorOf(response).then(function (message) { say(message, false); }); }
                return response.text().then(function (text) {
                  var fresh = new DOMParser().parseFromString(text, "text/html").getElementById("main");
                  var main = document.getElementById("main");
                  if (!fresh || !main) { return; }
                  var shown = fresh.getAttribute("data-viewer") === "jobs";
                  if (shown || main.getAttribute("data-viewer") === "jobs") {
                    var nodes = [], i;
                    for (i = 0; i < fresh.childNodes.length; i++) { nodes.push(document.importNode(fresh.childNodes[i], true)); }
                    main.replaceChildren.apply(main, nodes);
                    main.setAttribute("data-viewer", fresh.getAttribute("data-viewer") || "public");
                    bind();
                  }
                  if (then) { then(shown); }
                });
              }, function () { say("The page could not be loaded with the token.", false); });
          }
          function confirmed(button) {
            var question = button.getAttribute("data-confirm");
            if (!question || button.getAttribute("data-armed") === "1") { return true; }
            button.setAttribute("data-armed", "1");
            button.setAttribute("data-label", button.textContent);
            button.textContent = question + " Click again to confirm.";
            setTimeout(function () { disarm(button); }, 8000);
            return false;
          }
          function disarm(button) {
            if (button.getAttribute("data-armed") !== "1") { return; }
            button.removeAttribute("data-armed");
            button.textContent = button.getAttribute("data-label");
          }
          function request(data) {
            if (data.action === "review") {
              var status = { status: data.status }, reason = document.getElementById("reason-" + data.job);
              if (reason && reason.value) { status.reason = reason.value; }
              return call("POST", "/api/v1/job/" + data.job + "/check/review", { "new-status": status }).then(function () {
                var cell = document.getElementById("check-status-" + data.job);
                if (cell) { cell.textContent = data.status === "Passed" ? "passed" : "failed"; }
                return "Check " + data.check + ": " + data.status + ".";
              });
            }
            if (data.action === "purge") {
              return call("POST", "/api/v1/build/" + data.build + "/purge").then(function (build) {
                if (build && build.repo_state === 5) { return "Build " + data.build + " purged."; }
                throw new Error((build && build.repo_state_reason) || "The purge failed.");
              });
            }
            return call("POST", "/api/v1/repo/" + encodeURIComponent(data.repo) + "/republish", { app: data.app })
              .then(function (job) { return "Republish job " + (job && job.id) + " queued."; });
          }
          function act(button) {
            if (!token()) { say("Enter a token first.", false); document.getElementById("token").focus(); return; }
            if (!confirmed(button)) { return; }
            disarm(button);
            button.disabled = true;
            say("Working...", true);
            request(button.dataset).then(function (text) { say(text, true); },
              function (error) { say(error.message, false); button.disabled = false; });
          }
          function followLog(log) {
            var status = document.getElementById("status"), offset = parseInt(log.dataset.offset, 10);
            function poll() {
              if (!log.isConnected) { return; }
              var headers = {};
              if (token() && document.getElementById("main").getAttribute("data-viewer") === "jobs") {
                headers.Authorization = "Bearer " + token();
              }
              fetch("/status/" + log.dataset.job + "/log?offset=" + offset,
                    { headers: headers, credentials: "omit", cache: "no-store" }).then(function (r) {
                if (!r.ok) { return; }
                var next = parseInt(r.headers.get("X-Log-Offset"), 10), state = r.headers.get("X-Job-Status");
                return r.text().then(function (text) {
                  if (text.length > 0) { log.appendChild(document.createTextNode(text)); }
                  if (!isNaN(next)) { offset = next; log.dataset.offset = String(next); }
                  if (state) { status.textContent = state; status.className = state; }
                  if (state !== "Ended" && state !== "Broken") { setTimeout(poll, 1000); }
                });
              }).catch(function () { setTimeout(poll, 2000); });
            }
            setTimeout(poll, 1000);
          }
          function bind() {
            var hidden = document.querySelectorAll(".js-only"), i;
            for (i = 0; i < hidden.length; i++) { hidden[i].hidden = false; }
            var form = document.getElementById("token-form"), input = document.getElementById("token");
            if (form) {
              form.addEventListener("submit", function (event) {
                event.preventDefault();
                setToken(input.value.trim());
                input.value = "";
                showTokenState();
                var text = token() ? "Token set for this tab." : "No token is set.";
                say(text, true);
                refresh(function (shown) { if (shown) { say(text, true); } });
              });
              document.getElementById("token-forget").addEventListener("click", function () {
                setToken("");
                showTokenState();
                say("Token forgotten.", true);
                refresh(function () { say("Token forgotten.", true); });
              });
              showTokenState();
            }
            var buttons = document.querySelectorAll("button[data-action]");
            for (i = 0; i < buttons.length; i++) {
              buttons[i].addEventListener("click", function (event) { act(event.currentTarget); });
            }
            var log = document.getElementById("log");
            if (log && log.dataset.follow === "1") { followLog(log); }
          }
          function start() {
            bind();
            var main = document.getElementById("main");
            if (token() && main && main.getAttribute("data-viewer") !== "jobs") { refresh(); }
          }
          if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
        })();

        """
}
