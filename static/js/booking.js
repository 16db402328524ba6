/*
 * The booking page: keeps the embedded FLG booking screen alive.
 *
 * The server renders the seconds until FLG closes the session (not a wall-clock time: the
 * customer's clock may be wrong) and this script counts them down with a monotonic clock.
 * Two minutes before the session is due it warns politely; when due it asks the portal for a
 * fresh session, swaps the frame and the address bar, and says so. No framework, no build step,
 * no inline script (the Content-Security-Policy forbids it).
 *
 * When the booking screen reports a booking, the page says so, tells the portal (so the session
 * is never handed out again and a reload shows the confirmation) and stops: no countdown, no
 * warning, no refresh. A tab left alone refreshes at most BOOKING_IDLE_REFRESHES times with no
 * sign of the customer, then closes the screen and waits for them.
 */
(function () {
  "use strict";

  var config = document.getElementById("booking-config");
  var frame = document.getElementById("booking-frame");
  if (!config || !frame) {
    return;
  }

  var WARN_BEFORE_MS = 120 * 1000;
  var LOAD_TIMEOUT_MS = 15 * 1000;
  var MIN_REFRESH_INTERVAL_MS = 20 * 1000;
  var TICK_MS = 1000;

  var status = document.getElementById("booking-status");
  var countdown = document.getElementById("countdown");
  var countdownText = document.getElementById("countdown-text");
  var fallback = document.getElementById("frame-fallback");
  var frameWrap = document.getElementById("booking-frame-wrap");
  var newWindow = document.getElementById("open-new-window");
  var startOver = document.getElementById("start-over");
  var bookedPanel = document.getElementById("booked-panel");
  var idlePanel = document.getElementById("idle-panel");
  var links = [newWindow, document.getElementById("fallback-link")];

  var refreshUrl = config.getAttribute("data-refresh-url");
  var bookedUrl = config.getAttribute("data-booked-url");
  var idleLimit = Number(config.getAttribute("data-idle-refreshes"));
  var csrfToken = config.getAttribute("data-csrf-token");
  var loginUrl = config.getAttribute("data-login-url");
  var marginMs = Number(config.getAttribute("data-refresh-margin")) * 1000;
  var origins = (config.getAttribute("data-booking-origins") || "").split(" ").filter(Boolean);

  var closesAt = 0; // performance.now() at which FLG closes the current session
  var dueAt = 0; // performance.now() at which we fetch a fresh one
  var lastRefreshAt = -Infinity;
  var warned = false;
  var refreshing = false;
  var failed = false;
  var booked = false;
  var idle = false;
  var quietRefreshes = 0; // automatic refreshes since the customer last showed a sign of life
  var loadTimer = null;

  function now() {
    return window.performance.now();
  }

  function setSession(secondsRemaining) {
    var t = now();
    closesAt = t + Math.max(0, secondsRemaining) * 1000;
    dueAt = closesAt - marginMs;
    if (dueAt <= t) {
      // FLG handed back a session that is due already: use it until it really closes
      // rather than asking again and again.
      dueAt = closesAt;
    }
    dueAt = Math.max(dueAt, lastRefreshAt + MIN_REFRESH_INTERVAL_MS);
    warned = false;
  }

  function say(message, kind, action) {
    status.textContent = "";
    var notice = document.createElement("p");
    notice.className = "notice" + (kind ? " notice--" + kind : "");
    notice.textContent = message + " ";
    if (action) {
      notice.appendChild(action);
    }
    status.appendChild(notice);
  }

  // Words that read after "closes": the same as the server renders (appointments.views).
  function describe(ms) {
    var minutes = Math.floor(ms / 60000);
    if (minutes >= 2) {
      return "in about " + minutes + " minutes";
    }
    return minutes === 1 ? "in about a minute" : "in less than a minute";
  }

  function show(element, visible) {
    if (element) {
      element.hidden = !visible;
    }
  }

  function customerActive() {
    quietRefreshes = 0;
  }

  // Focus inside the booking screen is the only sign a page gets of someone using it.
  function frameHasFocus() {
    return document.hasFocus() && document.activeElement === frame;
  }

  function updateCountdown() {
    if (countdownText) {
      countdownText.textContent = describe(Math.max(0, closesAt - now()));
    }
  }

  function watchFrameLoad() {
    window.clearTimeout(loadTimer);
    loadTimer = window.setTimeout(function () {
      fallback.hidden = false;
    }, LOAD_TIMEOUT_MS);
  }

  function showSession(data) {
    idle = false;
    show(idlePanel, false);
    show(frameWrap, true);
    show(countdown, true);
    show(newWindow, true);
    show(startOver, true);
    frame.hidden = false;
    fallback.hidden = true;
    watchFrameLoad();
    frame.src = data.publicUrl;
    links.forEach(function (link) {
      if (link) {
        link.href = data.publicUrl;
      }
    });
    refreshUrl = data.pageUrl + "refresh/";
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, "", data.pageUrl);
    }
    setSession(data.secondsRemaining);
    updateCountdown();
  }

  function retryButton() {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button";
    button.textContent = "Try again";
    button.addEventListener("click", function () {
      customerActive();
      refresh();
    });
    return button;
  }

  function signInLink() {
    var link = document.createElement("a");
    link.className = "button";
    link.href = loginUrl + "?next=" + encodeURIComponent(window.location.pathname);
    link.textContent = "Sign in again";
    return link;
  }

  function refreshFailed(message, signedOut) {
    failed = true;
    say(message, "error", signedOut ? signInLink() : retryButton());
    if (now() >= closesAt) {
      // Never leave a dead booking screen on the page.
      frame.hidden = true;
    }
  }

  function refresh() {
    if (refreshing || booked) {
      return;
    }
    refreshing = true;
    lastRefreshAt = now();
    say("Opening a fresh booking screen…");
    window
      .fetch(refreshUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken, Accept: "application/json" },
      })
      .then(function (response) {
        return response.json().then(
          function (body) {
            return { ok: response.ok, status: response.status, body: body };
          },
          function () {
            return { ok: false, status: response.status, body: {} };
          }
        );
      })
      .then(function (result) {
        refreshing = false;
        if (booked) {
          // Booked while the request was on its way: the confirmation stays.
          return;
        }
        if (result.status === 409 && result.body && result.body.error === "booked") {
          // Booked in another tab: this session is spent.
          showBooked(false);
        } else if (result.ok && result.body && result.body.publicUrl) {
          failed = false;
          showSession(result.body);
          say(
            "The booking screen was about to close, so we opened a fresh one for you.",
            "ok"
          );
        } else {
          refreshFailed(
            (result.body && result.body.message) ||
              "We could not open a fresh booking screen.",
            result.status === 401
          );
        }
      })
      .catch(function () {
        refreshing = false;
        if (booked) {
          return;
        }
        refreshFailed("We could not reach the booking service. Check your connection.", false);
      });
  }

  function reportBooked(attempt) {
    window
      .fetch(bookedUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken, Accept: "application/json" },
      })
      .then(function (response) {
        if (response.status >= 500 && attempt < 3) {
          window.setTimeout(function () {
            reportBooked(attempt + 1);
          }, attempt * 2000);
        }
      })
      .catch(function () {
        if (attempt < 3) {
          window.setTimeout(function () {
            reportBooked(attempt + 1);
          }, attempt * 2000);
        }
      });
  }

  function showBooked(report) {
    if (booked) {
      return;
    }
    booked = true;
    window.clearTimeout(loadTimer);
    status.textContent = "";
    // The session is spent: nothing on the page may offer it, count it down or replace it.
    show(countdown, false);
    show(newWindow, false);
    show(startOver, false);
    show(fallback, false);
    show(idlePanel, false);
    show(bookedPanel, true);
    var heading = document.getElementById("booked-heading");
    if (heading) {
      heading.focus();
    }
    if (report) {
      reportBooked(1);
    }
  }

  function goIdle() {
    idle = true;
    window.clearTimeout(loadTimer);
    status.textContent = "";
    show(countdown, false);
    show(newWindow, false);
    show(startOver, false);
    show(fallback, false);
    show(frameWrap, false);
    show(idlePanel, true);
  }

  function tick() {
    updateCountdown();
    if (booked || idle || refreshing) {
      return;
    }
    var t = now();
    if (failed) {
      if (t >= closesAt) {
        frame.hidden = true;
      }
      return;
    }
    if (frameHasFocus()) {
      customerActive();
    }
    var lastAllowed = quietRefreshes >= idleLimit;
    if (t >= dueAt) {
      if (lastAllowed) {
        goIdle();
      } else {
        quietRefreshes += 1;
        refresh();
      }
    } else if (!warned && dueAt - t <= WARN_BEFORE_MS && dueAt - lastRefreshAt > WARN_BEFORE_MS) {
      warned = true;
      say(
        "This booking screen will close " +
          describe(closesAt - t) +
          (lastAllowed
            ? ". Please finish your booking before then."
            : ". Please finish your booking; if it closes first, we will open a fresh one.")
      );
    }
  }

  frame.addEventListener("load", function () {
    window.clearTimeout(loadTimer);
  });

  window.addEventListener("message", function (event) {
    // Only the booking screen in our frame, from a booking host, may talk to us.
    if (event.source !== frame.contentWindow || origins.indexOf(event.origin) === -1) {
      return;
    }
    var data = event.data;
    if (!data || typeof data !== "object" || typeof data.event !== "string") {
      return;
    }
    if (data.event === "ready") {
      window.clearTimeout(loadTimer);
      fallback.hidden = true;
    } else if (data.event === "booked") {
      showBooked(true);
    }
  });

  // A frame sent to a host outside our frame-src (FLG redirecting elsewhere) is refused by
  // our own policy, yet its load event still fires: the violation is the only sign of it.
  // It may happen before this deferred script runs, hence the buffered observer.
  function frameRefused(violation) {
    if (violation.effectiveDirective === "frame-src" && violation.disposition === "enforce") {
      window.clearTimeout(loadTimer);
      fallback.hidden = false;
    }
  }
  if (window.ReportingObserver) {
    new window.ReportingObserver(
      function (reports) {
        reports.forEach(function (report) {
          frameRefused(report.body);
        });
      },
      { types: ["csp-violation"], buffered: true }
    ).observe();
  } else {
    document.addEventListener("securitypolicyviolation", frameRefused);
  }

  // Not pointermove: browsers send one when the page changes under a resting mouse.
  ["pointerdown", "keydown", "wheel", "touchstart"].forEach(function (type) {
    document.addEventListener(type, customerActive, { passive: true });
  });
  // The page loses focus to the frame when the customer clicks or tabs into the booking screen.
  window.addEventListener("blur", function () {
    window.setTimeout(function () {
      if (document.activeElement === frame) {
        customerActive();
      }
    }, 0);
  });

  var reopen = document.getElementById("idle-reopen");
  if (reopen) {
    reopen.addEventListener("click", function () {
      customerActive();
      refresh();
    });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      tick();
    }
  });

  // The window's load waits for the frame's, so it also covers a frame that loaded before
  // this script ran.
  window.addEventListener("load", function () {
    window.clearTimeout(loadTimer);
  });

  setSession(Number(config.getAttribute("data-seconds-remaining")));
  if (window.location.pathname !== config.getAttribute("data-page-url")) {
    window.history.replaceState(null, "", config.getAttribute("data-page-url"));
  }
  if (document.readyState !== "complete") {
    watchFrameLoad();
  }
  updateCountdown();
  window.setInterval(tick, TICK_MS);
})();
