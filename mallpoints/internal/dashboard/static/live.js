// mallpointsd dashboard: a page that shows syncs still pending asks the
// console for their states every few seconds, and shows each as it
// changes (pending → synced), until none is pending; a page that shows an
// expiry run under way reloads itself every few seconds, except while its
// form is being filled in. No other script runs.
(function () {
  "use strict";
  var underWay = '[data-run][data-state="queued"], [data-run][data-state="running"], [data-run][data-state="retrying"]';
  if (document.querySelector(underWay)) {
    setInterval(function () {
      var a = document.activeElement;
      if (a && a.form) return; // a date being typed would be lost
      location.reload();
    }, 5000);
  }
  var every = 2000, wait = every, max = 30000;
  function pending() {
    return document.querySelectorAll('[data-sync][data-state="pending"]');
  }
  function poll() {
    var list = pending();
    if (list.length === 0) return;
    var ids = [];
    for (var i = 0; i < list.length; i++) {
      var id = list[i].getAttribute("data-sync");
      if (ids.indexOf(id) < 0) ids.push(id);
    }
    var query = ids.map(function (id) { return "id=" + encodeURIComponent(id); }).join("&");
    fetch("/live/syncs?" + query, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (body) {
        (body.syncs || []).forEach(function (s) {
          var els = document.querySelectorAll('[data-sync="' + s.id + '"][data-state]');
          for (var i = 0; i < els.length; i++) {
            var el = els[i];
            if (el.getAttribute("data-state") === s.state) continue;
            el.classList.remove(el.getAttribute("data-state"));
            el.classList.add(s.state);
            el.setAttribute("data-state", s.state);
            el.textContent = s.label;
          }
        });
        wait = every;
      })
      .catch(function () { wait = Math.min(wait * 2, max); })
      .then(function () { setTimeout(poll, wait); });
  }
  setTimeout(poll, every);
})();
