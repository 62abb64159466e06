// Share page: copy the public link or the embed snippet to the clipboard.
(function () {
  "use strict";
  var status = document.getElementById("copy-status");

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  function fallbackCopy(field) {
    field.focus();
    field.select();
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.getElementById(button.dataset.copy);
      if (!field) {
        return;
      }
      var done = function () { say("Copied to the clipboard."); };
      var failed = function () {
        if (fallbackCopy(field)) {
          done();
        } else {
          field.select();
          say("Press Ctrl+C (⌘C on a Mac) to copy the selected text.");
        }
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, failed);
      } else {
        failed();
      }
    });
  });
})();
