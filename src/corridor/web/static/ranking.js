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
  // A bad period or multiplier is answered 400 with the reason in the result's place: show it
  // (htmx leaves a 4xx answer out by default, and the page would not change at all)
  document.body.addEventListener("htmx:beforeSwap", function (e) {
    var target = e.detail.target;
    if (e.detail.xhr.status === 400 && target && target.id === "ranking-result") {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });
})();
