// 学时申报: say at once when the claimed hours exceed the hours the rule computed.
(function () {
  var claimed = document.getElementById('claimed_hours');
  var computed = document.getElementById('computed-hours');
  var note = document.getElementById('over-computed');
  if (!claimed || !computed || !note) return;
  function check() {
    var c = parseFloat(computed.textContent), v = parseFloat(claimed.value);
    note.hidden = !(isFinite(c) && isFinite(v) && v > c);
  }
  claimed.addEventListener('input', check);
  new MutationObserver(check).observe(computed, {childList: true, characterData: true, subtree: true});
  check();
})();
