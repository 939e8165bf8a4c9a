// Single-key shortcuts for /review. The page works without this file: it only adds
// y/n (complaint yes/no), s (Simpan), b (Benar), l (Lewati), u (Urungkan the last
// label) and Enter (Simpan) when no field has the focus.
(function () {
  "use strict";
  var keys = { s: "review-save", b: "review-right", l: "review-skip", u: "review-undo" };
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || event.isComposing) return;
    var target = event.target;
    var tag = target && target.tagName;
    if (tag === "SELECT" || tag === "TEXTAREA" || tag === "BUTTON" || tag === "A") return;
    if (tag === "INPUT" && target.type !== "radio" && target.type !== "checkbox") return;
    var key = event.key.toLowerCase();
    var element = null;
    if (key === "y" || key === "n") {
      element = document.querySelector('input[name="is_complaint"][value="' + (key === "y" ? "1" : "0") + '"]');
      if (element) { element.checked = true; element.focus(); event.preventDefault(); }
      return;
    }
    if (key === "enter" && tag !== "INPUT") key = "s";
    if (!(key in keys)) return;
    element = document.getElementById(keys[key]);
    if (element) { event.preventDefault(); element.click(); }
  });
})();
