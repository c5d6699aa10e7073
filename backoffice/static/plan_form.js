// Training plan form: offer only the subjects of the chosen kind and of the plan's
// continuing-education year; hide the competent department unless the route needs it.
(function () {
  var kind = document.getElementById('subject_kind');
  var subject = document.getElementById('subject_id');
  var year = document.getElementById('ce_year');
  var route = document.getElementById('route');
  var dept = document.getElementById('competent_dept_id');
  if (!kind || !subject) return;
  var info = {};
  (subject.getAttribute('data-kinds') || '').split(',').forEach(function (p) {
    var kv = p.split(':');
    if (kv.length >= 2) info[kv[0]] = {kind: kv[1], year: kv[2]};
  });
  function sync() {
    Array.prototype.forEach.call(subject.options, function (o) {
      var row = info[o.value];
      var show = !o.value || (row && row.kind === kind.value && (!year || !row.year || row.year === year.value));
      o.hidden = !show; o.disabled = !show;
      if (!show && o.selected) subject.value = '';
    });
    if (route) {
      var pub = kind.value === 'public';
      if (pub) route.value = 'hrss';
      Array.prototype.forEach.call(route.options, function (o) { if (o.value === 'industry') { o.disabled = pub; } });
      if (dept) dept.closest('.form-group').hidden = route.value !== 'industry';
    }
  }
  kind.addEventListener('change', sync);
  if (year) year.addEventListener('change', sync);
  if (route) route.addEventListener('change', sync);
  sync();
})();
