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
    var hint = box.nextElementSibling;
    if (!hint || !hint.classList.contains('table-scroll-hint')) {
      hint = document.createElement('p');
      hint.className = 'table-scroll-hint';
      hint.setAttribute('aria-hidden', 'true');
      hint.textContent = '← 表格较宽，可左右滑动查看更多 →';
      box.parentNode.insertBefore(hint, box.nextSibling);
    }
    return box;
  }

  function update(box) {
    var scrollable = box.scrollWidth > box.clientWidth + 1;
    box.classList.toggle('is-scrollable', scrollable);
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

  function init() {
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
