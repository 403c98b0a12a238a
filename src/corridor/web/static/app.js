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

  // htmx keeps no copy of any page in localStorage ("historyCacheSize": 0 in base.html.j2:
  // back and forward load the page from the server). A copy left there (by an older page, or
  // another htmx setting) would outlive the session on a shared computer: every page, the
  // login page after "Log out" included, and the logout itself remove it.
  var HISTORY = "htmx-history-cache";
  function forgetHistory() {
    try { window.localStorage.removeItem(HISTORY); } catch (e) { /* storage switched off */ }
  }
  forgetHistory();
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form && form.getAttribute && form.getAttribute("action") === "/logout") {
      forgetHistory();
    }
  });
  window.corridor = { csrf: csrf };
})();
