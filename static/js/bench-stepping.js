/* The von Frey stepping rule, as analysis/thresholds.py's next_filament states it.
 *
 * The bench uses it to keep guiding the technician while the tablet is offline; the
 * server recomputes everything from the stored stimuli when the taps arrive. It must
 * agree with the Python rule exactly: tests/browser/test_bench_stepping.py compares
 * both on thousands of random series for every method.
 *
 * Start at `start`, one filament down after a withdrawal, one up after none. up_down
 * and first_response stop after six critical responses (the unlike pair around the
 * first change plus four more); sudo after five stimuli; any method stops early when
 * the next step would leave the set (withdrawal at the lowest filament, none at the
 * top one).
 */
(function (root) {
  "use strict";

  var CRITICAL_RESPONSES = 6;
  var SUDO_STIMULI = 5;
  var METHODS = ["up_down", "first_response", "sudo"];

  function indexOfSize(sizes, size) {
    var i = sizes.indexOf(size);
    if (i >= 0) {
      return i;
    }
    // "6.1" is the same filament as "6.10", as in the Python engine.
    var wanted = Number(size);
    for (i = 0; i < sizes.length; i += 1) {
      if (Number(sizes[i]) === wanted) {
        return i;
      }
    }
    throw new Error("unknown filament '" + size + "'");
  }

  /* Where the series stands: "complete", "low", "high" or "incomplete". */
  function seriesState(idx, withdrew, nFilaments, method) {
    var first = withdrew[0];
    var change = null;
    var bound = null;
    var top = nFilaments - 1;
    var i;
    for (i = 0; i < withdrew.length; i += 1) {
      if (change === null && withdrew[i] !== first) {
        change = i;
      }
      if (bound === null && ((withdrew[i] && idx[i] === 0) || (!withdrew[i] && idx[i] === top))) {
        bound = i;
      }
    }
    var last;
    var censored;
    if (method === "sudo") {
      last = SUDO_STIMULI - 1;
      censored = bound !== null && bound <= last;
    } else {
      last = change === null ? null : change + CRITICAL_RESPONSES - 2;
      // A bound on the last critical stimulus still completes the series.
      censored = bound !== null && (last === null || bound < last);
    }
    if (censored) {
      return { state: withdrew[bound] ? "low" : "high", end: bound };
    }
    if (last !== null && idx.length > last) {
      return { state: "complete", end: last };
    }
    return { state: "incomplete", end: idx.length - 1 };
  }

  /* The filament size to apply next, or null when the method's series has ended.
   * `series` is an array of [size, withdrew] pairs; `sizes` the set's sizes in order. */
  function nextFilament(series, sizes, method, start) {
    if (METHODS.indexOf(method) < 0) {
      throw new Error("unknown method '" + method + "'");
    }
    var startIdx = indexOfSize(sizes, start);
    if (!series.length) {
      return sizes[startIdx];
    }
    var idx = [];
    var withdrew = [];
    series.forEach(function (pair) {
      idx.push(indexOfSize(sizes, pair[0]));
      withdrew.push(pair[1] === true);
    });
    if (seriesState(idx, withdrew, sizes.length, method).state !== "incomplete") {
      return null;
    }
    var lastIdx = idx[idx.length - 1];
    return sizes[withdrew[withdrew.length - 1] ? lastIdx - 1 : lastIdx + 1];
  }

  /* The paper's target force for a closed series: the lowest filament that elicited a
   * withdrawal (grams), the cut-off when none did. Null while the series is open. */
  function targetForce(series, filaments, method, cutoffG) {
    var sizes = filaments.map(function (f) { return f.size; });
    var idx = series.map(function (pair) { return indexOfSize(sizes, pair[0]); });
    var withdrew = series.map(function (pair) { return pair[1] === true; });
    if (!idx.length) {
      return null;
    }
    var s = seriesState(idx, withdrew, sizes.length, method);
    if (s.state === "incomplete") {
      return null;
    }
    var lowest = null;
    for (var i = 0; i <= s.end; i += 1) {
      if (withdrew[i] && (lowest === null || idx[i] < lowest)) {
        lowest = idx[i];
      }
    }
    if (lowest === null) {
      return cutoffG;
    }
    return Math.min(filaments[lowest].grams, cutoffG);
  }

  root.LabstudyStepping = {
    METHODS: METHODS,
    nextFilament: nextFilament,
    seriesState: seriesState,
    targetForce: targetForce,
  };
})(this);
