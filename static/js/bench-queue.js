/* The bench's tap queue: nothing tapped is lost or doubled, online or off.
 *
 * Every tap (and undo) is written to localStorage before it is sent, then sent in order
 * as an htmx POST whose answer is the updated panel. When the connection drops the taps
 * wait in the queue (a badge says how many) and are replayed in order when it returns.
 * Each carries a UUID made here; the server stores a UUID once, so a tap sent twice is
 * stored once. The server's answer wins: a tap it refuses (session voided or locked
 * meanwhile, series changed on another device) is dropped from the queue and shown
 * plainly until the technician dismisses it. Taps are kept per user: another person's
 * taps wait for that person to sign in.
 *
 * Doses, weights and observations go through the same queue: a form marked
 * data-bench-form="dose|weight|observation" is not posted directly; its entry is queued
 * with a UUID (its client_uuid), shown on its row as waiting, and sent in turn. The
 * server answers with X-Bench-Result and X-Bench-Message (animals/views.py): an entry it
 * refuses (study closed, animal excluded, day closed, dose marked on another tablet, an
 * id used for something else) goes to a "not saved" list with the server's words and
 * what was entered, kept until the technician dismisses it. The form's own submit
 * listeners do not run (the queue takes the event first): other scripts listen for
 * "bench:queued" (on the form) and "bench:entry" (on the body, with the outcome).
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
  // Short: the badges have one line each (bench.css, .bench-status); the whole text is the title.
  var SIGNED_OUT = "Sign in again to send what is waiting";
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

  function stateIn(doc) {
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

  /* A queued dose, weight or observation the server refused: one note each. */
  function addFormConflict(op, result, message) {
    var list = read(CONFLICTS, []);
    list.push({ id: uuid4(), user: op.user, kind: "form", form: op.form, row: op.row,
      what: op.what, result: result, message: message, at: Date.now() });
    write(CONFLICTS, list);
  }

  /* A dose or weight saved on its row answers that row's "not saved" notes (they ask the
   * technician to answer on the row or enter it again): they go, the others stay. */
  function dropAnswered(op) {
    var list = read(CONFLICTS, []);
    var left = list.filter(function (c) {
      return !(c.kind === "form" && c.user === op.user && c.form === op.form && c.row === op.row);
    });
    if (left.length !== list.length) {
      write(CONFLICTS, left);
    }
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
    renderQueued();
    listeners.forEach(function (fn) { fn(); });
  }

  /* POST one queued entry through htmx with its UUID in X-Bench-Op; `answer(xhr)` reads
   * the outcome from the server's reply (taps and forms read it differently). */
  function post(op, target, swap, answer) {
    var source = bench || document.body;
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
      target: target || source,
      swap: swap,
      values: op.params,
      headers: { "X-Bench-Op": op.uuid, "X-Bench-Client": "1" },
    }).then(function () {
      return answer(xhr);
    }, function () {
      return "offline";
    }).then(function (result) {
      source.removeEventListener("htmx:afterRequest", capture);
      inFlight = null;
      return result;
    });
  }

  /* A tap or undo: the answer is the server's panel. htmx does not swap it in (a swap
   * under a finger on a button, or under a note being typed, would swallow the tap or the
   * note): the page takes it from the "bench:answer" event (bench-session.js). */
  function send(op) {
    if (op.kind === "form") {
      return sendForm(op);
    }
    return post(op, null, "none", function (xhr) { return outcome(op, xhr); });
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
        problem = "Server error " + xhr.status + ": taps not sent yet, retrying";
      }
      return "stuck";
    }
    var answer = new DOMParser().parseFromString(xhr.responseText, "text/html");
    var state = stateIn(answer);
    if (state) {
      remember(state);
      document.body.dispatchEvent(new CustomEvent("bench:answer", {
        detail: { key: state.key, panel: answer.getElementById("bench-panel") },
      }));
    }
    if (result.indexOf("conflict") === 0) {
      addConflict(op, state);
    }
    drop(op.uuid);
    return "done";
  }

  /* One queued dose, weight or observation: its row (when on this page) takes the
   * server's row; the outcome comes from the headers. */
  function sendForm(op) {
    var row = op.row ? document.querySelector(op.row) : null;
    var pending = post(op, row, row ? "outerHTML" : "none",
      function (xhr) { return formOutcome(op, xhr, row); });
    renderQueued();
    return pending;
  }

  function formOutcome(op, xhr, row) {
    if (!xhr || !xhr.status) {
      return "offline";
    }
    var result = xhr.getResponseHeader("X-Bench-Result");
    var message = "";
    if (result) {
      try {
        message = decodeURIComponent(xhr.getResponseHeader("X-Bench-Message") || "");
      } catch (e) {
        message = "";
      }
    } else if (deviceData.SIGN_IN.test(xhr.responseURL || "")) {
      deviceData.forgetPages();
      problem = SIGNED_OUT;
      return "stuck";
    } else if (xhr.status === 404) {
      result = "conflict:gone";
      message = "This animal or page is not in this study any more.";
    } else if (xhr.status === 403 && (xhr.responseText || "").indexOf("CSRF") < 0) {
      result = "conflict:forbidden";
      message = "You may not record this in this study any more: ask the investigator.";
    } else {
      problem = "Server error " + xhr.status + ": not sent yet, retrying; reload if this stays";
      return "stuck";
    }
    var saved = result === "created" || result === "duplicate";
    if (!saved) {
      // Refused for good: said next to its row when it is on this page, and kept in the
      // "not saved" list when the technician may not be looking at it any more.
      if (op.waited || !row) {
        addFormConflict(op, result, message || "The server refused it.");
      }
      if (op.form === "observation" && !op.waited) {
        restoreForm(op);
      }
    } else if (op.form === "observation") {
      observationSaved = true;
    } else if (op.row) {
      dropAnswered(op);
    }
    drop(op.uuid);
    // For other scripts of the page (counters, questions): what became of the entry.
    document.body.dispatchEvent(new CustomEvent("bench:entry", {
      detail: { form: op.form, row: op.row, result: result, message: message, params: op.params },
    }));
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
        markWaited(op.uuid);
        retryTimer = setTimeout(flush, RETRY_MS);
        return null;
      });
    }
    return step().then(function () {
      flushing = false;
      changed();
      reloadObservations();
    }, function () {
      flushing = false;
      changed();
    });
  }

  /* A phone's status row has room for a few words per badge: the short text there, the
   * whole one as the title (bench.css, .bench-status). */
  var NARROW = root.matchMedia ? root.matchMedia("(max-width: 575.98px)") : null;

  function narrow() {
    return !!(NARROW && NARROW.matches);
  }

  function renderBadge() {
    var badge = document.getElementById("bench-sync");
    var offline = document.getElementById("bench-offline");
    var n = mine().length;
    var others = all().length - n;
    if (badge) {
      badge.hidden = n === 0 && others === 0;
      var text = waitingText(mine());
      if (others) {
        text += " · " + others + " from another user (they sign in to send them)";
      }
      var short = (n ? n + " waiting" : "") + (n && others ? " · " : "") +
        (others ? others + " another user's" : "");
      badge.textContent = narrow() ? short : text;
      badge.title = text;
      badge.classList.toggle("text-bg-warning", n > 0);
    }
    if (offline) {
      offline.hidden = root.navigator.onLine && !problem;
      offline.textContent = root.navigator.onLine ? problem :
        (narrow() ? "Offline" : "Offline · kept on this tablet");
      offline.title = root.navigator.onLine ? problem :
        "Offline: what you record is kept on this tablet and sent when the Wi-Fi is back";
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
    var list = conflicts();
    // The notes sit after the page's buttons (so none moves under a finger when one
    // arrives); the status row's badge, which never changes the row's height, says so.
    var badge = document.getElementById("bench-conflicts-badge");
    if (badge) {
      badge.hidden = list.length === 0;
      badge.title = list.length + " not saved: see below";
      badge.textContent = narrow() ? list.length + " not saved ↓" : badge.title;
    }
    list.forEach(function (c) {
      var alert = document.createElement("div");
      alert.className = "alert alert-danger bench-conflict-note";
      alert.setAttribute("role", "alert");
      var title = document.createElement("strong");
      var text = document.createElement("span");
      if (c.kind === "form") {
        title.textContent = "Not saved: " + c.what + ". ";
        // A question (a second weight that day, a big change) is answered on the row.
        text.textContent = c.message + (c.result === "conflict:confirm" ?
          " Answer it on the " + c.form + "'s row, or enter it again." :
          " Enter it again if it is still right.");
      } else {
        title.textContent = "Not recorded: " + c.label + ". ";
        text.textContent = c.message + " Taps not recorded: " + c.taps.map(tapText).join(", ") +
          ".";
      }
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

  /* --- Doses, weights and observations through the queue --------------------------- */

  var KIND_WORDS = {
    tap: ["tap", "taps"],
    dose: ["dose", "doses"],
    weight: ["weight", "weights"],
    observation: ["observation", "observations"],
  };
  var observationSaved = false;

  function kindOf(op) {
    return op.kind === "form" ? op.form : "tap";
  }

  function waitingText(ops) {
    var counts = {};
    ops.forEach(function (op) {
      counts[kindOf(op)] = (counts[kindOf(op)] || 0) + 1;
    });
    var kinds = Object.keys(counts);
    if (kinds.length === 1 && kinds[0] === "tap") {
      return ops.length === 1 ? "1 tap waiting to sync" : ops.length + " taps waiting to sync";
    }
    return ops.length + " waiting to sync: " + kinds.map(function (k) {
      return counts[k] + " " + KIND_WORDS[k][counts[k] === 1 ? 0 : 1];
    }).join(", ");
  }

  function isUuid(text) {
    return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text || "");
  }

  /* A page shown from the tablet's offline copy carries the ids it had when cached: give
   * every entry form a new one, so a new entry is never taken for an old one. */
  function freshFormIds() {
    document.querySelectorAll("form[data-bench-form] input[name=client_uuid]").forEach(
      function (input) { input.value = uuid4(); }
    );
  }

  function formParams(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) {
      data.append(submitter.name, submitter.value);
    }
    var params = {};
    data.forEach(function (value, name) {
      // The page's own token (hx-headers) is sent with it: a cached page's token in the
      // body could be an old one.
      if (name === "csrfmiddlewaretoken" || typeof value !== "string") {
        return;
      }
      if (Object.prototype.hasOwnProperty.call(params, name)) {
        params[name] = [].concat(params[name], value);
      } else {
        params[name] = value;
      }
    });
    return params;
  }

  function list(value) {
    return value === undefined ? [] : [].concat(value);
  }

  /* What the entry is, in the technician's words, for the waiting and "not saved" notes. */
  function describe(form, params) {
    var code = form.dataset.benchLabel || "";
    if (form.dataset.benchForm === "dose") {
      var text = code + ": dose " + params.status;
      return params.reason ? text + " (" + params.reason + ")" : text;
    }
    if (form.dataset.benchForm === "weight") {
      return code + ": " + params.grams + " g";
    }
    var picked = form.querySelector("input[name=animal]:checked");
    var label = picked ? form.querySelector("label[for='" + picked.id + "']") : null;
    code = label ? label.firstChild.textContent.trim() : "(no animal picked)";
    var what = list(params.terms).join(", ") || "note";
    if (params.severity) {
      what += ", " + params.severity;
    }
    if (params.notes) {
      what += ": \u201c" + params.notes.slice(0, 200) + "\u201d";
    }
    return code + ": " + what;
  }

  var PICK_THE_ANIMAL = "Pick the animal.";

  function queueForm(evt) {
    var form = evt.target;
    if (!form || !form.dataset || !form.dataset.benchForm || !user) {
      return;
    }
    evt.preventDefault();
    evt.stopPropagation(); // htmx must not post it as well
    if (form.dataset.benchForm === "observation" && !form.querySelector("[name=animal]:checked")) {
      // Said now, not when the Wi-Fi is back: the server would refuse it then.
      say(form, PICK_THE_ANIMAL);
      return;
    }
    var params = formParams(form, evt.submitter);
    var ids = all().map(function (op) { return op.uuid; });
    var id = isUuid(params.client_uuid) && ids.indexOf(params.client_uuid) < 0 ?
      params.client_uuid : uuid4();
    params.client_uuid = id;
    enqueue({
      kind: "form",
      form: form.dataset.benchForm,
      uuid: id,
      user: user,
      url: form.getAttribute("action"),
      row: form.dataset.benchRow || "",
      params: params,
      what: describe(form, params),
      // Sent at once unless the tablet is offline or other entries wait before it.
      waited: !root.navigator.onLine || mine().length > 0,
      at: Date.now(),
    });
    form.dispatchEvent(new CustomEvent("bench:queued", { bubbles: true,
      detail: { form: form.dataset.benchForm, row: form.dataset.benchRow || "", params: params } }));
    settle(form);
    flush();
  }

  /* A refusal said at once (offline too) goes right after its form, never above its
   * fields: the field and the button the finger was on stay where they were. */
  function say(form, message) {
    var note = formNote(form);
    if (!note) {
      note = document.createElement("div");
      note.className = "alert alert-danger bench-form-note mt-2";
      note.setAttribute("role", "alert");
      form.after(note);
    }
    note.textContent = message;
    note.scrollIntoView({ block: "nearest" });
  }

  function formNote(form) {
    var next = form.nextElementSibling;
    while (next && next.classList.contains("bench-queued")) {
      next = next.nextElementSibling; // a "Waiting to sync" note may sit in between
    }
    return next && next.classList.contains("bench-form-note") ? next : null;
  }

  /* After queueing: the form is ready for the next entry, never for the same one twice. */
  function settle(form) {
    var idField = form.querySelector("input[name=client_uuid]");
    if (idField) {
      idField.value = uuid4();
    }
    var said = formNote(form);
    if (said) {
      said.remove();
    }
    var item = form.closest(".bench-item");
    if (form.dataset.benchForm === "weight" && item) {
      item.querySelectorAll(".alert").forEach(function (a) { a.remove(); }); // and "Yes, save"
      form.reset();
    } else if (form.dataset.benchForm === "dose" && item) {
      item.querySelectorAll(".alert:not(.bench-queued)").forEach(function (a) { a.remove(); });
    } else if (form.dataset.benchForm === "observation") {
      form.querySelectorAll(".alert").forEach(function (a) { a.remove(); });
      form.reset();
    }
  }

  /* An observation refused at once: the technician's picks come back to correct. */
  function restoreForm(op) {
    var form = document.querySelector("form[data-bench-form=observation]");
    if (!form) {
      return;
    }
    Object.keys(op.params).forEach(function (name) {
      var values = list(op.params[name]);
      form.querySelectorAll("[name='" + name + "']").forEach(function (field) {
        if (field.type === "checkbox" || field.type === "radio") {
          field.checked = values.indexOf(field.value) >= 0;
        } else if (field.type !== "hidden") {
          field.value = values[0] || "";
        }
      });
    });
  }

  function markWaited(id) {
    var ops = all();
    ops.forEach(function (op) {
      if (op.uuid === id) {
        op.waited = true;
      }
    });
    write(QUEUE, ops);
  }

  /* Waiting entries shown where they belong: on their row (a queued dose hides the row's
   * buttons: it must not be marked twice), observations below their form. */
  function renderQueued() {
    document.querySelectorAll(".bench-queued").forEach(function (el) { el.remove(); });
    var rowsWaiting = {};
    mine().forEach(function (op) {
      if (op.kind !== "form") {
        return;
      }
      var place = op.row ? document.querySelector(op.row) : null;
      var form = document.querySelector("form[data-bench-form=observation]");
      if (!place && op.form === "observation" && form) {
        place = form;
      }
      if (!place) {
        return;
      }
      rowsWaiting[op.row] = true;
      var note = document.createElement("div");
      note.className = "alert alert-warning bench-queued";
      note.setAttribute("role", "status");
      note.textContent = (inFlight === op.uuid ? "Sending: " : "Waiting to sync: ") + op.what;
      var head = place.querySelector(".bench-item-head");
      if (head) {
        head.after(note);
      } else {
        place.after(note); // below the observation form: its fields stay where they were
      }
    });
    document.querySelectorAll("form[data-bench-form=dose]").forEach(function (form) {
      form.hidden = !!rowsWaiting[form.dataset.benchRow];
    });
  }

  /* The observations page lists what was recorded: after its queued entries are stored,
   * load it again, unless the technician is in the middle of the next one. */
  function reloadObservations() {
    var form = document.querySelector("form[data-bench-form=observation]");
    if (!observationSaved || !form || mine().length) {
      return;
    }
    observationSaved = false;
    var busy = form.querySelector("input[name=animal]:checked, input[name=terms]:checked") ||
      (form.elements.notes && form.elements.notes.value.trim());
    if (!busy) {
      root.location.reload();
    }
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
  // Corrections (voiding a dose, weight or observation) save online only: say so when one
  // cannot reach the server instead of failing silently (the queue's own requests are
  // handled above).
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
    note.textContent = "No connection: this correction was not saved. Try again when the " +
      "Wi-Fi is back.";
  }
  document.body.addEventListener("htmx:sendError", notSent);
  document.body.addEventListener("htmx:timeout", notSent);
  root.addEventListener("online", function () { changed(); flush(); });
  if (NARROW && NARROW.addEventListener) {
    NARROW.addEventListener("change", changed); // a tablet turned, a window resized
  }
  root.addEventListener("offline", changed);
  root.addEventListener("storage", function (evt) {
    if (evt.key === QUEUE || evt.key === CONFLICTS) {
      changed();
    }
  });
  document.addEventListener("submit", queueForm, true); // before htmx posts it
  // "Pick the animal." goes once an animal is picked: it was answered.
  document.addEventListener("change", function (evt) {
    var form = evt.target.form;
    var note = form && evt.target.name === "animal" && form.dataset.benchForm === "observation" ?
      formNote(form) : null;
    if (note && note.textContent === PICK_THE_ANIMAL) {
      note.remove();
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    freshFormIds();
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
