// Small page behaviours; the app works without them.
document.addEventListener("DOMContentLoaded", () => {
  const all = document.querySelector("[data-select-all]");
  if (all) {
    all.addEventListener("change", () => {
      document.querySelectorAll("input[name=ids]").forEach((box) => { box.checked = all.checked; });
    });
  }
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.addEventListener("click", () => window.print());
  });
  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });
});
