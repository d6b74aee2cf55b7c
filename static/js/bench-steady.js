/* The dosing and weights worksheets: what the technician is about to tap stays where it was
 * on the screen when a row changes size after they used it (its answer swapped in, a
 * "Sending" note, a saved weight with its Correct… button, a question). Without this,
 * saving R01's weight pushed R04's field down 122 px just as a finger went for it.
 *
 * At each touch (or key) on a row, the screen positions of that row and of the row below
 * it are noted. When the list then changes size:
 * - the server asked or refused (a warning or an error on the row: "Yes, save 345 g?",
 *   "Give the reason"): the technician stays on that row, so the row keeps its place and
 *   the rows below make room;
 * - otherwise (saved, or waiting to sync): the technician moves on, so the row below keeps
 *   its place and the row in use grows upward.
 * A row that shrinks keeps the height it had at the touch (a blank strip at its foot until
 * the page is next loaded): a shorter page could not keep its scroll.
 * A "Correct…" or "Missed or refused…" the technician opens or closes unfolds downward under
 * their finger as expected, and a scroll of their own becomes the new place to keep. The
 * page is scrolled before the browser paints (ResizeObserver), so nothing jumps.
 */
(function (root) {
  "use strict";

  var list = document.querySelector(".bench-items");
  if (!list || !root.ResizeObserver) {
    return;
  }
  // The server's question or refusal on a row: an alert, not a status such as the queue's
  // "Waiting to sync" or a dose row's standing "weigh it first" warning.
  var ASKS = ".alert-danger[role=alert], .alert-warning[role=alert]";
  var current = null; // the row in use (htmx may swap it for a new element: see row())
  var anchor = null; // the row below it
  var rowTop = 0; // their screen positions at the last touch, and the row's height
  var anchorTop = 0;
  var rowHeight = 0;
  var unfolded = false; // a details opened or closed by hand: the next change is theirs
  var ours = null; // the scroll position this script set, to tell it from the technician's
  var listHeight = list.getBoundingClientRect().height; // as steady() last left it

  function top(el) {
    return el.getBoundingClientRect().top;
  }

  function row() {
    if (current && !current.isConnected && anchor && anchor.isConnected) {
      current = anchor.previousElementSibling; // its replacement
    }
    return current && current.isConnected ? current : null;
  }

  function note() {
    var r = row();
    rowTop = r ? top(r) : 0;
    rowHeight = r ? r.getBoundingClientRect().height : 0;
    anchorTop = anchor && anchor.isConnected ? top(anchor) : 0;
  }

  function use(target) {
    var item = target && target.closest ? target.closest(".bench-item") : null;
    if (!item || !list.contains(item)) {
      return;
    }
    current = item;
    anchor = item.nextElementSibling;
    note();
  }

  function steady() {
    var r = row();
    try {
      settle(r);
    } finally {
      listHeight = list.getBoundingClientRect().height;
    }
  }

  function settle(r) {
    if (!r) {
      return;
    }
    if (unfolded) {
      unfolded = false;
      note();
      return;
    }
    if (r.getBoundingClientRect().height < rowHeight) {
      r.style.minHeight = rowHeight + "px"; // a shorter page could not keep its scroll
    }
    var stays = r.querySelector(ASKS) ? r : anchor;
    if (!stays || !stays.isConnected) {
      return;
    }
    var moved = top(stays) - (stays === r ? rowTop : anchorTop);
    if (moved) {
      root.scrollBy({ top: moved, behavior: "instant" }); // not Bootstrap's smooth scroll
      ours = root.scrollY;
    }
  }

  root.addEventListener("pointerdown", function (e) { use(e.target); }, true);
  // A key in a row's field, before Enter sends its form (bench-queue.js changes the row in
  // its own submit handler, too early to measure from a submit listener).
  root.addEventListener("keydown", function (e) { use(e.target); }, true);
  root.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("summary")) {
      unfolded = true;
    }
  }, true);
  root.addEventListener("scroll", function () {
    if (list.getBoundingClientRect().height !== listHeight) {
      return; // the browser's own move as the list changed (a shorter page): steady() mends it
    }
    if (ours !== null && Math.abs(root.scrollY - ours) < 1) {
      ours = null;
      return;
    }
    ours = null;
    note(); // the technician scrolled: what they see now is what stays
  }, { passive: true });
  new root.ResizeObserver(steady).observe(list);
})(window);
