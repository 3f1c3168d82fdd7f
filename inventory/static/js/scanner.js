/*
 * Sampada camera scanner: reads QR codes from the phone's camera.
 *
 * Include it with {{ scanner_assets() }} in a page's <head> (a template global of
 * inventory/field/views.py): that writes this script's tag with data-decoder (the URL of
 * the vendored qr-scanner build) and lets the page's CSP start the decoder's worker.
 *
 *   window.SampadaScanner.start(videoEl, onText, onError, options) -> Promise<stop>
 *     Opens the back camera (facingMode "environment") in videoEl and calls onText(text)
 *     with the text of each QR code read. The same text is not reported again within
 *     options.repeatMs (default 2500 ms). Resolves to stop(), which closes the camera and
 *     the decoder. If the camera cannot be opened, the promise rejects with an Error whose
 *     .kind is one of:
 *       "denied"    the user or the browser refused the camera
 *       "no-camera" no camera on this device
 *       "busy"      the camera is used by another app
 *       "insecure"  not a secure context (plain http on a host other than localhost)
 *       "decoder"   the QR decoder could not be loaded
 *       "failed"    anything else (.cause holds the original error)
 *     onError(error) (optional) gets such an Error when scanning fails after the start.
 *     options.scansPerSecond (default 8).
 *   window.SampadaScanner.tagFromText(text) -> tag | null
 *     The asset tag in a scanned text: a label URL (any host, path .../a/<tag>) or a bare
 *     tag; upper-cased; null when the text holds no tag.
 *   window.SampadaScanner.errorKind(error) -> one of the kinds above.
 *
 * Decoding uses the browser's BarcodeDetector when it supports qr_code, otherwise the
 * vendored qr-scanner (loaded on first use; its worker module is fetched once and then
 * served from the browser cache). Nothing comes from a CDN.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var DECODER_URL = script ? script.getAttribute("data-decoder") : null;
  var TAG_RE = /^[A-Z0-9][A-Z0-9\/_-]{1,31}$/;
  var DASHES = /[\u2010-\u2015\u2212\ufe63\uff0d]/g;
  var decoderPromise = null;

  function kindError(kind, cause) {
    var error = new Error("scanner: " + kind + (cause ? " (" + (cause.name || cause) + ")" : ""));
    error.kind = kind;
    error.cause = cause;
    return error;
  }

  function errorKind(error) {
    if (error && error.kind) return error.kind;
    var name = (error && error.name) || "";
    if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") return "denied";
    if (name === "NotFoundError" || name === "DevicesNotFoundError" || name === "OverconstrainedError") return "no-camera";
    if (name === "NotReadableError" || name === "TrackStartError" || name === "AbortError") return "busy";
    return "failed";
  }

  function normalise(text) {
    var out = String(text).normalize ? String(text).normalize("NFKC") : String(text);
    out = out.replace(DASHES, "-").replace(/[\u0966-\u096F]/g, function (d) {
      return String(d.charCodeAt(0) - 0x0966);
    });
    return out.trim().toUpperCase().replace(/\s+/g, "-");
  }

  function tagFromText(text) {
    if (text === null || text === undefined) return null;
    var value = String(text).trim();
    if (!value) return null;
    if (value.indexOf("://") !== -1 || value.charAt(0) === "/") {
      var path;
      try {
        path = new URL(value, window.location.href).pathname;
      } catch (e) {
        return null;
      }
      var match = /(?:^|\/)a\/(.+?)\/?$/.exec(path);
      if (!match) return null;
      try {
        value = decodeURIComponent(match[1]);
      } catch (e) {
        return null;
      }
    }
    var tag = normalise(value);
    return TAG_RE.test(tag) ? tag : null;
  }

  function loadQrScanner() {
    if (window.QrScanner) return Promise.resolve(window.QrScanner);
    if (!decoderPromise) {
      decoderPromise = new Promise(function (resolve, reject) {
        if (!DECODER_URL) {
          reject(kindError("decoder", "no data-decoder URL on the scanner.js script tag"));
          return;
        }
        var tag = document.createElement("script");
        tag.src = DECODER_URL;
        tag.async = true;
        tag.onload = function () {
          if (window.QrScanner) resolve(window.QrScanner);
          else reject(kindError("decoder", "qr-scanner did not load"));
        };
        tag.onerror = function () {
          reject(kindError("decoder", "qr-scanner could not be fetched"));
        };
        document.head.appendChild(tag);
      }).catch(function (error) {
        decoderPromise = null; // a later start() tries again (the link may be back)
        throw error;
      });
    }
    return decoderPromise;
  }

  // A detector: { detect(video) -> Promise<text|null>, destroy() }.
  function nativeDetector() {
    if (!("BarcodeDetector" in window) || !window.BarcodeDetector.getSupportedFormats) {
      return Promise.resolve(null);
    }
    return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      if (formats.indexOf("qr_code") === -1) return null;
      var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      return {
        detect: function (video) {
          return detector.detect(video).then(function (codes) {
            return codes.length ? codes[0].rawValue : null;
          });
        },
        destroy: function () {},
      };
    }, function () { return null; });
  }

  function shippedDetector() {
    return loadQrScanner().then(function (QrScanner) {
      return QrScanner.createQrEngine().then(function (engine) {
        var canvas = document.createElement("canvas");
        return {
          detect: function (video) {
            // The centre square of the frame, at most 512 px a side for the decoder.
            var side = Math.min(video.videoWidth, video.videoHeight);
            var scaled = Math.min(side, 512);
            var region = {
              x: Math.round((video.videoWidth - side) / 2),
              y: Math.round((video.videoHeight - side) / 2),
              width: side, height: side, downScaledWidth: scaled, downScaledHeight: scaled,
            };
            return QrScanner.scanImage(video, {
              qrEngine: engine, canvas: canvas, scanRegion: region, returnDetailedScanResult: true,
            }).then(function (result) {
              return result.data;
            }, function (error) {
              if (error === QrScanner.NO_QR_CODE_FOUND || /No QR code found/.test(String(error))) return null;
              throw error;
            });
          },
          destroy: function () {
            if (typeof Worker !== "undefined" && engine instanceof Worker) engine.terminate();
          },
        };
      }, function (error) {
        throw kindError("decoder", error);
      });
    });
  }

  function makeDetector() {
    return nativeDetector().then(function (native) {
      return native || shippedDetector();
    });
  }

  function openCamera() {
    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return Promise.reject(kindError("insecure"));
    }
    return navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
    }).catch(function (error) {
      throw kindError(errorKind(error), error);
    });
  }

  function start(video, onText, onError, options) {
    options = options || {};
    var repeatMs = options.repeatMs === undefined ? 2500 : options.repeatMs;
    var interval = 1000 / (options.scansPerSecond || 8);
    var stream = null;
    var detector = null;
    var running = true;
    var timer = null;
    var failures = 0;
    var last = { text: null, at: 0 };

    function stop() {
      running = false;
      if (timer) clearTimeout(timer);
      timer = null;
      if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
      stream = null;
      video.srcObject = null;
      if (detector) detector.destroy();
      detector = null;
    }

    function report(text) {
      var now = Date.now();
      if (text === last.text && now - last.at < repeatMs) return;
      last = { text: text, at: now };
      try {
        onText(text);
      } catch (e) {
        if (window.console) console.error(e);
      }
    }

    function tick() {
      timer = null;
      if (!running) return;
      var ready = video.readyState >= 2 && video.videoWidth > 0 && !document.hidden;
      var work = ready ? detector.detect(video) : Promise.resolve(null);
      work.then(function (text) {
        failures = 0;
        if (running && text) report(text);
      }, function (error) {
        failures += 1;
        if (failures === 20 && onError) onError(kindError("decoder", error));
      }).then(function () {
        if (running) timer = setTimeout(tick, interval);
      });
    }

    return openCamera().then(function (opened) {
      stream = opened;
      if (!running) { stop(); return stop; }
      video.setAttribute("playsinline", "");
      video.muted = true;
      video.srcObject = stream;
      return video.play().then(function () {
        return makeDetector();
      }).then(function (made) {
        detector = made;
        if (!running) { stop(); return stop; }
        tick();
        return stop;
      });
    }).catch(function (error) {
      stop();
      throw error && error.kind ? error : kindError(errorKind(error), error);
    });
  }

  window.SampadaScanner = { start: start, tagFromText: tagFromText, errorKind: errorKind };
})();
