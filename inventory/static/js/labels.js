// The print form: show the chosen stock's own margins and gaps as placeholders.
document.addEventListener("DOMContentLoaded", () => {
  const select = document.querySelector("select[data-label-defaults]");
  if (!select) return;
  let defaults = {};
  try { defaults = JSON.parse(select.dataset.labelDefaults); } catch (e) { return; }
  const names = ["margin_top", "margin_left", "gap_x", "gap_y"];
  const update = () => {
    const stock = defaults[select.value];
    if (!stock) return;
    names.forEach((name, i) => {
      const input = document.getElementById(name);
      if (input) input.placeholder = stock[i];
    });
    const start = document.getElementById("start");
    if (start) start.max = stock[4];
  };
  select.addEventListener("change", update);
  update();
});
