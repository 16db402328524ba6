/*
 * Forms that start something slow (opening a booking screen waits on FLG 360): the button says
 * what is happening at once and takes no second press. Any form with data-busy="<words>".
 */
(function () {
  "use strict";

  var STILL_WAITING_MS = 5000;
  var sent = false;

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-busy")) {
      return;
    }
    if (sent) {
      // One booking screen at a time: a second press (or Enter) sends nothing.
      event.preventDefault();
      return;
    }
    sent = true;
    var button = event.submitter || form.querySelector("button[type=submit], button:not([type])");
    if (!button) {
      return;
    }
    button.setAttribute("data-label", button.innerHTML);
    button.textContent = form.getAttribute("data-busy");
    button.setAttribute("aria-disabled", "true");
    button.classList.add("is-busy");
    // Disabled after the browser has taken the submission, so the form still goes.
    window.setTimeout(function () {
      button.disabled = true;
    }, 0);
    window.setTimeout(function () {
      if (button.classList.contains("is-busy")) {
        button.textContent = "Still opening, please wait…";
      }
    }, STILL_WAITING_MS);
  });

  // Back from the next page (the back/forward cache keeps this one as it was): ready again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) {
      return;
    }
    sent = false;
    Array.prototype.forEach.call(document.querySelectorAll("button.is-busy"), function (button) {
      button.innerHTML = button.getAttribute("data-label");
      button.disabled = false;
      button.removeAttribute("aria-disabled");
      button.classList.remove("is-busy");
    });
  });
})();
