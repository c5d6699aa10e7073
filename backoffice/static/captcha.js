/* The login captcha: the image is a button (keyboard: Enter/Space gives a new image), and
   a text alternative for screen-reader users: "改用文字验证题" asks the server for an
   arithmetic question, read out through a live region. A question's answer replaces the
   image's on the server (one answer at a time, single use), so the image is hidden while
   a question is shown. */
(function () {
  'use strict';
  var group = document.getElementById('captcha-group');
  if (!group) return;
  var img = document.getElementById('captcha-img');
  var refresh = document.getElementById('captcha-refresh');
  var textButton = document.getElementById('captcha-text');
  var question = document.getElementById('captcha-question');
  var input = document.getElementById('captcha');
  var imageUrl = group.getAttribute('data-image-url');
  var questionUrl = group.getAttribute('data-question-url');

  refresh.addEventListener('click', function () {
    img.src = imageUrl + '?t=' + Date.now();
    input.value = '';
  });

  textButton.addEventListener('click', function () {
    fetch(questionUrl + '?t=' + Date.now(), { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        refresh.hidden = true;
        question.textContent = '文字验证题：' + data.question;
        textButton.textContent = '换一道文字验证题';
        input.value = '';
        input.placeholder = '请输入答案（数字）';
        input.focus();
      })
      .catch(function () { question.textContent = '文字验证题获取失败，请刷新页面后重试'; });
  });
}());
