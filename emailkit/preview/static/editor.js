// emailkit sample editor: re-render as you type (the newest request wins), show errors beside
// their fields, keep the edited values in the URL, copy the sample as Python.
(function () {
  "use strict";
  var editor = document.getElementById("editor");
  if (!editor) return;
  var form = document.getElementById("editor-form");
  var frame = document.getElementById("editor-frame");
  var problem = document.getElementById("editor-problem");
  var python = document.getElementById("python");
  var pending = null;
  var sequence = 0;

  function rawValue(field) {
    var none = field.querySelector("[data-none]");
    if (none && none.checked) return null;
    var input = field.querySelector("[data-input]");
    return input.type === "checkbox" ? input.checked : input.value;
  }

  function changes() {
    var values = Object.create(null);
    form.querySelectorAll(".field").forEach(function (field) {
      var value = rawValue(field);
      if (JSON.stringify(value) !== JSON.stringify(JSON.parse(field.dataset.initial))) {
        values[field.dataset.field] = value;
      }
    });
    return values;
  }

  function query(values) {
    var params = new URLSearchParams(window.location.search);
    if (Object.keys(values).length) params.set("values", JSON.stringify(values));
    else params.delete("values");
    var locale = document.getElementById("editor-locale");
    if (locale) {
      if (locale.value) params.set("locale", locale.value); else params.delete("locale");
    }
    return params;
  }

  function fitFrame() {
    try {
      var doc = frame.contentDocument;
      if (doc && doc.documentElement) {
        frame.style.height = Math.max(300, Math.ceil(doc.documentElement.getBoundingClientRect().height)) + "px";
      }
    } catch (error) { /* keep the default height */ }
  }

  function show(result) {
    form.querySelectorAll(".field").forEach(function (field) {
      // own keys only: a field named "constructor" or "toString" is not an error
      var name = field.dataset.field;
      var message = Object.prototype.hasOwnProperty.call(result.errors, name) ? result.errors[name] : "";
      field.classList.toggle("invalid", !!message);
      field.querySelector(".field-error").textContent = message;
    });
    document.getElementById("editor-stale").hidden = !Object.keys(result.errors).length;
    problem.hidden = !result.problem;
    problem.querySelector(".problem-message").textContent = result.problem || "";
    if (result.python) python.textContent = result.python;
    if (result.html !== null && !Object.keys(result.errors).length && !result.problem) {
      document.getElementById("editor-subject").textContent = result.subject;
      document.getElementById("editor-preheader").textContent = result.preheader;
      frame.srcdoc = result.html;
    } else {
      editor.dispatchEvent(new CustomEvent("emailkit:rendered", { detail: result }));
    }
  }

  function update() {
    var params = query(changes());
    history.replaceState(null, "", window.location.pathname + (params.toString() ? "?" + params : ""));
    if (pending) pending.abort();
    pending = new AbortController();
    var mine = ++sequence;
    fetch(editor.dataset.renderUrl + "?" + params, { signal: pending.signal, cache: "no-store" })
      .then(function (response) { return response.json(); })
      .then(function (result) { if (mine === sequence) show(result); })
      .catch(function (error) { if (error.name !== "AbortError") throw error; });
  }

  form.addEventListener("submit", function (event) { event.preventDefault(); });
  form.addEventListener("input", update);
  form.addEventListener("change", function (event) {
    if (event.target.matches("[data-none]")) {
      var input = event.target.closest(".field").querySelector("[data-input]");
      input.disabled = event.target.checked;
      update();
    } else if (event.target.id === "editor-locale") {
      update();
    }
  });
  frame.addEventListener("load", function () {
    fitFrame();
    editor.dispatchEvent(new CustomEvent("emailkit:rendered", { detail: null }));
  });
  if (frame.contentDocument && frame.contentDocument.readyState === "complete") fitFrame();
  window.addEventListener("resize", fitFrame);  // a narrower frame makes the email taller

  document.getElementById("copy-python").addEventListener("click", function () {
    var status = document.getElementById("copy-status");
    var text = python.textContent;
    function copied() { status.textContent = "Copied."; }
    function fallback() {
      var range = document.createRange();
      range.selectNodeContents(python);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      status.textContent = document.execCommand("copy") ? "Copied." : "Selected: press Ctrl+C.";
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(copied, fallback);
    } else {
      fallback();
    }
  });
})();
