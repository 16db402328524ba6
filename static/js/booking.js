/*
 * The booking page: keeps the embedded FLG booking screen alive, and learns of a booking.
 *
 * The server renders the seconds until FLG closes the session (not a wall-clock time: the
 * customer's clock may be wrong) and this script counts them down with a monotonic clock.
 * Two minutes before the session is due it warns; when due it asks the portal for a fresh
 * session, swaps the frame and the address bar, and says so. While the customer is using the
 * screen (focus in the frame, or recent input) it waits until the session really closes, and
 * says so beforehand: a time chosen but not yet booked is not thrown away early.
 *
 * A booking is learned four ways: the booking screen's message (from the frame, or from the
 * window it was opened in, read only from the booking hosts' origins); another tab of this
 * session (a BroadcastChannel); the portal, asked when the tab comes back into view; and, when
 * nothing said anything after the customer used the screen in another window, the customer,
 * asked one question. Then the confirmation replaces the frame, and nothing counts down.
 *
 * One variable holds the page's state. No framework, no build step, no inline script (CSP).
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
  var ACTIVE_FOR_MS = 60 * 1000; // input this recent means someone is choosing a time
  var HOLD_UNTIL_MS = 3 * 1000; // while they are, the swap waits until this close to closing
  var STATUS_EVERY_MS = 3 * 1000;
  var TICK_MS = 1000;

  function byId(id) {
    return document.getElementById(id);
  }

  var statusBox = byId("booking-status");
  var countdown = byId("countdown");
  var countdownText = byId("countdown-text");
  var fallback = byId("frame-fallback");
  var frameWrap = byId("booking-frame-wrap");
  var newWindow = byId("open-new-window");
  var startOver = byId("start-over");
  var panels = { booked: byId("booked-panel"), idle: byId("idle-panel"), ask: byId("ask-panel") };
  var windowLinks = [newWindow, byId("fallback-link")];

  function data(name) {
    return config.getAttribute("data-" + name) || "";
  }

  var csrfToken = data("csrf-token");
  var loginUrl = data("login-url");
  var closesRule = data("closes-rule");
  var idleLimit = Number(data("idle-refreshes"));
  var marginMs = Number(data("refresh-margin")) * 1000;
  var origins = data("booking-origins").split(" ").filter(Boolean);

  // Every session this page has shown: a window opened before a swap may still report one.
  var current = {
    id: data("session-id"),
    flgId: data("flg-session-id"),
    pageUrl: data("page-url"),
    bookedUrl: data("booked-url"),
    statusUrl: data("status-url"),
    refreshUrl: data("refresh-url"),
  };
  var shown = [current];

  // "open" | "warning" | "holding" | "refreshing" | "failed" | "asking" | "booked" | "closed"
  var state = "open";
  var closesAt = 0; // performance.now() at which FLG closes the current session
  var dueAt = 0; // performance.now() at which we fetch a fresh one
  var lastRefreshAt = -Infinity;
  var lastInputAt = -Infinity;
  var lastStatusAt = -Infinity;
  var quietRefreshes = 0; // automatic refreshes since the customer last showed a sign of life
  var away = false; // the customer left for the booking screen's own window
  var usedNewWindow = false;
  var loadTimer = null;
  var channel = window.BroadcastChannel ? new window.BroadcastChannel("booking-portal") : null;

  function now() {
    return window.performance.now();
  }

  function show(element, visible) {
    if (element) {
      element.hidden = !visible;
    }
  }

  function say(message, kind, action) {
    statusBox.textContent = "";
    var notice = document.createElement("p");
    notice.className = "notice" + (kind ? " notice--" + kind : "");
    notice.textContent = message + " ";
    if (action) {
      notice.appendChild(action);
    }
    statusBox.appendChild(notice);
  }

  // Words that read after "closes": the same as the server renders (appointments.views).
  function describe(ms) {
    var minutes = Math.floor(ms / 60000);
    if (minutes >= 2) {
      return "in about " + minutes + " minutes";
    }
    return minutes === 1 ? "in about a minute" : "in less than a minute";
  }

  // The one way this page talks to the portal: JSON both ways, retried on a lost connection
  // or a server error when `retries` allows, always resolving to {ok, status, body}.
  function call(method, url, payload, retries) {
    var options = {
      method: method,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    };
    if (method === "POST") {
      options.headers["X-CSRFToken"] = csrfToken;
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(payload || {});
    }
    function again(attempt, result) {
      if (attempt > (retries || 0)) {
        return result;
      }
      return new Promise(function (resolve) {
        window.setTimeout(resolve, attempt * 2000);
      }).then(function () {
        return send(attempt + 1);
      });
    }
    function send(attempt) {
      return window.fetch(url, options).then(
        function (response) {
          return response.json().then(
            function (body) {
              return { ok: response.ok, status: response.status, body: body || {} };
            },
            function () {
              return { ok: false, status: response.status, body: {} };
            }
          ).then(function (result) {
            return result.status >= 500 ? again(attempt, result) : result;
          });
        },
        function () {
          return again(attempt, { ok: false, status: 0, body: {} });
        }
      );
    }
    return send(1);
  }

  // --- The session on screen ------------------------------------------------------------------

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
  }

  function updateCountdown() {
    if (countdownText) {
      countdownText.textContent = describe(Math.max(0, closesAt - now()));
    }
  }

  function frameLoading(loading) {
    frameWrap.className = "booking-frame-wrap" + (loading ? " is-loading" : "");
    window.clearTimeout(loadTimer);
    if (loading) {
      loadTimer = window.setTimeout(function () {
        fallback.hidden = false;
      }, LOAD_TIMEOUT_MS);
    }
  }

  function showScreen() {
    show(panels.idle, false);
    show(panels.ask, false);
    show(frameWrap, true);
    show(countdown, true);
    show(newWindow, true);
    show(startOver, true);
    frame.hidden = false;
  }

  function showSession(body) {
    state = "open";
    showScreen();
    fallback.hidden = true;
    frameLoading(true);
    frame.src = body.publicUrl;
    windowLinks.forEach(function (link) {
      if (link) {
        link.href = body.publicUrl;
      }
    });
    current = {
      id: body.id,
      flgId: body.flgSessionId,
      pageUrl: body.pageUrl,
      bookedUrl: body.pageUrl + "booked/",
      statusUrl: body.pageUrl + "status/",
      refreshUrl: body.pageUrl + "refresh/",
    };
    shown.push(current);
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, "", body.pageUrl);
    }
    setSession(body.secondsRemaining);
    updateCountdown();
  }

  function button(text, onClick) {
    var element = document.createElement("button");
    element.type = "button";
    element.className = "button";
    element.textContent = text;
    element.addEventListener("click", onClick);
    return element;
  }

  function signInLink() {
    var link = document.createElement("a");
    link.className = "button";
    link.href = loginUrl + "?next=" + encodeURIComponent(window.location.pathname);
    link.textContent = "Sign in again";
    return link;
  }

  function refreshFailed(message, signedOut) {
    state = "failed";
    say(
      message,
      "error",
      signedOut
        ? signInLink()
        : button("Try again", function () {
            customerActive();
            refresh();
          })
    );
    if (now() >= closesAt) {
      // Never leave a dead booking screen on the page.
      frame.hidden = true;
    }
  }

  function refresh() {
    if (state === "refreshing" || state === "booked") {
      return;
    }
    state = "refreshing";
    lastRefreshAt = now();
    say("Opening a fresh booking screen…");
    call("POST", current.refreshUrl).then(function (result) {
      if (state !== "refreshing") {
        return; // booked while the request was on its way: the confirmation stays
      }
      if (result.status === 409 && result.body.error === "booked") {
        // Booked in another tab: this session is spent; the portal says when it is for.
        showBooked(null);
        checkStatus(true);
      } else if (result.ok && result.body.publicUrl) {
        showSession(result.body);
        say("The booking screen was about to close, so we opened a fresh one for you.", "ok");
      } else if (result.status === 0) {
        refreshFailed("We could not reach the booking service. Check your connection.", false);
      } else {
        refreshFailed(
          result.body.message || "We could not open a fresh booking screen.",
          result.status === 401
        );
      }
    });
  }

  function goIdle() {
    state = "closed";
    window.clearTimeout(loadTimer);
    statusBox.textContent = "";
    show(countdown, false);
    show(newWindow, false);
    show(startOver, false);
    show(fallback, false);
    show(frameWrap, false);
    show(panels.idle, true);
  }

  // --- Booked ---------------------------------------------------------------------------------

  function fillBooked(body) {
    if (!body || !body.booked) {
      return;
    }
    var when = byId("booked-when");
    if (when && body.when) {
      when.textContent = body.when;
    }
    Array.prototype.forEach.call(document.querySelectorAll(".booked-reference"), function (el) {
      if (body.reference) {
        el.textContent = body.reference;
      }
    });
    var calendar = byId("booked-calendar");
    if (calendar) {
      calendar.hidden = !body.calendarUrl;
      if (body.calendarUrl) {
        calendar.href = body.calendarUrl;
      }
    }
  }

  function showBooked(body) {
    fillBooked(body);
    if (state === "booked") {
      return;
    }
    state = "booked";
    window.clearTimeout(loadTimer);
    statusBox.textContent = "";
    // The session is spent: nothing on the page may offer it, count it down or replace it.
    [countdown, newWindow, startOver, fallback, panels.idle, panels.ask, frameWrap].forEach(
      function (element) {
        show(element, false);
      }
    );
    show(panels.booked, true);
    var heading = byId("booked-heading");
    if (heading) {
      heading.focus();
    }
  }

  function sessionFor(flgId) {
    for (var i = 0; i < shown.length; i += 1) {
      if (shown[i].flgId === flgId) {
        return shown[i];
      }
    }
    return null;
  }

  // Tell the portal (so a reload, home and the other tabs know), then the other tabs.
  function reportBooked(session, report) {
    showBooked(null);
    call("POST", session.bookedUrl, report, 3).then(function (result) {
      if (result.status === 400 && report.start) {
        // A slot the portal cannot take: the booking itself still counts, without its time.
        reportBooked(session, { via: report.via });
      } else if (result.ok) {
        showBooked(result.body);
        if (channel) {
          channel.postMessage({ event: "booked", session: session.id, booking: result.body });
        }
      }
    });
  }

  function checkStatus(force) {
    if (!force && (state === "booked" || now() - lastStatusAt < STATUS_EVERY_MS)) {
      return Promise.resolve(false);
    }
    lastStatusAt = now();
    return call("GET", current.statusUrl).then(function (result) {
      if (result.ok && result.body.booked) {
        showBooked(result.body);
        return true;
      }
      return false;
    });
  }

  // --- Asking, after the screen was used in its own window --------------------------------------

  function ask() {
    state = "asking";
    window.clearTimeout(loadTimer);
    statusBox.textContent = "";
    // The frame may list times FLG has closed since: never show them as open.
    [countdown, newWindow, startOver, fallback, frameWrap].forEach(function (element) {
      show(element, false);
    });
    show(panels.ask, true);
    byId("ask-heading").focus();
  }

  function cameBack() {
    if (state === "booked") {
      return;
    }
    var wasAway = away;
    away = false;
    checkStatus(wasAway).then(function (booked) {
      if (!booked && wasAway && usedNewWindow && state !== "closed" && state !== "asking") {
        ask();
      }
    });
    tick();
  }

  function wentAway() {
    // Focus moving into our own frame is not leaving the page.
    if (usedNewWindow && document.activeElement !== frame) {
      away = true;
    }
  }

  // --- The clock --------------------------------------------------------------------------------

  function customerActive() {
    quietRefreshes = 0;
    lastInputAt = now();
  }

  function frameHasFocus() {
    return document.hasFocus() && document.activeElement === frame;
  }

  function tick() {
    updateCountdown();
    if (state !== "open" && state !== "warning" && state !== "holding" && state !== "failed") {
      return;
    }
    var t = now();
    if (state === "failed") {
      if (t >= closesAt) {
        frame.hidden = true;
      }
      return;
    }
    if (frameHasFocus()) {
      customerActive();
    }
    var lastAllowed = quietRefreshes >= idleLimit;
    var busy = t - lastInputAt < ACTIVE_FOR_MS;
    if (t >= dueAt && busy && t < closesAt - HOLD_UNTIL_MS) {
      if (state !== "holding") {
        state = "holding";
        say(
          "You are still using the booking screen, so we keep it until it closes " +
            describe(closesAt - t) +
            ". " +
            closesRule
        );
      }
    } else if (t >= dueAt) {
      if (lastAllowed) {
        goIdle();
      } else {
        quietRefreshes += 1;
        refresh();
      }
    } else if (
      state === "open" &&
      dueAt - t <= WARN_BEFORE_MS &&
      dueAt - lastRefreshAt > WARN_BEFORE_MS
    ) {
      state = "warning";
      say(
        "This booking screen will close " +
          describe(closesAt - t) +
          ". " +
          (lastAllowed ? "Please finish your booking before then." : closesRule)
      );
    }
  }

  // --- Listening --------------------------------------------------------------------------------

  frame.addEventListener("load", function () {
    frameLoading(false);
  });

  window.addEventListener("message", function (event) {
    // Only a booking host may talk to us; what it says must have a shape we know.
    if (origins.indexOf(event.origin) === -1) {
      return;
    }
    var message = event.data;
    if (!message || typeof message !== "object" || typeof message.event !== "string") {
      return;
    }
    var fromFrame = event.source === frame.contentWindow;
    if (message.event === "ready" && fromFrame) {
      frameLoading(false);
      fallback.hidden = true;
      return;
    }
    if (message.event !== "booked") {
      return;
    }
    // The frame is the current session; a window of its own names the session it showed.
    var session = typeof message.sessionId === "string" ? sessionFor(message.sessionId) : null;
    if (!session && fromFrame && typeof message.sessionId !== "string") {
      session = current;
    }
    if (!session) {
      return;
    }
    var report = { via: "screen" };
    var slot = message.slot;
    if (slot && typeof slot.start === "string" && typeof slot.end === "string") {
      report.start = slot.start;
      report.end = slot.end;
    }
    reportBooked(session, report);
  });

  if (channel) {
    channel.addEventListener("message", function (event) {
      var message = event.data || {};
      if (message.event !== "booked") {
        return;
      }
      for (var i = 0; i < shown.length; i += 1) {
        if (shown[i].id === message.session) {
          showBooked(message.booking);
          return;
        }
      }
    });
  }

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

  windowLinks.forEach(function (link) {
    if (link) {
      link.addEventListener("click", function () {
        // Away once this page loses focus or view to the new window; asked on coming back.
        usedNewWindow = true;
      });
    }
  });

  window.addEventListener("blur", function () {
    // The page loses focus to the frame when the customer clicks or tabs into the screen.
    window.setTimeout(function () {
      if (document.activeElement === frame) {
        customerActive();
      } else {
        wentAway();
      }
    }, 0);
  });
  window.addEventListener("focus", cameBack);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      cameBack();
    } else {
      wentAway();
    }
  });

  byId("idle-reopen").addEventListener("click", function () {
    customerActive();
    refresh();
  });
  byId("ask-yes").addEventListener("click", function () {
    reportBooked(current, { via: "customer" });
  });
  byId("ask-no").addEventListener("click", function () {
    usedNewWindow = false;
    customerActive();
    state = "open";
    showScreen();
    // FLG's screen as it is now: closed, if it was booked after all.
    frameLoading(true);
    frame.src = frame.src;
    tick();
  });

  // The window's load waits for the frame's, so it also covers a frame that loaded before
  // this script ran.
  window.addEventListener("load", function () {
    frameLoading(false);
  });

  setSession(Number(data("seconds-remaining")));
  if (window.location.pathname !== current.pageUrl) {
    window.history.replaceState(null, "", current.pageUrl);
  }
  if (document.readyState !== "complete") {
    frameLoading(true);
  }
  updateCountdown();
  window.setInterval(tick, TICK_MS);
})();
