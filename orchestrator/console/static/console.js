// The inbox asks every few seconds what waits; when something new appears it says so.
// The page works without this script: reload shows the same.
(function () {
  "use strict";
  var section = document.getElementById("approvals");
  var notice = document.getElementById("new-approvals");
  if (!section || !notice || !window.fetch) {
    return;
  }
  var known = {};
  (section.getAttribute("data-known") || "").split(" ").forEach(function (key) {
    if (key) {
      known[key] = true;
    }
  });
  var everyMs = 5000;
  function check() {
    fetch("/console/inbox.json", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("inbox.json answered " + response.status);
        }
        return response.json();
      })
      .then(function (body) {
        var fresh = (body.items || []).some(function (item) {
          return !known[item.workflow_id + "|" + (item.step || "")];
        });
        if (fresh) {
          notice.hidden = false;
        }
      })
      .catch(function () {
        // Signed out or the server is away: keep the page as it is and try again later.
      })
      .finally(function () {
        window.setTimeout(check, everyMs);
      });
  }
  window.setTimeout(check, everyMs);
})();
