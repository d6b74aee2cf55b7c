// "Scan cage" on the bench screens: reads a cage card's QR code with the tablet's rear
// camera and opens the card's link (front/cage_views.py: today's work for that cage).
//
// Decoding: the browser's BarcodeDetector where it reads QR codes (Android Chrome, Safari
// on iPad), else the vendored jsQR (static/vendor/jsqr-1.4.0), loaded only when needed.
// A card of another study or a code that is no cage card of this site is never opened:
// the technician is told what was read, plainly, and scanning goes on. Every way the
// camera can fail (no secure address, no camera, permission refused, camera busy) is said
// in words on the screen.
"use strict";
(function () {
  const root = document.querySelector("[data-cage-scan]");
  if (!root) return;
  const study = root.dataset.study;
  const startButton = root.querySelector("[data-scan-start]");
  const stopButton = root.querySelector("[data-scan-stop]");
  const panel = root.querySelector("[data-scan-panel]");
  const video = root.querySelector("[data-scan-video]");
  const message = root.querySelector("[data-scan-message]");
  const SCAN_PATH = /^\/s\/([-\w]+)\/scan\/(?:cage|animal)\/[^/].*\/$/;
  const EVERY_MS = 200;

  let stream = null;
  let timer = null;
  let lastText = "";

  function say(text, ok) {
    message.textContent = text;
    message.classList.toggle("is-ok", Boolean(ok));
    message.hidden = !text;
  }

  // Where a decoded text may lead: {url} for a card of this study, else {problem}.
  // A card printed from another address of this site (the PC's, say) opens here on the
  // tablet's address: only the path is taken, and only a cage card's path.
  function judge(text) {
    let url;
    try {
      url = new URL(text);
    } catch (e) {
      url = null;
    }
    const shown = text.length > 80 ? text.slice(0, 77) + "…" : text;
    const match = url && /^https?:$/.test(url.protocol) ? SCAN_PATH.exec(url.pathname) : null;
    if (!match) {
      return { problem: `That code is not a cage card of this site (it reads “${shown}”).` };
    }
    if (match[1] !== study) {
      return {
        problem: `That card belongs to another study (${match[1]}), not this one. ` +
          "Open that study's bench to work on it.",
      };
    }
    return { url: window.location.origin + url.pathname };
  }

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  async function makeDecoder() {
    if ("BarcodeDetector" in window) {
      try {
        const formats = await window.BarcodeDetector.getSupportedFormats();
        if (formats.includes("qr_code")) {
          const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
          return async () => {
            const codes = await detector.detect(video);
            return codes.length ? codes[0].rawValue : null;
          };
        }
      } catch (e) {
        // Fall through to jsQR.
      }
    }
    if (!window.jsQR) await loadScript(root.dataset.decoder);
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    return async () => {
      const width = video.videoWidth;
      const height = video.videoHeight;
      if (!width || !height) return null;
      const scale = Math.min(1, 800 / Math.max(width, height));
      canvas.width = Math.round(width * scale);
      canvas.height = Math.round(height * scale);
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      const image = context.getImageData(0, 0, canvas.width, canvas.height);
      const code = window.jsQR(image.data, canvas.width, canvas.height);
      return code ? code.data : null;
    };
  }

  function cameraProblem(error) {
    const name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError") {
      return "The camera was not allowed. Allow the camera for this site in the browser's " +
        "settings, then press Scan cage again.";
    }
    if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") {
      return "This device has no camera the browser can use, so it cannot scan cage cards. " +
        "Open the animal from the bench lists instead.";
    }
    if (name === "NotReadableError" || name === "AbortError") {
      return "The camera is busy (another app may be using it). Close that app and press Scan cage again.";
    }
    return `The camera could not start${name ? ` (${name})` : ""}. Open the animal from the bench lists instead.`;
  }

  function stop() {
    if (timer) window.clearTimeout(timer);
    timer = null;
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    video.srcObject = null;
    panel.hidden = true;
    startButton.hidden = false;
  }

  async function start() {
    lastText = "";
    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say("The camera only works on this site's secure address (https://). Open the bench " +
        "from the address the lab PC shows for tablets, then press Scan cage again.");
      return;
    }
    say("Starting the camera…", true);
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: { ideal: "environment" } },
        audio: false,
      });
    } catch (error) {
      stream = null;
      say(cameraProblem(error));
      return;
    }
    video.srcObject = stream;
    panel.hidden = false;
    startButton.hidden = true;
    try {
      await video.play();
    } catch (e) {
      // Autoplay of a muted inline video is allowed; a refusal still shows frames on tap.
    }
    let decode;
    try {
      decode = await makeDecoder();
    } catch (e) {
      stop();
      say("The QR reader could not be loaded (is the tablet offline?). Reload the page and try again.");
      return;
    }
    say("Hold the cage card's QR code in front of the camera.", true);
    const tick = async () => {
      if (!stream) return;
      let text = null;
      try {
        text = await decode();
      } catch (e) {
        text = null;
      }
      if (text && text !== lastText) {
        lastText = text;
        const verdict = judge(text);
        if (verdict.url) {
          say("Card read: opening it…", true);
          stop();
          window.location.assign(verdict.url);
          return;
        }
        say(verdict.problem);
      }
      timer = window.setTimeout(tick, EVERY_MS);
    };
    tick();
  }

  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", () => {
    stop();
    say("");
  });
  window.addEventListener("pagehide", stop);
})();
