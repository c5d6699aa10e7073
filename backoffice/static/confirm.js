// A form, or the button that sends it, carrying data-confirm asks before it is sent
// (no inline handlers under the CSP).
document.addEventListener('submit', function (event) {
  var form = event.target;
  var button = event.submitter;
  var message = (button && button.getAttribute('data-confirm')) || (form.getAttribute && form.getAttribute('data-confirm'));
  if (message && !window.confirm(message)) event.preventDefault();
}, true);
