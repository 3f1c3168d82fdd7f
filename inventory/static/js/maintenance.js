// The maintenance plan form: show only the fields of the chosen target and trigger.
// Without this script every field shows and the server ignores the ones that do not apply.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-plan-form]");
  if (!form) return;
  const target = form.querySelector("select[name=target]");
  const trigger = form.querySelector("select[name=trigger]");
  const update = () => {
    form.querySelectorAll("[data-show-target]").forEach((box) => {
      box.hidden = !box.dataset.showTarget.split(" ").includes(target.value);
    });
    form.querySelectorAll("[data-show-trigger]").forEach((box) => {
      box.hidden = box.dataset.showTrigger !== trigger.value;
    });
  };
  target.addEventListener("change", update);
  trigger.addEventListener("change", update);
  update();
});
