/* Pages that take seconds to compute and files that take seconds to build say so the
 * moment their link is clicked, so nobody stares at a blank or stale page.
 *
 * - A link to the dashboard, figure, mixed model or ARRIVE report (or any link with
 *   data-loading="text") covers the page with a status line until the next page arrives.
 * - A download link marked data-download="text" shows that text and ignores further
 *   clicks until the file starts: the server answers with the cookie
 *   labstudy_download=<token> (analysis.export_views), which this script waits for.
 * Loaded on every page from base.html; no inline script (the CSP forbids it). */
(function () {
  "use strict";

  var SLOW_PAGES = [
    [/\/s\/[^/]+\/dashboard\/$/, "Computing statistics…"],
    [/\/s\/[^/]+\/dashboard\/figure\/$/, "Drawing the publication figures…"],
    [/\/s\/[^/]+\/dashboard\/mixed-model\/$/, "Fitting the mixed model…"],
    [/\/s\/[^/]+\/arrive\/$/, "Filling in the ARRIVE report…"],
  ];
  var COOKIE = "labstudy_download";
  var GIVE_UP_MS = 120000;
  var overlay = null;

  function busyText(link) {
    if (link.hasAttribute("data-loading")) return link.getAttribute("data-loading");
    if (link.origin !== window.location.origin) return null;
    for (var i = 0; i < SLOW_PAGES.length; i++) {
      if (SLOW_PAGES[i][0].test(link.pathname)) return SLOW_PAGES[i][1];
    }
    return null;
  }

  function showBusy(text) {
    if (!overlay) {
      overlay = document.createElement("div");
      overlay.className = "page-busy";
      overlay.setAttribute("role", "status");
      overlay.setAttribute("aria-live", "assertive");
      var box = document.createElement("div");
      box.className = "page-busy-box";
      var spinner = document.createElement("span");
      spinner.className = "spinner-border";
      spinner.setAttribute("aria-hidden", "true");
      var label = document.createElement("span");
      label.className = "page-busy-text";
      box.appendChild(spinner);
      box.appendChild(label);
      overlay.appendChild(box);
      document.body.appendChild(overlay);
    }
    overlay.querySelector(".page-busy-text").textContent = text;
    overlay.hidden = false;
    document.body.setAttribute("aria-busy", "true");
  }

  function hideBusy() {
    if (overlay) overlay.hidden = true;
    document.body.removeAttribute("aria-busy");
  }

  function readCookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) return decodeURIComponent(parts[i].slice(eq + 1));
    }
    return null;
  }

  function startDownload(link, event) {
    if (link.dataset.preparing === "true") {
      event.preventDefault(); // one package at a time
      return;
    }
    var token = String(Date.now()) + Math.floor(Math.random() * 1e6);
    var url = new URL(link.href, window.location.href);
    url.searchParams.set("download_token", token);
    link.href = url.toString();
    var label = link.innerHTML;
    link.dataset.preparing = "true";
    link.classList.add("disabled", "is-preparing");
    link.setAttribute("aria-disabled", "true");
    link.textContent = link.getAttribute("data-download") || "Preparing…";
    var started = Date.now();
    var timer = window.setInterval(function () {
      var arrived = readCookie(COOKIE) === token;
      if (arrived || Date.now() - started > GIVE_UP_MS) {
        window.clearInterval(timer);
        document.cookie = COOKIE + "=; Max-Age=0; path=/; SameSite=Lax";
        link.innerHTML = label;
        link.classList.remove("disabled", "is-preparing");
        link.removeAttribute("aria-disabled");
        link.dataset.preparing = "false";
      }
    }, 250);
  }

  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    var link = event.target.closest ? event.target.closest("a[href]") : null;
    if (!link || (link.target && link.target !== "_self")) return;
    if (link.hasAttribute("data-download")) {
      startDownload(link, event);
      return;
    }
    if (link.hasAttribute("download")) return;
    if (link.hasAttribute("hx-get")) return; // htmx swaps part of the page, with its own indicator
    var text = busyText(link);
    if (text) showBusy(text);
  });

  // Back and forward restore a page from the browser's cache as it was left: not busy.
  window.addEventListener("pageshow", hideBusy);
})();
