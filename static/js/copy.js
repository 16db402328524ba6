/*
 * Copy buttons in the admin (a customer's personal booking links): a button with
 * data-copy="<id of a text field>" copies the field's value and says so in the nearest
 * .copy-status (a polite live region). Without the clipboard API, the text is selected so
 * staff can press Ctrl+C.
 */
(function () {
  "use strict";

  function say(button, words) {
    var table = button.closest("table");
    var status = table && table.parentNode.querySelector(".copy-status");
    if (status) {
      status.textContent = words;
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-copy]") : null;
    if (!button) {
      return;
    }
    event.preventDefault();
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) {
      return;
    }
    var label = document.querySelector("label[for='" + field.id + "']");
    var what = label ? label.textContent.trim() : "the link";
    function selected() {
      field.focus();
      field.select();
      say(button, "Selected the link for " + what + ": press Ctrl+C (or Cmd+C) to copy it.");
    }
    if (!navigator.clipboard || !window.isSecureContext) {
      selected();
      return;
    }
    navigator.clipboard.writeText(field.value).then(function () {
      button.textContent = "Copied";
      say(button, "Copied the link for " + what + ".");
      window.setTimeout(function () { button.textContent = "Copy"; }, 3000);
    }, selected);
  });
})();
