// An embedded survey tells the page that frames it how tall it is, whenever that changes
// (questions shown by branching, errors, the thank-you page), so the frame can fit it
// (the snippet's script listens). Only the height is sent.
(function () {
  "use strict";
  if (window.parent === window) {
    return;
  }
  var last = 0;
  function send() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height !== last) {
      last = height;
      window.parent.postMessage({ focusloop: "height", height: height }, "*");
    }
  }
  if (window.ResizeObserver) {
    new ResizeObserver(send).observe(document.documentElement);
  }
  window.addEventListener("load", send);
  send();
})();
