// The phone pages' behaviours; every page works without them (forms submit, the tag can
// be typed). On the scan page ([data-scan]) it runs the camera through SampadaScanner.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";

  // A form sent once: a second tap on a slow link does not send it again.
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) {
        event.preventDefault();
        return;
      }
      form.dataset.sent = "1";
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    });
  });

  var root = document.querySelector("[data-scan]");
  if (!root || !window.SampadaScanner) return;
  var scanner = window.SampadaScanner;
  var video = root.querySelector("video");
  var status = root.querySelector("[data-scan-status]");
  var retry = root.querySelector("[data-scan-retry]");
  var stop = null;
  var leaving = false;

  function message(kind, tag) {
    var text = root.getAttribute("data-msg-" + kind) || root.getAttribute("data-msg-failed");
    return tag ? text.replace("__TAG__", tag) : text;
  }

  function show(kind, tag) {
    status.textContent = message(kind, tag);
    status.setAttribute("data-state", kind);
    root.setAttribute("data-state", kind);
  }

  function failed(error) {
    if (stop) stop();
    stop = null;
    show(scanner.errorKind(error));
    retry.hidden = false;
    var input = document.querySelector("form.manual input[name=tag]");
    if (input && scanner.errorKind(error) !== "decoder") input.focus();
  }

  function assetUrl(tag) {
    var path = tag.split("/").map(encodeURIComponent).join("/");
    return root.getAttribute("data-asset-url").replace("__TAG__", path);
  }

  function onText(text) {
    if (leaving) return;
    var tag = scanner.tagFromText(text);
    if (!tag) {
      show("not-a-tag");
      return;
    }
    leaving = true;
    show("found", tag);
    if (stop) stop();
    window.location.assign(assetUrl(tag));
  }

  function begin() {
    retry.hidden = true;
    leaving = false;
    show("starting");
    scanner.start(video, onText, failed).then(function (stopper) {
      stop = stopper;
      if (!leaving) show("scanning");
    }, failed);
  }

  retry.addEventListener("click", begin);
  // Leaving the page (or the back-forward cache keeping it) closes the camera.
  window.addEventListener("pagehide", function () {
    if (stop) stop();
    stop = null;
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) begin();
  });
  begin();
});
