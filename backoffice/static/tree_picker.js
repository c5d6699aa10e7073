/* A searchable tree picker over a native <select data-tree-picker> whose optgroups are
   the branches (city → county). A search box above the list narrows it as one types
   (names of the branch or of the entry); a single match is selected; a live status tells
   screen readers how many entries match. The select stays the form control, so keyboard
   use and form submission are unchanged. */
(function () {
  'use strict';

  function setup(select) {
    var groups = Array.prototype.slice.call(select.querySelectorAll('optgroup'));
    var wrap = document.createElement('div');
    wrap.className = 'tree-picker mb-2';
    var input = document.createElement('input');
    input.type = 'search';
    input.className = 'form-control tree-picker-search';
    input.id = select.id + '-search';
    input.placeholder = select.getAttribute('data-search-label') || '输入名称搜索';
    input.setAttribute('aria-label', input.placeholder);
    input.setAttribute('aria-controls', select.id);
    input.setAttribute('autocomplete', 'off');
    var status = document.createElement('div');
    status.className = 'tree-picker-status small text-muted';
    status.setAttribute('role', 'status');
    status.setAttribute('aria-live', 'polite');
    wrap.appendChild(input);
    wrap.appendChild(status);
    select.parentNode.insertBefore(wrap, select);

    function filter() {
      var q = input.value.replace(/\s+/g, '');
      var matches = [];
      groups.forEach(function (group) {
        var branch = (group.getAttribute('label') || '').indexOf(q) >= 0;
        var shown = 0;
        Array.prototype.forEach.call(group.querySelectorAll('option'), function (option) {
          var hit = !q || branch || option.textContent.indexOf(q) >= 0;
          option.hidden = !hit;
          option.disabled = !hit && !option.selected;
          if (hit) { shown += 1; matches.push(option); }
        });
        group.hidden = shown === 0;
      });
      if (!q) { status.textContent = ''; return; }
      if (matches.length === 1) {
        matches[0].selected = true;
        select.dispatchEvent(new Event('change', { bubbles: true }));
        status.textContent = '已选定：' + matches[0].textContent;
      } else {
        status.textContent = matches.length ? '找到 ' + matches.length + ' 个，请在下方列表中选择' : '没有名称包含“' + q + '”的选项';
      }
    }
    input.addEventListener('input', filter);
    input.addEventListener('keydown', function (e) {
      if (e.key === 'Enter') { e.preventDefault(); select.focus(); }
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll('select[data-tree-picker]'), setup);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
}());
