/* The "N of M done · K left" line of the dosing and weights worksheets, kept in step with
 * the rows: each row (swapped in by htmx when it is saved) says whether it is due and
 * done (data-due, data-done), so the line is recounted after every swap instead of
 * waiting for a reload. The server's own counts are what the page first shows.
 */
(function (root) {
  "use strict";

  function recount() {
    var line = document.querySelector("[data-counts]");
    if (!line) {
      return;
    }
    var due = 0;
    var done = 0;
    document.querySelectorAll(".bench-item[data-due]").forEach(function (row) {
      if (row.dataset.due === "1") {
        due += 1;
        if (row.dataset.done === "1") {
          done += 1;
        }
      }
    });
    var counts = { done: done, due: due, left: due - done };
    line.querySelectorAll("[data-count]").forEach(function (cell) {
      cell.textContent = String(counts[cell.dataset.count]);
    });
  }

  document.body.addEventListener("htmx:afterSettle", recount);
  root.LabstudyBenchCounts = { recount: recount };
})(this);
