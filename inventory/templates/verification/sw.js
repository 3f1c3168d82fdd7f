// Sampada verification: keeps a visit page usable when it is reloaded without a connection.
// Scope /verify/. Visit pages: network first, the last copy when offline (a redirect, for
// example to the login page after signing out, drops the copy). Static files: the cached
// copy at once, refreshed in the background; the same for the camera's decoder. Nothing
// else is touched (POSTs never are).
const VERSION = {{ version|tojson }};
const STATIC_CACHE = "sampada-verify-static-" + VERSION;
const PAGES_CACHE = "sampada-verify-pages";
const PRECACHE = {{ files|tojson }};
const VISIT_PAGE = /\/verify\/visits\/\d+$/;
// Static files and the camera's decoder (versioned URLs): cached copies are fine.
const PREFIXES = {{ prefixes|tojson }};

self.addEventListener("install", (event) => {
  // One by one: a file that cannot be fetched must not keep the others out.
  event.waitUntil(
    caches
      .open(STATIC_CACHE)
      .then((cache) => Promise.allSettled(PRECACHE.map((url) => cache.add(url))))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(
          names
            .filter((name) => name.startsWith("sampada-verify-static-") && name !== STATIC_CACHE)
            .map((name) => caches.delete(name))
        )
      )
      .then(() => self.clients.claim())
  );
});

function pageKey(url) {
  return url.origin + url.pathname;
}

async function networkFirst(request, url) {
  const cache = await caches.open(PAGES_CACHE);
  let response;
  try {
    response = await fetch(request);
  } catch (error) {
    const cached = await cache.match(pageKey(url));
    if (cached) {
      return cached;
    }
    throw error;
  }
  if (response.ok && response.type === "basic" && !response.redirected) {
    await cache.put(pageKey(url), response.clone());
  } else if (response.type === "opaqueredirect" || response.redirected || response.status >= 400) {
    await cache.delete(pageKey(url));
  }
  return response;
}

async function staleWhileRevalidate(event) {
  const cache = await caches.open(STATIC_CACHE);
  const cached = await cache.match(event.request, { ignoreSearch: true });
  const refresh = fetch(event.request).then((response) => {
    if (response.ok && response.type === "basic") {
      return cache.put(event.request, response.clone()).then(() => response);
    }
    return response;
  });
  if (cached) {
    event.waitUntil(refresh.catch(() => undefined));
    return cached;
  }
  return refresh;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") {
    return;
  }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (request.mode === "navigate" && VISIT_PAGE.test(url.pathname)) {
    event.respondWith(networkFirst(request, url));
  } else if (PREFIXES.some((prefix) => url.pathname.startsWith(prefix))) {
    event.respondWith(staleWhileRevalidate(event));
  }
});
