// A form sent back with errors: focus (and so scroll to) its first field to fix, unless
// the page chose a field itself. Without it the page reloads at its top, the message may
// lie below the fold, and keyboard and screen-reader users start again from the top.
(function () {
  "use strict";
  if (document.querySelector("[autofocus]")) {
    return;
  }
  var field = document.querySelector(
    ".field.has-errors input:not([type=hidden]), .field.has-errors select, .field.has-errors textarea"
  );
  if (field) {
    field.focus();
  }
})();
