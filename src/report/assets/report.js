
(function () {
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    if (el && el.tagName === "DETAILS") { el.open = true; }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
  Array.prototype.forEach.call(document.querySelectorAll("button[data-expand]"), function (b) {
    b.addEventListener("click", function () {
      var open = b.getAttribute("data-expand") === "1";
      Array.prototype.forEach.call(document.querySelectorAll("details.op"), function (d) { d.open = open; });
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("button.copy"), function (b) {
    b.addEventListener("click", function () {
      var pre = b.parentNode.querySelector("pre");
      function select() {
        var r = document.createRange();
        r.selectNodeContents(pre);
        var s = window.getSelection();
        s.removeAllRanges();
        s.addRange(r);
        b.textContent = "selected: press Ctrl+C";
      }
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(pre.textContent).then(function () { b.textContent = "copied"; }, select);
      } else {
        select();
      }
    });
  });
  // Lets a headless browser test see that the script ran to the end.
  document.documentElement.setAttribute("data-script", "ok");
})();
