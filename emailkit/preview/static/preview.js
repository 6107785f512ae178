// emailkit preview: tabs, widths and colour modes kept in the URL, keyboard shortcuts,
// iframe height, and a reload when files change (livereload or polling).
(function () {
  "use strict";
  var viewer = document.getElementById("viewer");
  var frame = document.getElementById("email-frame");

  function setParam(key, value) {
    var url = new URL(window.location.href);
    url.searchParams.set(key, value);
    history.replaceState(null, "", url);
    document.querySelectorAll("a[rel=prev], a[rel=next], .source-switch a, .locales a").forEach(function (link) {
      var target = new URL(link.href);
      target.searchParams.set(key, value);
      link.href = target.toString();
    });
  }

  function choose(kind, value) {
    if (!viewer) return;
    viewer.dataset[kind] = value;
    var attribute = kind === "tab" ? "aria-selected" : "aria-pressed";
    viewer.querySelectorAll("button[data-" + kind + "]").forEach(function (button) {
      button.setAttribute(attribute, String(button.dataset[kind] === value));
    });
    setParam(kind, value);
    if (kind === "mode" && frame) {
      var src = new URL(frame.src);
      src.searchParams.set("mode", value);
      frame.src = src.toString();
    }
  }

  function fitFrame() {
    try {
      var doc = frame.contentDocument;
      if (doc && doc.documentElement) {
        frame.style.height = Math.max(200, doc.documentElement.scrollHeight) + "px";
      }
    } catch (error) { /* not same-origin: keep the default height */ }
  }

  if (viewer) {
    viewer.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) return;
      ["tab", "width", "mode"].forEach(function (kind) {
        if (button.dataset[kind]) choose(kind, button.dataset[kind]);
      });
      if (button.dataset.width) setTimeout(fitFrame, 200);
    });
    if (frame) {
      frame.addEventListener("load", fitFrame);
      if (frame.contentDocument && frame.contentDocument.readyState === "complete") fitFrame();
    }
  }

  var keys = {
    "1": ["tab", "html"], "2": ["tab", "text"], "3": ["tab", "source"], "4": ["tab", "headers"],
    "5": ["tab", "mime"], "6": ["tab", "checks"], "d": ["width", "desktop"], "m": ["width", "mobile"], "f": ["width", "full"],
    "l": ["mode", "light"], "n": ["mode", "dark"], "i": ["mode", "inverted"]
  };
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(event.target.tagName);
    var search = document.getElementById("search");
    if (event.key === "/" && search && !typing) { event.preventDefault(); search.focus(); return; }
    if (typing) return;
    if (keys[event.key] && viewer) { choose(keys[event.key][0], keys[event.key][1]); return; }
    var link = event.key === "[" ? document.getElementById("previous")
      : event.key === "]" ? document.getElementById("next") : null;
    if (link) window.location.href = link.href;
  });


  // Reload when the files changed since this page was rendered.
  var body = document.body;
  function reloadIfChanged() {
    fetch(body.dataset.versionUrl, { cache: "no-store" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (String(data.version) !== body.dataset.version) window.location.reload();
      })
      .catch(function () {});
  }
  if (body.dataset.livereload && body.dataset.versionUrl) {
    // livereload only tells the pages whose websocket is open: a file saved while this page
    // was loading (or while the server restarted) would go unseen. So check once connected;
    // setTimeout lets livereload.js first send the "info" that registers this page.
    document.addEventListener("LiveReloadConnect", function () {
      setTimeout(reloadIfChanged, 0);
    });
  } else if (body.dataset.versionUrl) {
    // Without the livereload server (the blueprint mounted in an app), poll for changes.
    setInterval(reloadIfChanged, 1000);
  }
})();
