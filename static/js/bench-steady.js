/* The dosing and weights worksheets: a row that grows or shrinks after a technician used it
 * (its answer swapped in, a "Sending" note, a saved weight with its Correct… button) does
 * not move the rows below it on the screen. Without this, saving R01's weight pushed R04's
 * field down 122 px just as a finger went for it.
 *
 * The row below the one in use is the anchor: whenever the list changes size, the page
 * scrolls by as much as the anchor moved down in the document, so it stays where it was
 * on the screen and the row in use grows upward instead; a row that shrinks keeps its
 * height (a blank strip at its foot until the page is next loaded). Two moves are left
 * as they are: a scroll of the technician's own (positions are measured in the document,
 * which scrolling does not change), and a "Correct…" or "Missed or refused…" the
 * technician opens or closes, which unfolds downward under their finger as expected. The
 * compensation runs before the browser paints (ResizeObserver), so nothing jumps.
 */
(function (root) {
  "use strict";

  var list = document.querySelector(".bench-items");
  if (!list || !root.ResizeObserver) {
    return;
  }
  var current = null;
  var anchor = null;
  var anchorY = 0;
  var unfolded = false; // a details opened or closed by hand: the next change is theirs

  function documentY(el) {
    return el.getBoundingClientRect().top + root.scrollY;
  }

  function use(target) {
    var item = target && target.closest ? target.closest(".bench-item") : null;
    if (!item || !list.contains(item) || item === current) {
      return; // the same row again: its anchor holds (a document position, not a screen one)
    }
    current = item;
    anchor = item.nextElementSibling;
    anchorY = anchor ? documentY(anchor) : 0;
  }

  function steady() {
    if (!anchor || !anchor.isConnected) {
      return;
    }
    if (unfolded) {
      unfolded = false;
      anchorY = documentY(anchor);
      return;
    }
    var moved = documentY(anchor) - anchorY;
    var row = anchor.previousElementSibling;
    if (moved < 0 && row) {
      // Shrunk (a dose's buttons give way to one "✓ Given" line): near the top of the page
      // there may be no room to scroll back, so the row keeps its height instead.
      row.style.minHeight = row.getBoundingClientRect().height - moved + "px";
      moved = documentY(anchor) - anchorY;
    }
    if (moved) {
      root.scrollBy({ top: moved, behavior: "instant" }); // not Bootstrap's smooth scroll
      anchorY += moved;
    }
  }

  // Before the row changes: a finger or a pen on it, or a key in one of its fields (Enter
  // sends the form; bench-queue.js changes the row in its own submit handler, too early
  // to measure from there).
  root.addEventListener("pointerdown", function (e) { use(e.target); }, true);
  root.addEventListener("keydown", function (e) { use(e.target); }, true);
  root.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("summary")) {
      unfolded = true;
    }
  }, true);
  new root.ResizeObserver(steady).observe(list);
})(window);
