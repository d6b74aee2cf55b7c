/* The guided von Frey session screen: taps go through the queue (bench-queue.js), and
 * the screen always shows the server's series plus the taps still waiting, guided by
 * the same stepping rule as the server (bench-stepping.js).
 *
 * The server-rendered panel works on its own with htmx; this script takes over its
 * forms so a tap is queued first and never waits for the network.
 */
(function (root) {
  "use strict";

  var Q = root.LabstudyBench;
  var Stepping = root.LabstudyStepping;
  var config = JSON.parse(document.getElementById("bench-config").textContent);
  var dayList = JSON.parse(document.getElementById("bench-day").textContent);
  var sizes = config.filaments.map(function (f) { return f.size; });
  var gramsOf = {};
  config.filaments.forEach(function (f) { gramsOf[f.size] = f.grams; });
  var DOUBLE_TAP_MS = 400;
  var lastTapAt = 0;
  var server = null; // the newest server state for this session key
  var domState = null; // the state the panel in the page was rendered with
  var stateNode = null; // the element domState was read from (htmx swaps replace it)

  function grams(size) {
    var g = gramsOf[size];
    return (Math.round(g * 1000) / 1000).toString() + " g";
  }

  function readPanelState() {
    stateNode = document.getElementById("bench-state");
    domState = stateNode ? JSON.parse(stateNode.textContent) : null;
    server = Q.remember(domState);
  }

  /* The series as the technician sees it: the server's, then the waiting taps. */
  function view() {
    var series = server.series.map(function (s) {
      return { uuid: s.uuid, size: s.size, withdrew: s.withdrew, override: s.override,
        note: s.note, pending: false };
    });
    var pending = 0;
    Q.mine().forEach(function (op) {
      if (op.key !== config.key) {
        return;
      }
      pending += 1;
      if (op.kind === "tap") {
        if (!series.some(function (s) { return s.uuid === op.uuid; })) {
          series.push({ uuid: op.uuid, size: op.size, withdrew: op.withdrew,
            override: op.override, note: op.note, pending: true });
        }
      } else {
        var i = series.findIndex(function (s) { return s.uuid === op.target; });
        if (i >= 0) {
          series.splice(i, 1);
        }
      }
    });
    var pairs = series.map(function (s) { return [s.size, s.withdrew]; });
    var next = Stepping.nextFilament(pairs, sizes, config.method, config.start, config.params);
    return {
      series: series,
      pairs: pairs,
      next: next,
      complete: series.length > 0 && next === null,
      pending: pending,
      session: server.session,
    };
  }

  function el(id) {
    return document.getElementById(id);
  }

  function pickedSize() {
    var picked = document.querySelector("#bench-panel input[name=pick]:checked");
    return picked ? picked.value : "";
  }

  function chip(s) {
    var li = document.createElement("li");
    li.className = "bench-chip " + (s.withdrew ? "is-yes" : "is-no") + (s.pending ? " is-pending" : "");
    var size = document.createElement("span");
    size.className = "bench-chip-size";
    size.textContent = s.size;
    var weight = document.createElement("span");
    weight.className = "bench-chip-grams";
    weight.textContent = grams(s.size);
    var mark = document.createElement("span");
    mark.setAttribute("aria-hidden", "true");
    mark.textContent = s.withdrew ? " ✓" : " ✗";
    var said = document.createElement("span");
    said.className = "visually-hidden";
    said.textContent = s.withdrew ? " withdrawal" : " no response";
    li.append(size, " ", weight, mark, said);
    if (s.override) {
      var flag = document.createElement("span");
      flag.className = "bench-chip-flag";
      flag.textContent = "override";
      li.append(" ", flag);
    }
    if (s.pending) {
      var wait = document.createElement("span");
      wait.className = "bench-chip-flag";
      wait.textContent = "not synced";
      li.append(" ", wait);
    }
    if (s.note) {
      var note = document.createElement("span");
      note.className = "bench-chip-note";
      note.textContent = s.note;
      li.append(note);
    }
    return li;
  }

  function nextAnimalUrl() {
    var i = dayList.findIndex(function (d) { return d.key === config.key.split("/").slice(1).join("/"); });
    if (i < 0 || i + 1 >= dayList.length) {
      return null;
    }
    return dayList[i + 1].url;
  }

  function render() {
    if (!el("bench-panel")) {
      return;
    }
    if (el("bench-state") !== stateNode) {
      readPanelState(); // htmx swapped in the server's panel
    }
    // Refused taps are listed in #bench-conflicts (kept until dismissed), not twice.
    document.querySelectorAll("#bench-panel .bench-conflict").forEach(function (a) {
      a.hidden = true;
    });
    var v = view();
    var fresh = v.pending === 0 && domState && server.rendered_at === domState.rendered_at;
    var picked = pickedSize();

    el("bench-next").hidden = v.complete;
    if (!v.complete) {
      var shown = picked || v.next;
      el("bench-next-size").textContent = shown;
      el("bench-next-grams").textContent = grams(shown);
      if (el("bench-application")) {
        el("bench-application").textContent = "Application " +
          (Stepping.applicationsDone(v.pairs, config.method, shown) + 1) + " of " +
          config.params.applications;
      }
      var override = el("bench-override");
      // Its room is kept when it does not show: the answer buttons below never move.
      override.style.visibility = !picked || picked === v.next ? "hidden" : "visible";
      override.textContent = "You chose this filament instead of " + v.next + " (" + grams(v.next) +
        "); it is recorded as an override.";
    }

    var chips = el("bench-chips");
    chips.replaceChildren();
    if (!v.series.length) {
      var empty = document.createElement("li");
      empty.className = "bench-chips-empty";
      empty.textContent = "No taps yet.";
      chips.append(empty);
    }
    v.series.forEach(function (s) { chips.append(chip(s)); });

    var result = el("bench-result");
    result.hidden = !v.complete;
    var serverResult = el("bench-result-server");
    var localResult = el("bench-result-local");
    if (serverResult) {
      serverResult.hidden = !fresh;
    }
    localResult.hidden = fresh || !v.complete;
    if (v.complete && !fresh) {
      var text = "Series complete. ";
      if (config.method === "first_response") {
        var g = Stepping.targetForce(v.pairs, config.filaments, config.method, config.cutoff_g);
        text += "Target force " + (Math.round(g * 1000) / 1000) + " g; ";
      } else if (Stepping.BLOCK_METHODS.indexOf(config.method) >= 0) {
        var t = Stepping.blockThreshold(v.pairs, config.filaments, config.method,
          config.cutoff_g, config.params);
        text += "Threshold " + (Math.round(t * 1000) / 1000) + " g; ";
      }
      text += "the server confirms the threshold when the taps reach it.";
      localResult.textContent = text;
    }
    var progress = el("bench-progress");
    if (progress) {
      progress.hidden = !fresh;
    }

    el("bench-tap").hidden = v.complete;
    el("bench-pick").hidden = v.complete;
    el("bench-notes").hidden = v.complete;
    var form = el("bench-tap");
    form.elements.filament.value = v.next || "";
    form.elements.session.value = v.session || "";
    form.elements.after.value = v.series.length ? v.series[v.series.length - 1].uuid : "";
    // A tap still waiting can always be undone; a stored one only shortly after it was
    // made (the server says so in can_undo; older corrections are voids with a reason).
    var last = v.series[v.series.length - 1];
    var undoable = Boolean(last) && (last.pending || server.can_undo !== false);
    el("bench-undo-button").disabled = !undoable;
    el("bench-undo-stale").hidden = undoable || !last;

    if (el("bench-void-submit")) {
      el("bench-void-submit").disabled = !root.navigator.onLine;
      el("bench-void-offline").hidden = root.navigator.onLine;
    }

    var nextAnimal = el("bench-next-animal");
    nextAnimal.hidden = !v.complete;
    keepRoom(v.complete);
    if (!root.navigator.onLine) {
      var url = nextAnimalUrl();
      if (url) {
        nextAnimal.href = url;
      }
    }
  }

  /* The guidance box and the answer buttons' heights while the series runs; when it
   * completes, the result box and the blank strip that take their places keep them, so
   * nothing below moves and a second tap where Withdrawal or No response was lands on
   * the strip, never on Next animal or Undo (the server's result box, swapped in with
   * its answer, gets the same height in the same task, before the page is painted). */
  var room = { next: 0, answer: 0 };

  function keepRoom(complete) {
    var done = el("bench-answer-done");
    if (!done) {
      return;
    }
    done.hidden = !complete;
    if (!complete) {
      room.next = el("bench-next").offsetHeight || room.next;
      room.answer = el("bench-tap").offsetHeight || room.answer;
      return;
    }
    el("bench-result").style.minHeight = room.next ? room.next + "px" : "";
    done.style.minHeight = room.answer ? room.answer + "px" : "";
  }

  function resetChoices() {
    var panel = el("bench-panel");
    panel.querySelectorAll("input[name=pick], input[name=note_pick]").forEach(function (i) {
      i.checked = false;
    });
    el("bench-note-text").value = "";
    panel.querySelectorAll(".bench-tools details").forEach(function (d) { d.open = false; });
  }

  /* Confirmation a technician can hear or feel, switched per tablet (localStorage): a
   * short tone and a vibration when a tap is stored on the tablet (queued; it is sent
   * from there), and the next filament read aloud after a tap or an undo. */
  var CONFIRM_KEY = "labstudy.bench.confirm.v1";
  var audio = null;

  function confirmSettings() {
    try {
      return JSON.parse(root.localStorage.getItem(CONFIRM_KEY) || "{}") || {};
    } catch (e) {
      return {};
    }
  }

  function setConfirm(name, on) {
    var settings = confirmSettings();
    settings[name] = on;
    root.localStorage.setItem(CONFIRM_KEY, JSON.stringify(settings));
  }

  function showConfirmSwitches() {
    var settings = confirmSettings();
    document.querySelectorAll("#bench-confirm input[data-confirm]").forEach(function (box) {
      box.checked = Boolean(settings[box.dataset.confirm]);
      if (box.dataset.confirm === "speak" && !root.speechSynthesis) {
        box.disabled = true;
      }
    });
  }

  function tone(withdrew) {
    var Context = root.AudioContext || root.webkitAudioContext;
    if (!Context) {
      return;
    }
    try {
      audio = audio || new Context();
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.frequency.value = withdrew ? 880 : 523; // higher for a withdrawal
      gain.gain.value = 0.2;
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + 0.12);
    } catch (e) {
      // no sound on this tablet; the tap is stored all the same
    }
  }

  function spokenNext() {
    var v = view();
    if (v.complete) {
      return "Series complete.";
    }
    var size = pickedSize() || v.next;
    var g = gramsOf[size];
    var amount = (Math.round(g * 1000) / 1000).toString() + (g === 1 ? " gram" : " grams");
    return "Next: " + size + ", " + amount + ".";
  }

  function speakNext() {
    if (!root.speechSynthesis || !root.SpeechSynthesisUtterance) {
      return;
    }
    root.speechSynthesis.cancel(); // a quick series: say the newest, not a backlog
    root.speechSynthesis.speak(new root.SpeechSynthesisUtterance(spokenNext()));
  }

  function confirmStored(withdrew) {
    var settings = confirmSettings();
    if (settings.tone && withdrew !== null) {
      tone(withdrew);
    }
    if (settings.vibrate && withdrew !== null && root.navigator.vibrate) {
      root.navigator.vibrate(withdrew ? 80 : [40, 60, 40]);
    }
    if (settings.speak) {
      speakNext();
    }
  }

  function tap(withdrew) {
    var now = Date.now();
    if (now - lastTapAt < DOUBLE_TAP_MS) {
      return; // a gloved finger bouncing, not a second filament application
    }
    lastTapAt = now;
    var v = view();
    if (v.complete) {
      return;
    }
    var picked = pickedSize();
    var size = picked || v.next;
    var notes = [];
    el("bench-panel").querySelectorAll("input[name=note_pick]:checked").forEach(function (i) {
      notes.push(i.value);
    });
    if (el("bench-note-text").value.trim()) {
      notes.push(el("bench-note-text").value.trim());
    }
    var note = notes.join("; ").slice(0, 200);
    var id = Q.uuid4();
    var last = v.series.length ? v.series[v.series.length - 1].uuid : "";
    Q.enqueue({
      kind: "tap",
      uuid: id,
      key: config.key,
      user: config.user,
      label: config.label,
      url: config.urls.tap,
      size: size,
      withdrew: withdrew,
      override: size !== v.next,
      note: note,
      at: now,
      params: {
        client_uuid: id,
        withdrew: withdrew ? "1" : "0",
        filament: v.next,
        pick: picked,
        session: v.session || "",
        after: last,
        note: note,
      },
    });
    resetChoices();
    render();
    confirmStored(withdrew);
    Q.flush();
  }

  /* Undo on a complete series reopens it: asked first (the tap, the Undo button or the
   * Undo key again confirms; anything else keeps it complete). */
  function askBeforeReopening() {
    var box = el("bench-undo-confirm");
    if (!box) {
      return false;
    }
    if (!box.hidden) {
      box.hidden = true;
      return false; // asked already: this second Undo is the answer
    }
    box.hidden = false;
    el("bench-undo-yes").focus();
    return true;
  }

  function undo(confirmed) {
    var v = view();
    if (!v.series.length) {
      return;
    }
    if (v.complete && !confirmed && askBeforeReopening()) {
      return;
    }
    if (el("bench-undo-confirm")) {
      el("bench-undo-confirm").hidden = true;
    }
    var last = v.series[v.series.length - 1];
    if (last.pending && !Q.isInFlight(last.uuid)) {
      Q.drop(last.uuid); // never reached the server: nothing to record
      render();
      confirmStored(null);
      return;
    }
    var id = Q.uuid4();
    Q.enqueue({
      kind: "undo",
      uuid: id,
      key: config.key,
      user: config.user,
      label: config.label,
      url: config.urls.undo,
      target: last.uuid,
      at: Date.now(),
      params: { session: v.session || "", target: last.uuid },
    });
    render();
    confirmStored(null);
    Q.flush();
  }

  // Capture phase: runs before htmx's own submit handler, which never sees these forms.
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (form.id === "bench-tap") {
      evt.preventDefault();
      evt.stopPropagation();
      var button = evt.submitter;
      if (button && button.name === "withdrew") {
        tap(button.value === "1");
      }
    } else if (form.id === "bench-undo") {
      evt.preventDefault();
      evt.stopPropagation();
      undo();
    }
  }, true);

  /* Keys from a keyboard, foot pedal or presentation clicker (they send key presses):
   * the study's keys (config.keys) record a withdrawal, no response or an undo. A key held
   * down repeats: only its first press counts, and a press within DOUBLE_TAP_MS of the
   * previous one is a pedal bouncing, as for a gloved finger. */
  var lastKeyAt = 0;
  var keyAction = {};
  Object.keys(config.keys || {}).forEach(function (action) {
    config.keys[action].forEach(function (k) { keyAction[k.toLowerCase()] = action; });
  });

  function typing(target) {
    if (!target || !target.tagName) {
      return false;
    }
    if (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT") {
      return true;
    }
    return target.tagName === "INPUT" && !/^(radio|checkbox|button|submit)$/.test(target.type);
  }

  document.addEventListener("keydown", function (evt) {
    if (evt.ctrlKey || evt.altKey || evt.metaKey || typing(evt.target)) {
      return;
    }
    var name = evt.key === " " ? "space" : String(evt.key || "").toLowerCase();
    var action = keyAction[name];
    if (!action || !el("bench-panel")) {
      return;
    }
    evt.preventDefault(); // PageDown would scroll, Space or Enter press a focused button
    if (evt.repeat) {
      return;
    }
    var now = Date.now();
    if (now - lastKeyAt < DOUBLE_TAP_MS) {
      return;
    }
    lastKeyAt = now;
    if (action === "undo") {
      if (!el("bench-undo-button").disabled) {
        undo();
      }
    } else if (!el("bench-tap").hidden) {
      tap(action === "withdrawal");
    }
  });

  document.addEventListener("click", function (evt) {
    var target = evt.target;
    if (target.id === "bench-undo-yes") {
      undo(true);
    } else if (target.id === "bench-undo-no") {
      el("bench-undo-confirm").hidden = true;
    }
  });

  document.addEventListener("change", function (evt) {
    if (evt.target.dataset && evt.target.dataset.confirm) {
      setConfirm(evt.target.dataset.confirm, evt.target.checked);
      if (evt.target.checked && evt.target.dataset.confirm === "tone") {
        tone(true); // a first sound also unlocks audio, which needs a touch
      }
      return;
    }
    if (evt.target.name === "pick") {
      render();
      var details = evt.target.closest("details");
      if (details) {
        details.open = false;
      }
    }
  });

  /* The server's answer to a tap or an undo of this series (bench-queue.js): the panel
   * takes the server's parts (its state, the result, notices, the void form when a
   * session begins) but keeps its controls, the very elements, where they are: a finger
   * pressed on a button as the answer arrives still makes its tap, and a note being
   * typed keeps its text, its focus and its open picker. render() then sets the kept
   * controls from the new state. */
  var KEPT = ["#bench-tap", ".bench-tools", ".bench-void"];

  function keptFor(node, panel) {
    for (var i = 0; i < KEPT.length; i++) {
      if (node.matches(KEPT[i])) {
        var mine = panel.querySelector(":scope > " + KEPT[i]);
        // the void form names its session: a new session (the old one voided) needs the
        // server's form
        var session = "input[name=session]";
        if (mine && KEPT[i] === ".bench-void" &&
            mine.querySelector(session).value !== node.querySelector(session).value) {
          return null;
        }
        return mine;
      }
    }
    return null;
  }

  function takeAnswer(evt) {
    var panel = el("bench-panel");
    var fresh = evt.detail.panel;
    if (!panel || !fresh || evt.detail.key !== config.key) {
      return;
    }
    var next = Array.prototype.map.call(fresh.children, function (node) {
      return keptFor(node, panel) || document.importNode(node, true);
    });
    Array.prototype.slice.call(panel.children).forEach(function (node) {
      if (next.indexOf(node) < 0) {
        node.remove();
      }
    });
    var anchor = null; // the kept elements never move: the new ones go in around them
    for (var i = next.length - 1; i >= 0; i--) {
      if (next[i].parentNode !== panel) {
        panel.insertBefore(next[i], anchor);
      }
      anchor = next[i];
    }
    if (root.htmx) {
      root.htmx.process(panel);
    }
  }

  document.body.addEventListener("bench:answer", takeAnswer);
  document.body.addEventListener("htmx:afterSettle", render);

  readPanelState();
  Q.onChange(render);
  showConfirmSwitches();
  render();
})(this);
