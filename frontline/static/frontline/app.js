// Frontline: htmx set-up. No inline scripts anywhere (strict Content-Security-Policy).
(function () {
  "use strict";
  document.addEventListener("htmx:configRequest", function (event) {
    var token = document.querySelector('meta[name="csrf-token"]');
    if (token) { event.detail.headers["X-CSRFToken"] = token.content; }
  });
  if (window.htmx) {
    // Form errors (422) and conflicts (409) come back as partials to show in place.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "409", swap: true, error: false },
      { code: "422", swap: true, error: false },
      { code: "[45]..", swap: false, error: true },
    ];
    htmx.config.includeIndicatorStyles = false;
    htmx.config.allowEval = false;
    htmx.config.allowScriptTags = false;
  }
  // Step lists in the escalation form: add another "step tried" input.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-add-step]");
    if (!button) { return; }
    event.preventDefault();
    var list = document.getElementById(button.getAttribute("data-add-step"));
    if (!list) { return; }
    var input = document.createElement("input");
    input.type = "text"; input.name = "steps_tried"; input.className = "input";
    input.placeholder = "Another step already tried";
    input.setAttribute("aria-label", "Step " + (list.children.length + 1) + " already tried");
    var item = document.createElement("li"); item.appendChild(input); list.appendChild(item);
    input.focus();
  });
  // Confirm dangerous actions without inline handlers.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { event.preventDefault(); }
  });
})();
