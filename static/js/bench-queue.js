/* The bench's tap queue: nothing tapped is lost or doubled, online or off.
 *
 * Every tap (and undo) is written to localStorage before it is sent, then sent in order
 * as an htmx POST that returns the updated panel. When the connection drops the taps
 * wait in the queue (a badge says how many) and are replayed in order when it returns.
 * Each carries a UUID made here; the server stores a UUID once, so a tap sent twice is
 * stored once. The server's answer wins: a tap it refuses (session voided or locked
 * meanwhile, series changed on another device) is dropped from the queue and shown
 * plainly until the technician dismisses it. Taps are kept per user: another person's
 * taps wait for that person to sign in.
 *
 * Also registers the service worker that keeps the bench pages loadable offline.
 */
(function (root) {
  "use strict";

  var deviceData = root.LabstudyOffline; // offline-data.js: key names, clearing at sign-out
  var QUEUE = deviceData.QUEUE;
  var CONFLICTS = deviceData.CONFLICTS;
  var SNAPSHOT = deviceData.SNAPSHOT;
  var RETRY_MS = 4000;

  var bench = document.getElementById("bench");
  var user = bench ? bench.dataset.user : "";
  var flushing = false;
  var inFlight = null;
  var retryTimer = null;
  var problem = "";
  var SIGNED_OUT = "Sign in again to send the waiting taps; they are kept on this tablet.";
  var listeners = [];

  function read(key, fallback) {
    try {
      var raw = root.localStorage.getItem(key);
      return raw ? JSON.parse(raw) : fallback;
    } catch (e) {
      return fallback;
    }
  }

  function write(key, value) {
    root.localStorage.setItem(key, JSON.stringify(value));
  }

  function all() {
    return read(QUEUE, []);
  }

  function mine() {
    return all().filter(function (op) { return op.user === user; });
  }

  function save(ops) {
    write(QUEUE, ops);
    changed();
  }

  function enqueue(op) {
    var ops = all();
    ops.push(op);
    save(ops);
  }

  function drop(uuid) {
    save(all().filter(function (op) { return op.uuid !== uuid; }));
  }

  function uuid4() {
    if (root.crypto && root.crypto.randomUUID) {
      return root.crypto.randomUUID();
    }
    var b = new Uint8Array(16);
    root.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); });
    return h.slice(0, 4).join("") + "-" + h.slice(4, 6).join("") + "-" + h.slice(6, 8).join("") +
      "-" + h.slice(8, 10).join("") + "-" + h.slice(10).join("");
  }

  /* Server states per session key, newest first wins (a cached page may be older). */
  function snapshot(key) {
    return read(SNAPSHOT + key, null);
  }

  function remember(state) {
    if (!state || !state.key) {
      return state;
    }
    var known = snapshot(state.key);
    if (known && known.rendered_at > state.rendered_at) {
      return known;
    }
    var copy = JSON.parse(JSON.stringify(state));
    copy.conflict = null;
    write(SNAPSHOT + state.key, copy);
    return state;
  }

  function stateFrom(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var el = doc.getElementById("bench-state");
    return el ? JSON.parse(el.textContent) : null;
  }

  function conflicts() {
    return read(CONFLICTS, []).filter(function (c) { return c.user === user; });
  }

  function addConflict(op, state) {
    var list = read(CONFLICTS, []);
    var message = state && state.conflict ? state.conflict.message : "The server refused it.";
    var code = state && state.conflict ? state.conflict.code : "refused";
    var group = list.find(function (c) {
      return c.user === op.user && c.key === op.key && c.code === code && c.message === message;
    });
    if (!group) {
      group = { id: uuid4(), user: op.user, key: op.key, label: op.label, code: code,
        message: message, taps: [], at: Date.now() };
      list.push(group);
    }
    group.taps.push(op.kind === "undo" ? { undo: true } : { size: op.size, withdrew: op.withdrew });
    write(CONFLICTS, list);
  }

  function dismiss(id) {
    write(CONFLICTS, read(CONFLICTS, []).filter(function (c) { return c.id !== id; }));
    changed();
  }

  function onChange(fn) {
    listeners.push(fn);
  }

  function changed() {
    renderBadge();
    renderConflicts();
    listeners.forEach(function (fn) { fn(); });
  }

  function send(op) {
    var source = bench || document.body;
    var here = document.getElementById("bench-panel");
    var swapHere = here && here.dataset.key === op.key;
    var xhr = null;
    function capture(evt) {
      var headers = evt.detail.requestConfig && evt.detail.requestConfig.headers;
      if (headers && headers["X-Bench-Op"] === op.uuid) {
        xhr = evt.detail.xhr;
      }
    }
    source.addEventListener("htmx:afterRequest", capture);
    inFlight = op.uuid;
    return root.htmx.ajax("POST", op.url, {
      source: source,
      target: swapHere ? "#bench-panel" : source,
      swap: swapHere ? "outerHTML" : "none",
      values: op.params,
      headers: { "X-Bench-Op": op.uuid, "X-Bench-Client": "1" },
    }).then(function () {
      return outcome(op, xhr);
    }, function () {
      return "offline";
    }).then(function (result) {
      source.removeEventListener("htmx:afterRequest", capture);
      inFlight = null;
      return result;
    });
  }

  function outcome(op, xhr) {
    if (!xhr || !xhr.status) {
      return "offline";
    }
    var result = xhr.getResponseHeader("X-Bench-Result");
    if (!result) {
      // Not the bench answering: a sign-in page after the session expired, or an error.
      if (deviceData.SIGN_IN.test(xhr.responseURL || "")) {
        deviceData.forgetPages(); // signed out: the cached pages go, the taps stay
        problem = SIGNED_OUT;
      } else {
        problem = "The server did not accept the taps (error " + xhr.status + "); retrying.";
      }
      return "stuck";
    }
    var state = stateFrom(xhr.responseText);
    if (state) {
      remember(state);
    }
    if (result.indexOf("conflict") === 0) {
      addConflict(op, state);
    }
    drop(op.uuid);
    return "done";
  }

  function flush() {
    if (flushing || !root.htmx) {
      return Promise.resolve();
    }
    flushing = true;
    clearTimeout(retryTimer);
    function step() {
      var op = mine()[0];
      if (!op) {
        problem = "";
        return Promise.resolve();
      }
      return send(op).then(function (result) {
        if (result === "done") {
          return step();
        }
        retryTimer = setTimeout(flush, RETRY_MS);
        return null;
      });
    }
    return step().then(function () {
      flushing = false;
      changed();
    }, function () {
      flushing = false;
      changed();
    });
  }

  function renderBadge() {
    var badge = document.getElementById("bench-sync");
    var offline = document.getElementById("bench-offline");
    var n = mine().length;
    var others = all().length - n;
    if (badge) {
      badge.hidden = n === 0 && others === 0;
      var text = n === 1 ? "1 tap waiting to sync" : n + " taps waiting to sync";
      if (others) {
        text += " · " + others + " from another user (they sign in to send them)";
      }
      badge.textContent = text;
      badge.classList.toggle("text-bg-warning", n > 0);
    }
    if (offline) {
      offline.hidden = root.navigator.onLine && !problem;
      offline.textContent = root.navigator.onLine ? problem : "Offline: taps are kept on this tablet";
      if (root.navigator.onLine && problem === SIGNED_OUT) {
        offline.replaceChildren(signInLink());
      }
    }
  }

  /* "Sign in again" as a link that comes back to this screen after signing in. */
  function signInLink() {
    var link = document.createElement("a");
    link.id = "bench-sign-in";
    link.className = "btn btn-warning";
    var here = root.location.pathname + root.location.search;
    link.href = "/accounts/login/?next=" + encodeURIComponent(here);
    link.textContent = problem;
    return link;
  }

  function tapText(t) {
    if (t.undo) {
      return "undo";
    }
    return t.size + " " + (t.withdrew ? "✓" : "✗");
  }

  function renderConflicts() {
    var box = document.getElementById("bench-conflicts");
    if (!box) {
      return;
    }
    box.replaceChildren();
    conflicts().forEach(function (c) {
      var alert = document.createElement("div");
      alert.className = "alert alert-danger bench-conflict-note";
      alert.setAttribute("role", "alert");
      var title = document.createElement("strong");
      title.textContent = "Not recorded: " + c.label + ". ";
      var text = document.createElement("span");
      text.textContent = c.message + " Taps not recorded: " + c.taps.map(tapText).join(", ") + ".";
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-outline-danger ms-2";
      button.textContent = "Noted";
      button.addEventListener("click", function () { dismiss(c.id); });
      alert.append(title, text, button);
      box.append(alert);
    });
  }

  function registerServiceWorker() {
    var sw = root.navigator.serviceWorker;
    if (!bench || !bench.dataset.sw || !sw) {
      return;
    }
    var firstVisit = !sw.controller; // this page did not come through the worker
    sw.register(bench.dataset.sw).then(function () {
      return sw.ready;
    }).then(function (reg) {
      if (!reg.active || !root.navigator.onLine) {
        return;
      }
      var listEl = document.getElementById("bench-precache");
      var urls = listEl ? JSON.parse(listEl.textContent) : [];
      if (firstVisit) {
        urls.push(root.location.pathname + root.location.search);
        document.querySelectorAll("script[src], link[rel=stylesheet]").forEach(function (el) {
          urls.push(el.getAttribute("src") || el.getAttribute("href"));
        });
      }
      if (urls.length) {
        reg.active.postMessage({ type: "precache", urls: urls });
      }
    }).catch(function () { /* pages still work online without it */ });
  }

  if (root.htmx) {
    root.htmx.config.timeout = 10000;
    // A refused tap still carries the server's panel: show it.
    document.body.addEventListener("htmx:beforeSwap", function (evt) {
      var status = evt.detail.xhr.status;
      if (status === 409 || status === 400) {
        evt.detail.shouldSwap = true;
        evt.detail.isError = false;
      }
      if (deviceData.SIGN_IN.test(evt.detail.xhr.responseURL || "")) {
        evt.detail.shouldSwap = false;
        deviceData.forgetPages();
      }
    });
  }
  // Dosing, weights and observations save online only: say so when a save cannot reach
  // the server instead of failing silently (the queue's own requests are handled above).
  function notSent(evt) {
    var elt = evt.detail.elt;
    if (!elt || elt === bench || elt === document.body) {
      return;
    }
    var item = elt.closest(".bench-item") || elt.parentNode;
    var note = item.querySelector(".bench-net-error");
    if (!note) {
      note = document.createElement("div");
      note.className = "alert alert-danger bench-net-error";
      note.setAttribute("role", "alert");
      item.prepend(note);
    }
    note.textContent = "No connection: this was not saved. Try again when the Wi-Fi is back.";
  }
  document.body.addEventListener("htmx:sendError", notSent);
  document.body.addEventListener("htmx:timeout", notSent);
  root.addEventListener("online", function () { changed(); flush(); });
  root.addEventListener("offline", changed);
  root.addEventListener("storage", function (evt) {
    if (evt.key === QUEUE || evt.key === CONFLICTS) {
      changed();
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    registerServiceWorker();
    changed();
    flush();
  });

  root.LabstudyBench = {
    user: user,
    all: all,
    mine: mine,
    enqueue: enqueue,
    drop: drop,
    flush: flush,
    onChange: onChange,
    changed: changed,
    snapshot: snapshot,
    remember: remember,
    uuid4: uuid4,
    isInFlight: function (uuid) { return inFlight === uuid; },
    isFlushing: function () { return flushing; },
  };
})(this);
