/* Every page: tables scroll inside their own box (never the page), and that box says so.
   A wide table on a phone gets a keyboard-focusable scroll region with a visible hint
   "左右滑动查看更多" shown only while the table is wider than its box. */
(function () {
  'use strict';

  function wrap(table) {
    var box = table.parentElement;
    if (!box) return null;
    if (!box.classList.contains('table-scroll') && !box.classList.contains('table-responsive')) {
      box = document.createElement('div');
      table.parentNode.insertBefore(box, table);
      box.appendChild(table);
    }
    box.classList.add('table-scroll');
    var hint = box.previousElementSibling;
    if (!hint || !hint.classList.contains('table-scroll-hint')) {
      hint = document.createElement('p');
      hint.className = 'table-scroll-hint';
      hint.setAttribute('aria-hidden', 'true');
      hint.textContent = '← 表格较宽，可左右滑动查看更多 →';
      box.parentNode.insertBefore(hint, box);
    }
    return box;
  }

  function update(box) {
    var scrollable = box.scrollWidth > box.clientWidth + 1;
    box.classList.toggle('is-scrollable', scrollable);
    var hint = box.previousElementSibling;
    if (hint && hint.classList.contains('table-scroll-hint')) hint.classList.toggle('is-shown', scrollable);
    if (scrollable) {
      // A scrollable region must be reachable and named for keyboard users.
      box.setAttribute('tabindex', '0');
      box.setAttribute('role', 'region');
      var caption = box.querySelector('caption');
      box.setAttribute('aria-label', (caption ? caption.textContent.trim() + '，' : '') + '表格，可左右滚动');
    } else {
      box.removeAttribute('tabindex');
      box.removeAttribute('role');
      box.removeAttribute('aria-label');
    }
  }

  /* Error messages tied to their fields: every .invalid-feedback gets an id and is added
     to the aria-describedby of its field (named by data-field, else the invalid control
     of the same form group), which is marked aria-invalid. Templates that already link
     them are left as they are. */
  var errorSeq = 0;
  function linkErrors() {
    var messages = document.querySelectorAll('.invalid-feedback');
    for (var i = 0; i < messages.length; i++) {
      var msg = messages[i];
      var field = null;
      var name = msg.getAttribute('data-field');
      var scope = msg.closest('form') || document;
      if (name) field = scope.querySelector('[name="' + name.replace(/"/g, '') + '"]:not([type=hidden])');
      if (!field) {
        var group = msg.closest('.form-group, .col, [class*="col-"]') || msg.parentElement;
        field = group && group.querySelector('.is-invalid, input:not([type=hidden]), select, textarea');
      }
      if (!field) continue;
      if (!msg.id) msg.id = 'field-error-' + (++errorSeq);
      var described = (field.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
      if (described.indexOf(msg.id) < 0) described.push(msg.id);
      field.setAttribute('aria-describedby', described.join(' '));
      field.setAttribute('aria-invalid', 'true');
    }
  }

  /* Batch checkboxes in tables: a checkbox without a name is named after its row (the
     first cell with text), or "全选本页" in the header row. */
  function hasName(el) {
    if (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.getAttribute('title')) return true;
    if (el.id && document.querySelector('label[for="' + el.id + '"]')) return true;
    return !!el.closest('label');
  }
  function nameCheckboxes() {
    var boxes = document.querySelectorAll('table input[type=checkbox]');
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      if (hasName(box)) continue;
      var row = box.closest('tr');
      if (!row) continue;
      if (box.closest('thead') || box.closest('th')) { box.setAttribute('aria-label', '全选本页'); continue; }
      var label = '';
      var cells = row.querySelectorAll('td, th');
      for (var j = 0; j < cells.length && !label; j++) {
        if (cells[j].contains(box)) continue;
        label = cells[j].textContent.replace(/\s+/g, ' ').trim();
      }
      box.setAttribute('aria-label', '选择' + (label ? '：' + label.slice(0, 40) : '本行'));
    }
  }

  /* Tables marked .table-cards become one card per row on phones (theme.css): each cell
     carries its column's header as data-label, shown before the value. */
  function labelCards() {
    var tables = document.querySelectorAll('table.table-cards');
    for (var i = 0; i < tables.length; i++) {
      var heads = tables[i].querySelectorAll('thead th');
      var names = Array.prototype.map.call(heads, function (th) { return th.textContent.replace(/\s+/g, ' ').trim(); });
      var rows = tables[i].querySelectorAll('tbody tr');
      for (var r = 0; r < rows.length; r++) {
        var cells = rows[r].children;
        for (var c = 0; c < cells.length; c++) {
          if (cells[c].getAttribute('colspan')) continue;
          if (names[c]) cells[c].setAttribute('data-label', names[c]);
        }
      }
    }
  }

  function init() {
    labelCards();
    linkErrors();
    nameCheckboxes();
    var boxes = [];
    var tables = document.querySelectorAll('main table, .container table, .container-fluid table');
    for (var i = 0; i < tables.length; i++) {
      if (tables[i].closest('.table-scroll') && tables[i].parentElement.classList.contains('table-scroll')) {
        boxes.push(tables[i].parentElement);
        continue;
      }
      var box = wrap(tables[i]);
      if (box && boxes.indexOf(box) < 0) boxes.push(box);
    }
    var refresh = function () { boxes.forEach(update); };
    refresh();
    window.addEventListener('resize', refresh);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
}());
