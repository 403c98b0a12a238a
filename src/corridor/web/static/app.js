// Corridor dashboard: the little script every page shares. htmx sends the CSRF token with
// every request it makes (the API checks it against the cookie on state-changing requests).
(function () {
  "use strict";
  function csrf() {
    var m = document.cookie.match(/(?:^|;\s*)corridor_csrf=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  document.addEventListener("htmx:configRequest", function (e) {
    e.detail.headers["x-csrf-token"] = csrf();
  });
  window.corridor = { csrf: csrf };
})();
