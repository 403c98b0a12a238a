// The map page: Leaflet over the package's own boundaries and lakes (no tiles), layers from
// /map/layers.json (the user's scope only), a click on a site loads its panel with htmx.
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || !window.L) { return; }
  var map = L.map(el, { zoomSnap: 0.25, attributionControl: true, keyboard: true, preferCanvas: false });
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("Boundaries and lakes: Natural Earth");
  map.setView([0, 34], 5);
  var groups = {
    sites: L.featureGroup(), corridors: L.featureGroup(), flows: L.featureGroup(),
    outbreak: L.featureGroup()
  };

  // Leaflet puts a tooltip's string into the page as HTML: names come from imported files, so
  // every tooltip is given as text (a place named "<img ...>" shows as those characters)
  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" }[c];
    });
  }

  // A session that ended after the page loaded (expired, logged out elsewhere, an account
  // disabled) answers the data with a redirect to the login page, whose HTML is no JSON: send
  // the whole page there, and back to this page afterwards (as the server's HX-Redirect does
  // for the site panel), instead of saying the map "could not be drawn".
  var leaving = false;
  function toLogin() {
    if (!leaving) {
      leaving = true;
      var here = window.location.pathname + window.location.search;
      window.location.assign("/login?next=" + encodeURIComponent(here));
    }
    return new Promise(function () {});  // never settles: the page is being replaced
  }

  function isLogin(r) {
    if (r.status === 401) { return true; }
    if (!r.redirected) { return false; }
    try { return new URL(r.url, window.location.href).pathname === "/login"; } catch (e) { return false; }
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { "accept": "application/json" } })
      .then(function (r) {
        if (isLogin(r)) { return toLogin(); }
        if (!r.ok) { throw new Error(url + " answered " + r.status); }
        var type = r.headers.get("content-type") || "";
        if (type.indexOf("application/json") !== 0) {
          throw new Error(url + " answered " + (type || "no content type") + ", not JSON");
        }
        return r.json();
      });
  }

  function panelUrl(code) {
    var period = el.getAttribute("data-period") || "";
    return "/map/site/" + encodeURIComponent(code) + "?period=" + encodeURIComponent(period);
  }

  function showSite(code) {
    htmx.ajax("GET", panelUrl(code), { target: "#site-detail" });
  }

  // The chosen site is in the address (/map?site=CODE&period=...), as a link to it would be:
  // reload, back and forward show the same panel. The panel comes into view and takes the
  // focus once chosen (on a phone it sits below the map and the list).
  var detail = document.getElementById("site-detail");
  var empty = detail && !detail.querySelector("section.site") ? detail.innerHTML : "";
  var restoring = false;

  function siteInAddress() {
    return new URLSearchParams(window.location.search).get("site") || "";
  }

  function address(code) {
    var params = new URLSearchParams(window.location.search);
    params.set("site", code);
    params.set("period", el.getAttribute("data-period") || "");
    return window.location.pathname + "?" + params.toString();
  }

  document.body.addEventListener("htmx:afterSwap", function (e) {
    if (!detail || e.detail.target !== detail) { return; }
    var section = detail.querySelector("section.site");
    if (!section) { return; }
    var code = section.getAttribute("data-site");
    if (!restoring && code !== siteInAddress()) {
      window.history.pushState({ site: code }, "", address(code));
    }
    if (!restoring) {
      var heading = section.querySelector("h2");
      if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
    }
    restoring = false;
  });

  document.body.addEventListener("htmx:responseError", function () { restoring = false; });

  window.addEventListener("popstate", function () {
    if (!detail) { return; }
    var code = siteInAddress();
    var shown = detail.querySelector("section.site");
    if (code && (!shown || shown.getAttribute("data-site") !== code)) {
      restoring = true;
      showSite(code);
    } else if (!code) {
      detail.innerHTML = empty ||
        "<p class=\"muted\">No site chosen yet: choose one on the map or in the list.</p>";
    }
  });

  function draw(base, data) {
    L.geoJSON(base.countries, {
      style: function () { return { color: "#6b6b6b", weight: 1, fillColor: "#f3f0e8", fillOpacity: 1 }; },
      onEachFeature: function (f, layer) { layer.bindTooltip(esc(f.properties.name || ""), { sticky: true }); }
    }).addTo(map);
    L.geoJSON(base.lakes, {
      style: function () { return { color: "#4a90c2", weight: 0.6, fillColor: "#a6cee3", fillOpacity: 1 }; },
      interactive: false
    }).addTo(map);
    data.corridors.forEach(function (c) {
      c.segments.forEach(function (seg) {
        L.polyline(seg, { color: c.colour, weight: 3, opacity: 0.85 })
          .bindTooltip(esc(c.label + " corridor")).addTo(groups.corridors);
      });
    });
    data.flows.forEach(function (f) {
      L.polyline(f.line, { color: "#3f5f7f", weight: f.width, opacity: 0.5 })
        .bindTooltip(esc(f.title)).addTo(groups.flows);
    });
    data.outbreak.forEach(function (o) {
      var r = o.value ? 4 + 3 * Math.sqrt(o.value) : 5;
      L.circleMarker([o.lat, o.lon], { radius: r, color: "#000000", weight: 1.5, dashArray: "3 2",
        fillColor: "#0072b2", fillOpacity: 0.35 })
        .bindTooltip(esc(o.disease + ": " + o.name + ", " + o.cases + " cases; reached " + o.week +
          " (site " + o.order + " in order)"))
        .addTo(groups.outbreak);
    });
    data.sites.slice().sort(function (a, b) { return b.rank - a.rank; }).forEach(function (s) {
      var label = "#" + s.rank + " " + s.name + " (" + s.type + ", " + s.country + "): score " + s.score;
      L.circleMarker([s.lat, s.lon], { radius: s.radius, color: "#333333", weight: 1,
        fillColor: s.colour, fillOpacity: 0.9 })
        .bindTooltip(esc(label))
        .on("click", function () { showSite(s.code); })
        .on("add", function () {
          // the circle itself is reachable with the keyboard: Tab to it, Enter or Space opens it
          var path = this.getElement();
          if (!path || path.hasAttribute("tabindex")) { return; }
          path.setAttribute("tabindex", "0");
          path.setAttribute("role", "button");
          path.setAttribute("aria-label", label);
          path.setAttribute("data-site", s.code);
          path.addEventListener("keydown", function (e) {
            if (e.key === "Enter" || e.key === " ") { e.preventDefault(); showSite(s.code); }
          });
        })
        .addTo(groups.sites);
    });
    var toggles = document.querySelectorAll("input[name=layer]");
    Array.prototype.forEach.call(toggles, function (box) {
      var sync = function () {
        var g = groups[box.value];
        if (box.checked) { g.addTo(map); } else { map.removeLayer(g); }
      };
      box.addEventListener("change", sync);
      sync();
    });
    var bounds = L.latLngBounds([]);
    data.sites.forEach(function (s) { bounds.extend([s.lat, s.lon]); });
    data.corridors.forEach(function (c) { c.segments.forEach(function (seg) { bounds.extend(seg); }); });
    if (bounds.isValid()) { map.fitBounds(bounds.pad(0.25), { maxZoom: 8 }); }
    el.setAttribute("data-ready", "true");
  }

  Promise.all([getJSON(el.getAttribute("data-basemap")), getJSON(el.getAttribute("data-layers"))])
    .then(function (parts) { draw(parts[0], parts[1]); })
    .catch(function (e) {
      el.textContent = "The map could not be drawn: " + e.message;
      el.setAttribute("data-ready", "error");
    });
})();
