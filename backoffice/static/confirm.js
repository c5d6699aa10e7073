// Forms carrying data-confirm ask before they are sent (no inline handlers under the CSP).
document.addEventListener('submit', function (event) {
  var form = event.target;
  var message = form && form.getAttribute && form.getAttribute('data-confirm');
  if (message && !window.confirm(message)) event.preventDefault();
}, true);
