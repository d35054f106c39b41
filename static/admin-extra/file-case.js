// Phone cases: offer only the customers of the chosen organization.
(function () {
  "use strict";
  const organization = document.getElementById("id_organization");
  const reporter = document.getElementById("id_reporter");
  if (!organization || !reporter) return;
  function filter() {
    const chosen = organization.value;
    for (const option of reporter.options) {
      if (!option.value) continue;
      const fits = !chosen || option.dataset.organization === chosen;
      option.hidden = !fits;
      option.disabled = !fits;
      if (!fits && option.selected) reporter.value = "";
    }
  }
  organization.addEventListener("change", filter);
  filter();
})();
