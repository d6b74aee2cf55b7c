/* Service worker for the bench pages (served at /s/<study>/bench/sw.js, so that is its
 * scope): keeps the day list, the session screens and the dosing, weights and
 * observations pages loadable when the Wi-Fi drops.
 *
 * Pages: network first, the last good copy when offline. Static files: network first,
 * cached copy when offline. Nothing is ever posted from here: taps, doses, weights and
 * observations live in the page's queue (bench-queue.js), which replays them when the
 * connection returns. The Today page asks for the day's session pages and the dosing,
 * weights and observations pages to be cached ahead ("precache"). Signing out
 * empties the cache (offline-data.js), and so does the server sending a bench page to the
 * sign-in page (the sign-in expired): here when a page fetched ahead is redirected there,
 * in the sign-in page itself when a navigation is (the worker cannot see where a
 * navigation's redirect goes).
 */
"use strict";

var CACHE = "labstudy-bench-v1";
var SCOPE = new URL(self.registration.scope).pathname;
var NETWORK_TIMEOUT_MS = 8000;
var SIGN_IN = /\/accounts\/login\//;

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

function withTimeout(promise) {
  return new Promise(function (resolve, reject) {
    var timer = setTimeout(function () { reject(new Error("timeout")); }, NETWORK_TIMEOUT_MS);
    promise.then(function (value) {
      clearTimeout(timer);
      resolve(value);
    }, function (error) {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function cacheable(response) {
  return response && response.ok && !response.redirected && response.type === "basic";
}

/* A bench URL answered with the sign-in page: signed out or expired, so forget the pages. */
function forgetIfSignedOut(response) {
  if (response && response.redirected && SIGN_IN.test(new URL(response.url).pathname)) {
    return caches.delete(CACHE);
  }
  return null;
}

function networkFirst(request) {
  return caches.open(CACHE).then(function (cache) {
    return withTimeout(fetch(request)).then(function (response) {
      if (cacheable(response)) {
        cache.put(request, response.clone());
      } else {
        forgetIfSignedOut(response);
      }
      return response;
    }).catch(function () {
      return cache.match(request, { ignoreVary: true }).then(function (hit) {
        return hit || new Response(
          "<!doctype html><title>Offline</title><h1>Offline</h1><p>This page was not " +
          "opened on this tablet before the connection dropped. Go back to the day list; " +
          "what you recorded is kept and will be sent when the connection returns.</p>",
          { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } }
        );
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") {
    return;
  }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(networkFirst(request));
  } else if (request.mode === "navigate" && url.pathname.indexOf(SCOPE) === 0) {
    event.respondWith(networkFirst(request));
  }
});

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "precache" && Array.isArray(data.urls)) {
    event.waitUntil(caches.open(CACHE).then(function (cache) {
      return Promise.all(data.urls.map(function (url) {
        return fetch(url, { credentials: "same-origin" }).then(function (response) {
          return cacheable(response) ? cache.put(url, response) : forgetIfSignedOut(response);
        }).catch(function () { return null; });
      }));
    }));
  }
});
