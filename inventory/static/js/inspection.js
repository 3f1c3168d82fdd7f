// The inspection form: "Add my location" (the browser's geolocation, only when the inspector
// presses the button and allows it) and shrinking large phone photos before they are sent
// over a slow link. The form works without this script; the server checks everything again.
(() => {
  "use strict";

  const SHRINK_ABOVE = 1024 * 1024; // bytes: larger photos are resized before upload
  const MAX_SIDE = 1600; // pixels: the longer side of a resized photo
  const QUALITY = 0.82;

  function setupLocation(box) {
    const button = box.querySelector("[data-locate]");
    const clear = box.querySelector("[data-clear-location]");
    const status = box.querySelector("[data-locate-status]");
    const lat = box.querySelector("input[name=latitude]");
    const lon = box.querySelector("input[name=longitude]");
    const acc = box.querySelector("input[name=accuracy_m]");
    const say = (key) => {
      status.textContent = key ? box.dataset[key] || "" : "";
    };

    if (!("geolocation" in navigator) || !window.isSecureContext) {
      button.disabled = true;
      say("msgUnsupported");
    }
    button.addEventListener("click", () => {
      button.disabled = true;
      say("msgWorking");
      navigator.geolocation.getCurrentPosition(
        (position) => {
          lat.value = position.coords.latitude.toFixed(6);
          lon.value = position.coords.longitude.toFixed(6);
          acc.value = String(Math.round(position.coords.accuracy));
          button.disabled = false;
          say("msgDone");
        },
        (error) => {
          button.disabled = false;
          say(error.code === error.PERMISSION_DENIED ? "msgDenied" : "msgFailed");
        },
        { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 },
      );
    });
    clear.addEventListener("click", () => {
      lat.value = "";
      lon.value = "";
      acc.value = "";
      say(null);
    });
  }

  async function shrink(file) {
    const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", QUALITY));
    if (!blob || blob.size >= file.size) return null;
    const name = file.name.replace(/\.[^.]*$/, "") + ".jpg";
    return new File([blob], name, { type: "image/jpeg", lastModified: file.lastModified });
  }

  function setupPhoto(input) {
    input.addEventListener("change", async () => {
      const file = input.files && input.files[0];
      if (!file || file.size <= SHRINK_ABOVE || !/^image\/(jpeg|png|webp)$/.test(file.type)) {
        return;
      }
      input.dataset.state = "shrinking";
      try {
        const smaller = await shrink(file);
        if (smaller && typeof DataTransfer === "function") {
          const transfer = new DataTransfer();
          transfer.items.add(smaller);
          input.files = transfer.files; // does not fire "change" again
        }
      } catch (_error) {
        // Keep the original photo: the server accepts it if it is within the limit.
      }
      input.dataset.state = "ready";
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const box = document.querySelector("[data-location]");
    if (box) setupLocation(box);
    const photo = document.querySelector("input[type=file][data-max-bytes]");
    if (photo) setupPhoto(photo);
  });
})();
