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
 *
 * ascending and percent_response (params: applications N, withdrawals k, subset = the
 * sizes in use, null for the whole set) step upward from the lowest filament in use.
 * Ascending applies a filament until its outcome is settled (k withdrawals, or too few
 * applications left to reach them) and stops at the first filament reaching k of N, or
 * when the top filament in use fails; percent response applies every filament in use N
 * times and stops when all have their N.
 */
(function (root) {
  "use strict";

  var CRITICAL_RESPONSES = 6;
  var SUDO_STIMULI = 5;
  var METHODS = ["up_down", "first_response", "sudo", "ascending", "percent_response"];
  var BLOCK_METHODS = ["ascending", "percent_response"];
  var DEFAULTS = {
    ascending: { applications: 1, withdrawals: 1 },
    percent_response: { applications: 5, withdrawals: 3 },
  };

  /* N, k and the positions in use (ascending), as analysis.thresholds._block_params. */
  function blockParams(sizes, method, params) {
    params = params || {};
    var n = params.applications || DEFAULTS[method].applications;
    var k = params.withdrawals || Math.min(DEFAULTS[method].withdrawals, n);
    var subset = [];
    if (params.subset && params.subset.length) {
      params.subset.forEach(function (size) {
        var i = indexOfSize(sizes, size);
        if (subset.indexOf(i) < 0) {
          subset.push(i);
        }
      });
      subset.sort(function (a, b) { return a - b; });
    } else {
      for (var i = 0; i < sizes.length; i += 1) {
        subset.push(i);
      }
    }
    return { n: n, k: k, subset: subset };
  }

  /* "reached" (at filament `reached`), "high" or "incomplete", and where it ended. */
  function blockState(idx, withdrew, p, method) {
    var i;
    if (method === "ascending") {
      var top = p.subset[p.subset.length - 1];
      var a = 0;
      var w = 0;
      var prev = null;
      for (i = 0; i < idx.length; i += 1) {
        if (idx[i] !== prev) {
          a = 0;
          w = 0;
          prev = idx[i];
        }
        a += 1;
        w += withdrew[i] ? 1 : 0;
        if (a <= p.n && w >= p.k) {
          return { state: "reached", end: i, reached: idx[i] };
        }
        if (idx[i] >= top && p.n - a < p.k - w) {
          return { state: "high", end: i, reached: null };
        }
      }
      return { state: "incomplete", end: idx.length - 1, reached: null };
    }
    var apps = {};
    var wds = {};
    var nth = {};
    for (i = 0; i < idx.length; i += 1) {
      var j = idx[i];
      apps[j] = apps[j] || 0;
      wds[j] = wds[j] || 0;
      if (apps[j] < p.n) {
        apps[j] += 1;
        wds[j] += withdrew[i] ? 1 : 0;
        if (apps[j] === p.n) {
          nth[j] = i;
        }
      }
    }
    var end = -1;
    for (i = 0; i < p.subset.length; i += 1) {
      if (!(p.subset[i] in nth)) {
        return { state: "incomplete", end: idx.length - 1, reached: null };
      }
      end = Math.max(end, nth[p.subset[i]]);
    }
    for (i = 0; i < p.subset.length; i += 1) {
      if (wds[p.subset[i]] >= p.k) {
        return { state: "reached", end: end, reached: p.subset[i] };
      }
    }
    return { state: "high", end: end, reached: null };
  }

  function blockNext(idx, withdrew, p, method) {
    var i;
    if (method === "percent_response") {
      var counts = {};
      idx.forEach(function (j) { counts[j] = (counts[j] || 0) + 1; });
      for (i = 0; i < p.subset.length; i += 1) {
        if ((counts[p.subset[i]] || 0) < p.n) {
          return p.subset[i];
        }
      }
      return null;
    }
    if (!idx.length) {
      return p.subset[0];
    }
    var j = idx[idx.length - 1];
    var a = 0;
    var w = 0;
    for (i = idx.length - 1; i >= 0 && idx[i] === j; i -= 1) {
      a += 1;
      w += withdrew[i] ? 1 : 0;
    }
    if (p.n - a >= p.k - w) {
      return j;
    }
    for (i = 0; i < p.subset.length; i += 1) {
      if (p.subset[i] > j) {
        return p.subset[i];
      }
    }
    return null;
  }

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
  function nextFilament(series, sizes, method, start, params) {
    if (METHODS.indexOf(method) < 0) {
      throw new Error("unknown method '" + method + "'");
    }
    if (BLOCK_METHODS.indexOf(method) >= 0) {
      var p = blockParams(sizes, method, params);
      var bIdx = series.map(function (pair) { return indexOfSize(sizes, pair[0]); });
      var bWithdrew = series.map(function (pair) { return pair[1] === true; });
      if (bIdx.length && blockState(bIdx, bWithdrew, p, method).state !== "incomplete") {
        return null;
      }
      return sizes[blockNext(bIdx, bWithdrew, p, method)];
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
      // Off the top: the cut-off, or the top filament when the set stops below it.
      return Math.min(filaments[filaments.length - 1].grams, cutoffG);
    }
    return Math.min(filaments[lowest].grams, cutoffG);
  }

  /* Ascending / percent response: the threshold (grams) of a closed series, null while
   * it is open; as analysis.thresholds.compute_threshold for these methods. */
  function blockThreshold(series, filaments, method, cutoffG, params) {
    var sizes = filaments.map(function (f) { return f.size; });
    var p = blockParams(sizes, method, params);
    var idx = series.map(function (pair) { return indexOfSize(sizes, pair[0]); });
    var withdrew = series.map(function (pair) { return pair[1] === true; });
    if (!idx.length) {
      return null;
    }
    var s = blockState(idx, withdrew, p, method);
    if (s.state === "incomplete") {
      return null;
    }
    if (s.state === "high") {
      return Math.min(filaments[p.subset[p.subset.length - 1]].grams, cutoffG);
    }
    return Math.min(filaments[s.reached].grams, cutoffG);
  }

  /* How many times `size` was applied so far in the block the next tap belongs to
   * (ascending: the run at the end of the series; percent response: all of them). */
  function applicationsDone(series, method, size) {
    var done = 0;
    var i;
    if (method === "ascending") {
      for (i = series.length - 1; i >= 0 && series[i][0] === size; i -= 1) {
        done += 1;
      }
      return done;
    }
    for (i = 0; i < series.length; i += 1) {
      if (series[i][0] === size) {
        done += 1;
      }
    }
    return done;
  }

  root.LabstudyStepping = {
    applicationsDone: applicationsDone,
    METHODS: METHODS,
    BLOCK_METHODS: BLOCK_METHODS,
    blockThreshold: blockThreshold,
    nextFilament: nextFilament,
    seriesState: seriesState,
    targetForce: targetForce,
  };
})(this);
