// emailkit static export: tabs and widths (kept in the URL's #hash so a link keeps them),
// iframe height. Works from file:// with no server.
(function () {
  "use strict";
  var viewer = document.getElementById("viewer");
  var frame = document.getElementById("email-frame");

  function choose(kind, value) {
    viewer.dataset[kind] = value;
    var attribute = kind === "tab" ? "aria-selected" : "aria-pressed";
    viewer.querySelectorAll("button[data-" + kind + "]").forEach(function (button) {
      button.setAttribute(attribute, String(button.dataset[kind] === value));
    });
    history.replaceState(null, "", "#" + viewer.dataset.tab + "," + viewer.dataset.width);
    if (kind === "width") setTimeout(fitFrame, 200);
  }

  function fitFrame() {
    try {
      var doc = frame.contentDocument;
      if (doc && doc.documentElement) {
        frame.style.height = Math.max(200, Math.ceil(doc.documentElement.getBoundingClientRect().height)) + "px";
      }
    } catch (error) { /* keep the default height */ }
  }

  if (viewer) {
    var saved = window.location.hash.slice(1).split(",");
    if (viewer.querySelector('button[data-tab="' + saved[0] + '"]')) choose("tab", saved[0]);
    if (viewer.querySelector('button[data-width="' + saved[1] + '"]')) choose("width", saved[1]);
    viewer.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) return;
      if (button.dataset.tab) choose("tab", button.dataset.tab);
      if (button.dataset.width) choose("width", button.dataset.width);
    });
    if (frame) {
      frame.addEventListener("load", fitFrame);
      if (frame.contentDocument && frame.contentDocument.readyState === "complete") fitFrame();
      window.addEventListener("resize", fitFrame);  // a narrower frame makes the email taller
    }
  }

})();
