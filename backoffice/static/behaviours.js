/* Page behaviours declared with data- attributes, so that no page needs inline event
   handlers (the Content-Security-Policy allows no inline script):
   data-confirm="…"        ask before a form is submitted or a button/link acts
   data-set-field / -value  set a field of the button's form once confirmed
   data-autosubmit         submit the form when the control changes
   data-check-all="sel"    a checkbox that ticks every box matching the selector
   data-admin-action="x"   a Flask-Admin batch action (menu "With selected") */
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches && form.matches("form[data-confirm]") && !window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  document.addEventListener("click", function (event) {
    var el = event.target.closest ? event.target.closest("[data-confirm]:not(form), [data-admin-action], [data-check-all]") : null;
    if (!el) { return; }
    if (el.hasAttribute("data-check-all")) {
      document.querySelectorAll(el.getAttribute("data-check-all")).forEach(function (box) { box.checked = el.checked; });
      return;
    }
    if (el.hasAttribute("data-admin-action")) {
      event.preventDefault();
      if (window.modelActions) { window.modelActions.execute(el.getAttribute("data-admin-action")); }
      return;
    }
    if (el.hasAttribute("data-confirm")) {
      if (!window.confirm(el.getAttribute("data-confirm"))) {
        event.preventDefault();
        return;
      }
      if (el.hasAttribute("data-set-field") && el.form) {
        var field = el.form.elements[el.getAttribute("data-set-field")];
        if (field) { field.value = el.getAttribute("data-set-value"); }
      }
    }
  });

  // href="javascript:void(0)" of Flask-Admin's menus: never followed (the policy refuses
  // javascript: URLs); stopped before any other handler runs.
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href^='javascript:']") : null;
    if (link) { event.preventDefault(); }
  }, true);

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("[data-autosubmit]") && el.form) { el.form.submit(); }
  });
})();
