// Verification visit page: scan or type tags; every scan goes first into a queue kept in
// this browser (localStorage, per visit) and is sent from there, in order, whenever there
// is a connection. A scan leaves the queue only once the server has answered for it; the
// server stores each scan once by its client_id, so a resend after a lost answer is safe.
// All text goes into the page with textContent: tags and site names are untrusted.
(() => {
  "use strict";

  const root = document.getElementById("verify");
  if (!root) {
    return;
  }
  const d = root.dataset;
  const KEY = "sampada.verify." + d.visit;
  const PAGES_CACHE = "sampada-verify-pages";
  const RETRY_MIN_MS = 1000;
  const RETRY_MAX_MS = 30000;
  const REFRESH_MS = 30000;
  const CAMERA_REPEAT_MS = 3000;

  const el = {
    net: document.getElementById("verify-net"),
    pending: document.getElementById("verify-pending"),
    message: document.getElementById("verify-message"),
    form: document.getElementById("verify-manual"),
    input: document.getElementById("verify-tag"),
    queueBox: document.getElementById("verify-queue-box"),
    queue: document.getElementById("verify-queue"),
    video: document.getElementById("verify-video"),
    cameraStart: document.getElementById("verify-camera-start"),
    cameraStop: document.getElementById("verify-camera-stop"),
    offline: document.getElementById("verify-offline-ready"),
  };

  // --- text helpers ---------------------------------------------------------------------

  function fill(template, values) {
    return String(template || "").replace(/\{(\w+)\}/g, (whole, name) =>
      Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole
    );
  }

  function say(text, kind) {
    el.message.textContent = text;
    el.message.dataset.kind = kind || "info";
  }

  function node(tag, className, text) {
    const element = document.createElement(tag);
    if (className) {
      element.className = className;
    }
    if (text !== undefined && text !== null) {
      element.textContent = String(text);
    }
    return element;
  }

  function link(href, className, text) {
    const a = node("a", className, text);
    // Only our own relative links: never a javascript: or foreign URL from data.
    if (typeof href === "string" && href.startsWith("/") && !href.startsWith("//")) {
      a.href = href;
    }
    return a;
  }

  // --- the stored queue -----------------------------------------------------------------

  let memory = null; // used when localStorage is unavailable (private mode, quota)
  let storageBroken = false;

  function empty() {
    return { queue: [], seen: [], failed: [], state: null, stateAt: "" };
  }

  function load() {
    if (storageBroken) {
      return memory || empty();
    }
    try {
      const raw = window.localStorage.getItem(KEY);
      const data = raw ? JSON.parse(raw) : null;
      if (data && Array.isArray(data.queue)) {
        return Object.assign(empty(), data);
      }
    } catch (error) {
      storageBroken = true;
      return memory || empty();
    }
    return empty();
  }

  function save(data) {
    memory = data;
    if (storageBroken) {
      return;
    }
    try {
      window.localStorage.setItem(KEY, JSON.stringify(data));
    } catch (error) {
      storageBroken = true;
    }
  }

  // Read, change, write: another tab of the same visit may have changed the store.
  function mutate(change) {
    const data = load();
    change(data);
    save(data);
    return data;
  }

  // --- tags -----------------------------------------------------------------------------

  // The tag in typed or scanned text: the scanner's reading when it sees a tag (a label
  // URL or a bare tag), else the text itself, cleaned (the server records it as unknown).
  function normalise(text) {
    let value = String(text || "").replace(/[\u0000-\u001f\u007f]/g, "").trim();
    const scanner = window.SampadaScanner;
    const tag = scanner && scanner.tagFromText ? scanner.tagFromText(value) : null;
    if (tag) {
      return tag;
    }
    const match = /\/a\/([^/?#\s]+)/.exec(value);
    if (match) {
      try {
        value = decodeURIComponent(match[1]);
      } catch (error) {
        value = match[1];
      }
    }
    return value.normalize("NFKC").trim().toUpperCase().replace(/\s+/g, "-").slice(0, 64);
  }

  function seenTags() {
    const data = load();
    const tags = new Set(data.seen);
    data.queue.forEach((item) => tags.add(item.tag));
    document
      .querySelectorAll('[data-items="found"] .vtag, [data-items="unexpected"] .vtag, [data-items="unknown"] .vtag')
      .forEach((item) => tags.add(normalise(item.textContent)));
    return tags;
  }

  function newId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // Pages served over plain http on a LAN lack randomUUID; getRandomValues is there.
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  function addScan(tag) {
    if (!tag) {
      say(d.msgEmpty, "warn");
      return false;
    }
    if (seenTags().has(tag)) {
      say(fill(d.msgAlready, { tag }), "duplicate");
      return false;
    }
    const item = { client_id: newId(), tag, scanned_at: new Date().toISOString() };
    mutate((data) => {
      data.queue.push(item);
      if (!data.seen.includes(tag)) {
        data.seen.push(tag);
      }
    });
    say(fill(navigator.onLine ? d.msgQueued : d.msgQueuedOffline, { tag }), "queued");
    renderQueue();
    kick();
    return true;
  }

  // --- sending --------------------------------------------------------------------------

  let sending = false;
  let retryMs = 0;
  let retryTimer = null;

  function scheduleRetry() {
    retryMs = retryMs ? Math.min(retryMs * 2, RETRY_MAX_MS) : RETRY_MIN_MS;
    window.clearTimeout(retryTimer);
    retryTimer = window.setTimeout(drain, retryMs + Math.floor(Math.random() * 250));
  }

  function kick() {
    window.clearTimeout(retryTimer);
    retryMs = 0;
    drain();
  }

  function post(item) {
    return fetch(d.scanUrl, {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual",
      cache: "no-store",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": d.csrf,
      },
      body: JSON.stringify({ client_id: item.client_id, tag: item.tag, scanned_at: item.scanned_at }),
    });
  }

  function remove(data, clientId) {
    data.queue = data.queue.filter((item) => item.client_id !== clientId);
  }

  async function drain() {
    if (sending) {
      return;
    }
    sending = true;
    let emptied = false;
    try {
      for (;;) {
        const item = load().queue[0];
        if (!item) {
          emptied = true;
          break;
        }
        if (!navigator.onLine) {
          setNet(false);
          break;
        }
        let response;
        try {
          response = await post(item);
        } catch (error) {
          // No connection (or it dropped mid-request): the scan stays queued. If the
          // server did record it, the resend is answered as "already recorded".
          say(d.msgRetry, "warn");
          scheduleRetry();
          break;
        }
        setNet(true);
        if (response.type === "opaqueredirect" || response.status === 401) {
          say(d.msgSignedOut, "error");
          scheduleRetry();
          break;
        }
        let body = null;
        try {
          body = await response.json();
        } catch (error) {
          body = null;
        }
        if (response.ok && body && body.scan) {
          mutate((data) => remove(data, item.client_id));
          retryMs = 0;
          showResult(body);
          renderQueue();
          continue;
        }
        if (body && body.code === "closed") {
          mutate((data) => {
            data.queue.forEach((queued) => data.failed.push({ tag: queued.tag, error: body.error }));
            data.queue = [];
          });
          say(d.msgClosed, "error");
          renderQueue();
          break;
        }
        if (body && (body.code === "invalid" || body.code === "not_found")) {
          mutate((data) => {
            remove(data, item.client_id);
            data.failed.push({ tag: item.tag, error: body.error });
          });
          say(body.error, "error");
          renderQueue();
          continue;
        }
        // A refused token, a server error, a proxy's page: keep the scan, try again later.
        say(response.status >= 500 ? d.msgRetry : d.msgReload, "error");
        scheduleRetry();
        break;
      }
    } finally {
      sending = false;
      renderQueue();
    }
    if (emptied) {
      refreshState();
    }
  }

  function showResult(body) {
    const scan = body.scan;
    say(scan.message, scan.outcome);
    if (body.counts) {
      renderCounts(body.counts);
    }
    if (navigator.vibrate && !body.replayed) {
      navigator.vibrate(scan.outcome === "found" ? 40 : [40, 60, 40]);
    }
  }

  // --- state and lists ------------------------------------------------------------------

  let refreshing = false;

  async function refreshState() {
    if (refreshing || !navigator.onLine) {
      return;
    }
    refreshing = true;
    try {
      const response = await fetch(d.stateUrl, {
        credentials: "same-origin",
        redirect: "manual",
        cache: "no-store",
        headers: { Accept: "application/json" },
      });
      if (!response.ok) {
        return;
      }
      const state = await response.json();
      mutate((data) => {
        data.state = state;
        data.stateAt = state.generated_at || "";
        ["found", "unexpected", "unknown"].forEach((name) =>
          (state[name] || []).forEach((row) => {
            if (!data.seen.includes(row.tag)) {
              data.seen.push(row.tag);
            }
          })
        );
      });
      renderLists(state);
      if (state.visit && !state.visit.open && load().queue.length === 0) {
        try {
          window.localStorage.removeItem(KEY);
        } catch (error) {
          // nothing stored
        }
        window.location.reload(); // finished elsewhere: show the report
      }
    } catch (error) {
      // offline: the lists stay as they are
    } finally {
      refreshing = false;
    }
  }

  function renderCounts(counts) {
    Object.keys(counts).forEach((name) => {
      document.querySelectorAll('[data-count="' + name + '"]').forEach((item) => {
        item.textContent = String(counts[name]);
      });
    });
  }

  function tagNode(row) {
    return row.url ? link(row.url, "vtag", row.tag) : node("span", "vtag", row.tag);
  }

  function meta(parts) {
    return node("span", "vmeta", parts.filter((part) => part).join(" · "));
  }

  const ROWS = {
    missing(row) {
      const li = node("li");
      li.append(tagNode(row), " ", meta([row.category, row.model, row.location]));
      return li;
    },
    found(row) {
      const li = node("li");
      li.append(tagNode(row), " ", meta([row.category, row.model, row.scanned_at_text]));
      return li;
    },
    unexpected(row) {
      const li = node("li");
      li.append(tagNode(row), " ", meta([row.category, row.model]), " ");
      const label = row.moved_here ? d.labelWasRegisteredAt : d.labelRegisteredAt;
      const where = node("span", "vwhere", label + " ");
      if (row.registered_site_url) {
        where.append(link(row.registered_site_url, "", row.registered_site_name));
        where.append(" (" + (row.registered_site_code || "") + ")");
      } else {
        where.append("—");
      }
      li.append(where, " ");
      if (row.moved_here) {
        li.append(node("span", "badge badge-green", d.labelMoved));
      } else if (row.move_url) {
        li.append(link(row.move_url, "btn secondary small", d.labelMove));
      }
      return li;
    },
    unknown(row) {
      const li = node("li");
      li.append(node("span", "vtag", row.tag), " ", meta([row.scanned_at_text]));
      return li;
    },
  };

  function renderLists(state) {
    if (state.counts) {
      renderCounts(state.counts);
    }
    Object.keys(ROWS).forEach((name) => {
      const list = document.querySelector('[data-items="' + name + '"]');
      if (!list || !Array.isArray(state[name])) {
        return;
      }
      list.replaceChildren(...state[name].map((row) => ROWS[name](row)));
      const none = document.querySelector('[data-empty="' + name + '"]');
      if (none) {
        none.hidden = state[name].length > 0;
      }
    });
  }

  function renderQueue() {
    const data = load();
    const rows = [];
    data.queue.forEach((item) => {
      const li = node("li", "vwaiting");
      li.append(node("span", "vtag", item.tag), " ", node("span", "vmeta", d.labelWaiting));
      rows.push(li);
    });
    data.failed.forEach((item) => {
      const li = node("li", "vfailed");
      li.append(node("span", "vtag", item.tag), " ", node("span", "vmeta", d.labelFailed + ": " + (item.error || "")));
      rows.push(li);
    });
    el.queue.replaceChildren(...rows);
    el.queueBox.hidden = rows.length === 0;
    const n = data.queue.length;
    el.pending.dataset.count = String(n);
    if (n > 0) {
      el.pending.textContent = fill(n === 1 ? d.msgPendingOne : d.msgPendingOther, { n });
    } else {
      el.pending.textContent = data.seen.length ? d.msgAllSent : "";
    }
    if (storageBroken) {
      el.pending.dataset.storage = "memory";
    }
  }

  function setNet(online) {
    el.net.dataset.state = online ? "online" : "offline";
    el.net.textContent = online ? d.labelOnline : d.labelOffline;
  }

  // --- input: typed tags and the camera ------------------------------------------------

  el.form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (addScan(normalise(el.input.value))) {
      el.input.value = "";
    }
    el.input.focus();
  });

  let stopCamera = null;
  let lastText = "";
  let lastTextAt = 0;

  function onCameraText(text) {
    const now = Date.now();
    if (text === lastText && now - lastTextAt < CAMERA_REPEAT_MS) {
      return; // the camera still sees the same label
    }
    lastText = text;
    lastTextAt = now;
    const scanner = window.SampadaScanner;
    const tag = scanner && scanner.tagFromText ? scanner.tagFromText(text) : null;
    if (!tag) {
      // A QR code that is not one of our labels: say so, record nothing.
      say(fill(d.msgNotTag, { text: String(text).slice(0, 80) }), "warn");
      return;
    }
    addScan(tag);
  }

  function onCameraError(error) {
    say(fill(d.msgCameraError, { error: (error && (error.name || error.message)) || String(error) }), "error");
    cameraStopped();
  }

  function cameraStopped() {
    stopCamera = null;
    el.video.hidden = true;
    el.cameraStart.hidden = false;
    el.cameraStop.hidden = true;
  }

  el.cameraStart.addEventListener("click", async () => {
    const scanner = window.SampadaScanner;
    if (!scanner || typeof scanner.start !== "function") {
      say(d.msgNoScanner, "warn");
      return;
    }
    el.video.hidden = false;
    el.cameraStart.hidden = true;
    el.cameraStop.hidden = false;
    try {
      stopCamera = await scanner.start(el.video, onCameraText, onCameraError);
    } catch (error) {
      onCameraError(error);
    }
  });

  el.cameraStop.addEventListener("click", () => {
    if (stopCamera) {
      try {
        stopCamera();
      } catch (error) {
        // already stopped
      }
    }
    cameraStopped();
  });

  // Finishing or abandoning with scans still on this phone would lose them.
  document.querySelectorAll("[data-verify-finish]").forEach((button) => {
    button.addEventListener("click", (event) => {
      if (load().queue.length > 0) {
        event.preventDefault();
        say(d.msgFinishBlocked, "warn");
        kick();
      }
    });
  });

  // --- offline copy of this page --------------------------------------------------------

  function registerServiceWorker() {
    if (!("serviceWorker" in navigator) || !d.swUrl) {
      return;
    }
    navigator.serviceWorker
      .register(d.swUrl, { scope: d.swScope })
      .then(() => navigator.serviceWorker.ready)
      .then(() => (window.caches ? caches.open(PAGES_CACHE) : null))
      .then((cache) => {
        // The worker keeps a copy of the page each time it serves it; the first load came
        // before the worker, so keep a copy now: a reload without a connection opens it.
        if (!cache) {
          return undefined;
        }
        const key = window.location.origin + window.location.pathname;
        return cache.match(key).then((hit) => {
          if (hit) {
            return true;
          }
          return fetch(key, { credentials: "same-origin", redirect: "manual" }).then((response) =>
            response.ok && response.type === "basic" ? cache.put(key, response).then(() => true) : false
          );
        });
      })
      .then((ready) => {
        // The worker has this page, its scripts and the camera's decoder: say so.
        if (ready) {
          root.dataset.offline = "ready";
          el.offline.hidden = false;
        }
      })
      .catch(() => undefined);
  }

  // --- start ----------------------------------------------------------------------------

  window.addEventListener("online", () => {
    setNet(true);
    kick();
  });
  window.addEventListener("offline", () => {
    setNet(false);
    say(d.msgOffline, "warn");
  });
  window.addEventListener("storage", (event) => {
    if (event.key === KEY) {
      renderQueue();
    }
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      kick();
    }
  });
  window.setInterval(() => {
    if (document.visibilityState === "visible" && navigator.onLine && load().queue.length === 0) {
      refreshState();
    }
  }, REFRESH_MS);

  const stored = load();
  // Both times are the server's (ISO 8601 UTC), so a phone's wrong clock does not matter.
  if (stored.state && stored.stateAt && stored.stateAt > (d.renderedAt || "")) {
    renderLists(stored.state); // newer than this copy of the page (opened offline)
  }
  setNet(navigator.onLine);
  renderQueue();
  registerServiceWorker();
  if (stored.queue.length) {
    kick();
  } else {
    refreshState();
  }
  root.dataset.ready = "1";
})();
