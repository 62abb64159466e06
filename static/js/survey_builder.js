// Survey builder: asks before deleting a question (the forms work without this script).
(function () {
  "use strict";
  document.querySelectorAll("form.confirm-delete").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm("Delete this question? A question with answers is archived instead, and its answers are kept.")) {
        event.preventDefault();
      }
    });
  });
})();
