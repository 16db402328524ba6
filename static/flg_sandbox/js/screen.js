/*
 * Tells the page that frames the booking screen that it is ready, and when a booking is made;
 * a booking also goes to the window that opened this one ("Open in a new window"), with the
 * session and the slot's start and end (ISO 8601 with their offsets), as a booking screen that
 * reports would. The confirmation's way back: close this window for the one that opened it.
 */
(function () {
  "use strict";
  var booked = document.querySelector("[data-event='booked']");
  var ready = document.querySelector("[data-event='ready']");
  var message = null;
  if (booked) {
    message = {
      source: "flg-sandbox",
      event: "booked",
      sessionId: booked.getAttribute("data-session-id"),
      slot: { start: booked.getAttribute("data-start"), end: booked.getAttribute("data-end") },
    };
  } else if (ready) {
    message = { source: "flg-sandbox", event: "ready" };
  }
  // The sandbox carries no secret in these messages, so any parent or opener may read them.
  if (message && window.parent !== window) {
    window.parent.postMessage(message, "*");
  }
  if (message && message.event === "booked" && window.opener && window.opener !== window) {
    try {
      window.opener.postMessage(message, "*");
    } catch (error) {
      // An opener that has gone away: nobody to tell.
    }
  }
  var back = document.getElementById("back-to-portal");
  if (back && window.parent !== window) {
    back.hidden = true; // in the portal's frame, the portal is right there
  } else if (back && window.opener) {
    back.addEventListener("click", function (event) {
      // Back to the tab that opened this window, where the booking now shows. A browser may
      // refuse to close a window the customer opened and used: then the link leads home.
      event.preventDefault();
      window.close();
      window.setTimeout(function () {
        window.location.href = back.href;
      }, 300);
    });
  }
})();
