// emailkit preview and static export: the index's search box hides the samples and emails
// that do not match every word typed (shared by the server's pages and the export).
(function () {
  "use strict";
  var search = document.getElementById("search");
  if (search) {
    search.addEventListener("input", function () {
      var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      document.querySelectorAll(".email-group").forEach(function (group) {
        var any = false;
        group.querySelectorAll(".sample-row").forEach(function (row) {
          var hit = words.every(function (word) { return row.dataset.search.indexOf(word) >= 0; });
          row.hidden = !hit;
          any = any || hit;
        });
        group.hidden = !any && group.querySelectorAll(".sample-row").length > 0;
        if (any) shown += 1;
      });
      document.getElementById("no-match").hidden = shown > 0 || !words.length;
    });
  }
})();
