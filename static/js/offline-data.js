/* What the bench keeps on a shared tablet, and clearing it at sign-out and expiry.
 *
 * The bench keeps, in this browser: the pages its service worker cached for offline
 * reloads (bench-sw.js), and in localStorage the taps, doses, weights and observations
 * waiting to sync, the notes about refused ones and the last server state of each
 * session (bench-queue.js, which takes the key names from here). Signing out (the Sign
 * out button on every page):
 *  - when entries of the signed-in person are still waiting, it first says so and offers to
 *    stay signed in, or to sign out keeping them on this tablet (they are sent the next
 *    time that person signs in here): a waiting tap is never thrown away;
 *  - it deletes the cached bench pages before the form is sent;
 *  - it tells the server whether nothing is waiting in storage (offline_data=clear); only
 *    then does the answer clear all of the site's storage, the service worker included
 *    (Clear-Site-Data, labstudy/account_views.py).
 * When a sign-in has expired, the cached pages go as soon as the server says so: any page
 * the server renders for nobody signed in (the sign-in page a bench page was sent to)
 * deletes them, and so do bench-queue.js (a tap answered with the sign-in page) and the
 * service worker (a page fetched ahead answered with it). The taps stay.
 */
(function (root) {
  "use strict";

  var QUEUE = "labstudy.bench.queue.v1";
  var CONFLICTS = "labstudy.bench.conflicts.v1";
  var SNAPSHOT = "labstudy.bench.snapshot.";
  var CACHE_PREFIX = "labstudy-bench"; // bench-sw.js's cache names start so
  var SIGN_IN = /\/accounts\/login\//;

  function stored(key) {
    try {
      var raw = root.localStorage.getItem(key);
      return raw ? JSON.parse(raw) : [];
    } catch (e) {
      return [];
    }
  }

  /* Delete the bench's cached pages; resolves when done (or after 2 s, never blocking). */
  function forgetPages() {
    if (!root.caches) {
      return Promise.resolve();
    }
    var done = root.caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf(CACHE_PREFIX) === 0;
      }).map(function (name) {
        return root.caches.delete(name);
      }));
    });
    var enough = new Promise(function (resolve) { setTimeout(resolve, 2000); });
    return Promise.race([done, enough]).catch(function () { /* nothing cached */ });
  }

  function waitingFor(user) {
    return stored(QUEUE).filter(function (op) { return op.user === user; });
  }

  function nothingWaiting() {
    return stored(QUEUE).length === 0 && stored(CONFLICTS).length === 0;
  }

  function signOut(form) {
    form.elements.offline_data.value = nothingWaiting() ? "clear" : "keep";
    forgetPages().then(function () { form.submit(); });
  }

  function button(text, cls, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "btn btn-lg " + cls;
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  }

  function warn(form, ops) {
    var n = ops.length;
    // Taps only: "taps"; with doses, weights or observations waiting too: "entries".
    var onlyTaps = ops.every(function (op) { return op.kind !== "form"; });
    var noun = onlyTaps ? (n === 1 ? "1 tap" : n + " taps") :
      (n === 1 ? "1 entry" : n + " entries");
    var old = document.getElementById("sign-out-warning");
    if (old) {
      old.remove();
    }
    var box = document.createElement("div");
    box.id = "sign-out-warning";
    box.className = "alert alert-warning";
    box.setAttribute("role", "alert");
    var title = document.createElement("strong");
    title.textContent = noun +
      " not yet synced: connect to the Wi-Fi before signing out, and wait until " +
      (n === 1 ? "it is" : "they are") + " sent.";
    var more = document.createElement("p");
    more.className = "mb-2 mt-1";
    more.textContent = "Signing out now keeps " + (n === 1 ? "it" : "them") +
      " on this tablet; " + (n === 1 ? "it is" : "they are") +
      " sent the next time you sign in here.";
    var actions = document.createElement("div");
    actions.className = "d-flex flex-wrap gap-2";
    actions.append(
      button("Stay signed in", "btn-primary", function () { box.remove(); }),
      button("Sign out, keep " + (onlyTaps ? "the taps" : "them") + " on this tablet",
        "btn-outline-danger", function () {
        signOut(form);
      })
    );
    box.append(title, more, actions);
    var main = document.querySelector("main") || document.body;
    main.prepend(box);
    box.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (form.id !== "sign-out") {
      return;
    }
    evt.preventDefault();
    var ops = waitingFor(form.dataset.user);
    if (ops.length) {
      warn(form, ops);
    } else {
      signOut(form);
    }
  });

  if (!document.getElementById("sign-out")) {
    forgetPages(); // nobody is signed in here: the bench pages kept are nobody's to show
  }

  root.LabstudyOffline = {
    QUEUE: QUEUE,
    CONFLICTS: CONFLICTS,
    SNAPSHOT: SNAPSHOT,
    SIGN_IN: SIGN_IN,
    forgetPages: forgetPages,
  };
})(this);
