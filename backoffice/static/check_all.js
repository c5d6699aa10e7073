// A header checkbox with data-check-all="NAME" ticks every box named NAME in its form.
document.querySelectorAll('input[data-check-all]').forEach(function (box) {
  box.addEventListener('change', function () {
    var name = box.getAttribute('data-check-all');
    box.closest('form').querySelectorAll('input[name="' + name + '"]').forEach(function (c) { c.checked = box.checked; });
  });
});
