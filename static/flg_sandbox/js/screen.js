/* Tells the page that frames the booking screen that it is ready, and when a booking is made. */
(function () {
  "use strict";
  if (window.parent === window) {
    return;
  }
  var booked = document.querySelector("[data-event='booked']");
  var ready = document.querySelector("[data-event='ready']");
  var event = booked ? "booked" : ready ? "ready" : null;
  if (event) {
    // The sandbox carries no secret in these messages, so any parent may read them.
    window.parent.postMessage({ source: "flg-sandbox", event: event }, "*");
  }
})();
