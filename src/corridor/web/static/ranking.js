// Spaces of vulnerability: show a multiplier's value beside its slider as it moves (the form
// itself works without this script; htmx re-renders the ranking when a control changes).
(function () {
  "use strict";
  document.querySelectorAll("#ranking-form input[type=range]").forEach(function (input) {
    var out = document.getElementById(input.id + "-out");
    if (!out) return;
    input.addEventListener("input", function () {
      out.textContent = "\u00d7" + Number(input.value).toFixed(1);
    });
  });
})();
